/** PUT /me/notification-preferences: replaces both preferences and answers them as stored. */
import { preferencesBody } from '#commons/api-schemas';
import { documentClient } from '#commons/clients/dynamodb';
import { envString, readConfig } from '#commons/config';
import { httpHandler } from '#commons/http/handler';
import { json } from '#commons/http/responses';
import { createStore } from '#commons/store';

const config = readConfig({ TABLE_NAME: envString() });
const store = createStore(documentClient(), config.TABLE_NAME);

export const handler = httpHandler(
  { auth: 'jwt', body: preferencesBody },
  async ({ caller, body }) => json(200, await store.putPreferences(caller, body, new Date())),
);
