/**
 * The HTTP API's inputs: one schema per body, path and query. The handlers validate with these,
 * and `scripts/openapi.ts` turns the very same objects into docs/openapi.json, so the document
 * cannot describe a body the API would reject (or the other way round). The outputs and the
 * per-route contracts are in api-contracts.ts, which no handler imports: building them is work
 * only the document needs.
 */
import * as z from '#platform/validation';
import { boundedString } from '#platform/schemas';
import { notificationPreferences } from '#notifications/preferences';
import { accountId } from '#tokens/account';

// ---- inputs ----------------------------------------------------------------------------------

/** PUT /me/notification-preferences: both switches, always; anything else is refused. */
export const preferencesBody = notificationPreferences.check(
  z.meta({
    id: 'NotificationPreferencesInput',
    description: 'Both preferences are required; unknown fields are rejected.',
  }),
);

/** POST /instagram-accounts/{accountId}/token: what Instagram's redirect handed the frontend. */
export const reconnectBody = z
  .strictObject({
    code: boundedString(1, 2048).check(
      z.describe("The `code` from Instagram's redirect (a trailing `#_` is ignored)."),
    ),
    redirectUri: z
      .url({ protocol: /^https?$/ })
      .check(
        z.maxLength(2048),
        z.describe('The redirect URI the authorization used; must be the configured one.'),
      ),
  })
  .check(z.meta({ id: 'ReconnectInput' }));

export const accountPath = z.strictObject({ accountId }).check(z.meta({ id: 'AccountPath' }));

/** Other query parameters (a mail client's tracking, say) are ignored, not refused. */
export const unsubscribeQuery = z
  .object({ token: boundedString(1, 2048).check(z.describe('The signed token from the email.')) })
  .check(z.meta({ id: 'UnsubscribeQuery' }));

/** Meta's callbacks (deauthorize, data deletion): a form with the signed request. */
export const signedRequestForm = z
  .object({
    signed_request: boundedString(1, 8192).check(
      z.describe("Meta's `<signature>.<payload>`, both base64url, signed with the app secret."),
    ),
  })
  .check(z.meta({ id: 'SignedRequestForm' }));

export const confirmationCodePath = z
  .strictObject({
    confirmationCode: z
      .string()
      .check(
        z.regex(/^[A-Za-z0-9_-]{1,128}$/, 'a confirmation code'),
        z.describe('The `confirmation_code` answered to Meta'),
      ),
  })
  .check(z.meta({ id: 'ConfirmationCodePath' }));
