/**
 * GET /reconnect/{accountId}/{linkId}?key=…: the page a reconnect link opens, for whoever holds
 * it, without a login. It names the account and who asks, and leads to Instagram's authorize
 * page; a used, expired, revoked, unknown or damaged link gets a page saying so. Changes nothing.
 */
import { reconnectPagePath, reconnectPageQuery } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { reconnectPage } from '#api/reconnect-pages';
import { documentClient } from '#platform/dynamodb';
import { envString, envUrl, readConfig } from '#platform/config';
import {
  appCredentialsReader,
  instagramAuthorizeUrl,
  instagramEnvironment,
} from '#platform/instagram';
import { createProfileRepository } from '#people/profiles';
import { createAccountRepository } from '#tokens/accounts';
import { openReconnectLink } from '#tokens/reconnect-link-flows';
import { createReconnectLinkStore } from '#tokens/reconnect-link-store';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
  INSTAGRAM_AUTHORIZE_URL: instagramEnvironment.INSTAGRAM_AUTHORIZE_URL,
  INSTAGRAM_LINK_REDIRECT_URI: envUrl(),
  INSTAGRAM_APP_SECRET_ID: envString(),
} satisfies ConfigShapeOf<'reconnect-link-page'>);
const db = documentClient();
const credentials = appCredentialsReader(config.INSTAGRAM_APP_SECRET_ID);
const dependencies = {
  links: createReconnectLinkStore(db, config.TABLE_NAME),
  accounts: createAccountRepository(db, config.TABLE_NAME),
  profiles: createProfileRepository(db, config.TABLE_NAME),
  appSecret: async () => (await credentials()).appSecret,
  authorizeUrl: async (state: string) =>
    instagramAuthorizeUrl(
      {
        authorizeUrl: config.INSTAGRAM_AUTHORIZE_URL,
        redirectUri: config.INSTAGRAM_LINK_REDIRECT_URI,
      },
      (await credentials()).appId,
      state,
    ),
};

export const handler = httpHandler(
  { auth: 'none', path: reconnectPagePath, query: reconnectPageQuery, htmlForBrowsers: true },
  async ({ path, query }) =>
    reconnectPage(await openReconnectLink(dependencies, { ...path, key: query.key }, new Date())),
);
