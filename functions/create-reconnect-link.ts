/**
 * POST /instagram-accounts/{accountId}/reconnect-links: the owner or a developer makes a link
 * for the client to reconnect the account with; 201 `{linkId, url, expiresAt}`. The `url` is
 * the one place the link's secret is ever shown.
 */
import { accountPath } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envInteger, envString, envUrl, readConfig } from '#platform/config';
import { json } from '#platform/http/responses';
import { requireAccess } from '#tokens/access';
import { createAccountRepository } from '#tokens/accounts';
import { createDeveloperRoleRepository } from '#tokens/developer-roles';
import { createReconnectLink } from '#tokens/reconnect-link-flows';
import { createReconnectLinkStore } from '#tokens/reconnect-link-store';
import { defaultReconnectLinkHours } from '#tokens/reconnect-links';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
  API_URL: envUrl(),
  RECONNECT_LINK_HOURS: envInteger(defaultReconnectLinkHours, { min: 1, max: 720 }),
} satisfies ConfigShapeOf<'create-reconnect-link'>);
const db = documentClient();
const access = {
  ...createAccountRepository(db, config.TABLE_NAME),
  ...createDeveloperRoleRepository(db, config.TABLE_NAME),
};
const links = createReconnectLinkStore(db, config.TABLE_NAME);

export const handler = httpHandler({ auth: 'jwt', path: accountPath }, async ({ caller, path }) => {
  const granted = await requireAccess(access, path.accountId, caller);
  const link = await createReconnectLink(links, granted, caller, {
    apiUrl: config.API_URL,
    hours: config.RECONNECT_LINK_HOURS,
    now: new Date(),
  });
  return json(201, link);
});
