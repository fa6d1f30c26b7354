/**
 * DELETE /service/instagram-accounts/{accountId}/developers/{userId}: takes a developer role
 * away. Idempotent: 204 also when there was none (or no such account).
 */
import { developerPath } from '#api/service-schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { noContent } from '#platform/http/responses';
import { createDeveloperRoleRepository } from '#tokens/developer-roles';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'delete-service-developer-role'>);
const store = createDeveloperRoleRepository(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'service', path: developerPath }, async ({ path }) => {
  await store.deleteDeveloperRole(path.accountId, path.userId);
  return noContent();
});
