/** GET /me/notification-preferences: the caller's stored preferences, or the defaults. */
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import type { ConfigShapeOf } from './environment/variables';
import { httpHandler } from '#api/handler';
import { json } from '#platform/http/responses';
import { createPreferencesRepository } from '#notifications/preferences-store';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'get-notification-preferences'>);
const store = createPreferencesRepository(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'jwt' }, async ({ caller }) =>
  json(200, await store.getPreferences(caller)),
);
