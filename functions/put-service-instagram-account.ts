/**
 * PUT /service/instagram-accounts/{accountId}: the widget service connects an account with its
 * current token. Another token is the next generation, watched from now on; the same token
 * changes nothing (see #tokens/connect).
 */
import { accountPath } from '#api/schemas';
import { serviceAccountBody } from '#api/service-schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { json } from '#platform/http/responses';
import { createAccountConnections } from '#tokens/account-connections';
import { createAccountRepository } from '#tokens/accounts';
import { connectAccount } from '#tokens/connect';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'put-service-instagram-account'>);
const store = {
  ...createAccountRepository(documentClient(), config.TABLE_NAME),
  ...createAccountConnections(documentClient(), config.TABLE_NAME),
};

export const handler = httpHandler(
  { auth: 'service', path: accountPath, body: serviceAccountBody },
  async ({ path, body }) =>
    json(200, await connectAccount(store, path.accountId, body, new Date())),
);
