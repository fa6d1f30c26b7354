/**
 * PUT /service/instagram-accounts/{accountId}/developers/{userId}: gives a user a developer role
 * on an account; 404 if the account is unknown. Idempotent.
 */
import { developerPath } from '#api/service-schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { noContent } from '#platform/http/responses';
import { createAccountRepository } from '#tokens/accounts';
import { grantDeveloperRole } from '#tokens/connect';
import { createDeveloperRoleRepository } from '#tokens/developer-roles';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'put-service-developer-role'>);
const db = documentClient();
const store = {
  ...createAccountRepository(db, config.TABLE_NAME),
  ...createDeveloperRoleRepository(db, config.TABLE_NAME),
};

export const handler = httpHandler({ auth: 'service', path: developerPath }, async ({ path }) => {
  await grantDeveloperRole(store, path.accountId, path.userId, new Date());
  return noContent();
});
