/** PUT /me/notification-preferences: replaces both preferences and answers them as stored. */
import { preferencesBody } from '#api/schemas';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import type { ConfigShapeOf } from './environment/variables';
import { httpHandler } from '#api/handler';
import { json } from '#platform/http/responses';
import { createPreferencesRepository } from '#notifications/preferences-store';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'put-notification-preferences'>);
const store = createPreferencesRepository(documentClient(), config.TABLE_NAME);

export const handler = httpHandler(
  { auth: 'jwt', body: preferencesBody },
  async ({ caller, body }) => json(200, await store.putPreferences(caller, body, new Date())),
);
