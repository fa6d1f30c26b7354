/**
 * POST /instagram/deauthorize: Meta says an Instagram user removed the app. Their account's
 * token becomes invalid with the cause `app-removed`, due at once, so the next check announces
 * it and its people are told. An unknown user is a 200 too: Meta learns nothing of which
 * accounts exist. A request not signed with the app secret is a 400 and changes nothing.
 */
import { signedRequestForm } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { signedRequestOf } from '#api/signed-request';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { appCredentialsReader } from '#platform/instagram';
import { json } from '#platform/http/responses';
import { accountId } from '#tokens/account';
import { createAccountRepository } from '#tokens/accounts';
import type { ConfigShapeOf } from './environment/variables';
import { logger } from '#platform/observability';
import { createStormGuard, stormEnvironment, stormSettingsFrom } from '#storm/wiring';

const config = readConfig({
  TABLE_NAME: envString(),
  INSTAGRAM_APP_SECRET_ID: envString(),
  ...stormEnvironment,
} satisfies ConfigShapeOf<'instagram-deauthorize'>);
const store = createAccountRepository(documentClient(), config.TABLE_NAME);
const storm = createStormGuard(
  documentClient(),
  config.TABLE_NAME,
  stormSettingsFrom(config),
  logger,
);
const credentials = appCredentialsReader(config.INSTAGRAM_APP_SECRET_ID);

export const handler = httpHandler(
  { auth: 'none', body: signedRequestForm, bodyFormat: 'form' },
  async ({ body }) => {
    const { userId } = await signedRequestOf(body.signed_request, credentials);
    const id = accountId.safeParse(userId);
    const account = id.success ? await store.getAccount(id.data) : undefined;
    if (account?.tokenStatus === 'active') {
      // Counted first, as the refresher does: Meta removing the app from many accounts at once
      // (a restriction of the app) is a storm, not many customers' choice.
      await storm.noteTrouble({ 'app-removed': 1 });
      // False when a refresh or reconnect got there first: that token is then not this one.
      await store.markTokenDueAsInvalid(
        account.accountId,
        account.generation,
        new Date(),
        'app-removed',
      );
    }
    return json(200, {});
  },
);
