/**
 * GET /service/instagram-accounts/{accountId}/token: the account's current (possibly
 * refreshed) token for the widget service. The one answer anywhere that carries a token.
 */
import { accountPath } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { json } from '#platform/http/responses';
import { createAccountRepository } from '#tokens/accounts';
import { currentToken } from '#tokens/connect';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'get-service-instagram-token'>);
const store = createAccountRepository(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'service', path: accountPath }, async ({ path }) =>
  json(200, await currentToken(store, path.accountId)),
);
