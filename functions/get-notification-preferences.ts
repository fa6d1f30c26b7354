/** GET /me/notification-preferences: the caller's stored preferences, or the defaults. */
import { documentClient } from '#commons/clients/dynamodb';
import { envString, readConfig } from '#commons/config';
import { httpHandler } from '#commons/http/handler';
import { json } from '#commons/http/responses';
import { createStore } from '#commons/store';

const config = readConfig({ TABLE_NAME: envString() });
const store = createStore(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'jwt' }, async ({ caller }) =>
  json(200, await store.getPreferences(caller)),
);
