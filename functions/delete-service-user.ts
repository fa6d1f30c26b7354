/**
 * DELETE /service/users/{userId}: erases a user (a privacy request): their profile,
 * preferences, developer roles and send-once records. Idempotent: 204 every time.
 */
import { userPath } from '#api/service-schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { noContent } from '#platform/http/responses';
import { createUserItemStore } from '#people/user-items';
import { eraseUser } from '#people/users';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'delete-service-user'>);
const store = createUserItemStore(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'service', path: userPath }, async ({ path }) => {
  await eraseUser(store, path.userId);
  return noContent();
});
