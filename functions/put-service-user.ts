/** PUT /service/users/{userId}: the widget service stores a user's profile (idempotent). */
import { serviceUserBody, userPath } from '#api/service-schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { json } from '#platform/http/responses';
import { createProfileRepository } from '#people/profiles';
import { upsertUser } from '#people/users';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'put-service-user'>);
const store = createProfileRepository(documentClient(), config.TABLE_NAME);

export const handler = httpHandler(
  { auth: 'service', path: userPath, body: serviceUserBody },
  async ({ path, body }) => json(200, await upsertUser(store, path.userId, body)),
);
