/**
 * DELETE /service/instagram-accounts/{accountId}: the account is no longer watched, and its
 * token, roles, links and records are gone. Idempotent: 204 every time.
 */
import { accountPath } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { noContent } from '#platform/http/responses';
import { createAccountConnections } from '#tokens/account-connections';
import { disconnectAccount } from '#tokens/connect';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'delete-service-instagram-account'>);
const store = createAccountConnections(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'service', path: accountPath }, async ({ path }) => {
  await disconnectAccount(store, path.accountId);
  return noContent();
});
