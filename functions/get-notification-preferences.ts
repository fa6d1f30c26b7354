/**
 * GET /me/notification-preferences: the caller's stored preferences, or the defaults, and
 * whether SES reported their address on file as bounced or complained (`emailStatus`).
 */
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import type { ConfigShapeOf } from './environment/variables';
import { httpHandler } from '#api/handler';
import { json } from '#platform/http/responses';
import { createPreferencesRepository } from '#notifications/preferences-store';
import { createProfileRepository } from '#people/profiles';
import { createSuppressionStore, emailStatusOfUser } from '#people/suppression-store';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'get-notification-preferences'>);
const db = documentClient();
const store = createPreferencesRepository(db, config.TABLE_NAME);
const profiles = createProfileRepository(db, config.TABLE_NAME);
const suppression = createSuppressionStore(db, config.TABLE_NAME);
const addresses = {
  getProfile: (userId: string) => profiles.getProfile(userId),
  emailStatusOf: (address: string) => suppression.emailStatusOf(address),
};

export const handler = httpHandler({ auth: 'jwt' }, async ({ caller }) => {
  const [preferences, emailStatus] = await Promise.all([
    store.getPreferences(caller),
    emailStatusOfUser(addresses, caller),
  ]);
  return json(200, { ...preferences, emailStatus });
});
