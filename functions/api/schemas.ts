/**
 * The HTTP API's inputs: one schema per body, path and query. The handlers validate with these,
 * and `scripts/openapi.ts` turns the very same objects into docs/openapi.json, so the document
 * cannot describe a body the API would reject (or the other way round). The outputs and the
 * per-route contracts are in api-contracts.ts, which no handler imports: building them is work
 * only the document needs.
 */
import * as z from '#platform/validation';
import { boundedString, schema } from '#platform/schemas';
import { notificationPreferences } from '#notifications/preferences';
import { accountId } from '#tokens/account';
import { linkId } from '#tokens/reconnect-links';

// ---- inputs ----------------------------------------------------------------------------------

/** PUT /me/notification-preferences: both switches, always; anything else is refused. */
export const preferencesBody = /* @__PURE__ */ schema(() =>
  notificationPreferences.check(
    z.meta({
      id: 'NotificationPreferencesInput',
      description: 'Both preferences are required; unknown fields are rejected.',
    }),
  ),
);

/** POST /instagram-accounts/{accountId}/token: what Instagram's redirect handed the frontend. */
export const reconnectBody = /* @__PURE__ */ schema(() =>
  z
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
    .check(z.meta({ id: 'ReconnectInput' })),
);

export const accountPath = /* @__PURE__ */ schema(() =>
  z.strictObject({ accountId }).check(z.meta({ id: 'AccountPath' })),
);

/** Other query parameters (a mail client's tracking, say) are ignored, not refused. */
export const unsubscribeQuery = /* @__PURE__ */ schema(() =>
  z
    .object({ token: boundedString(1, 2048).check(z.describe('The signed token from the email.')) })
    .check(z.meta({ id: 'UnsubscribeQuery' })),
);

/** Meta's callbacks (deauthorize, data deletion): a form with the signed request. */
export const signedRequestForm = /* @__PURE__ */ schema(() =>
  z
    .object({
      signed_request: boundedString(1, 8192).check(
        z.describe("Meta's `<signature>.<payload>`, both base64url, signed with the app secret."),
      ),
    })
    .check(z.meta({ id: 'SignedRequestForm' })),
);

export const confirmationCodePath = /* @__PURE__ */ schema(() =>
  z
    .strictObject({
      confirmationCode: z
        .string()
        .check(
          z.regex(/^[A-Za-z0-9_-]{1,128}$/, 'a confirmation code'),
          z.describe('The `confirmation_code` answered to Meta'),
        ),
    })
    .check(z.meta({ id: 'ConfirmationCodePath' })),
);

/** The reconnect link routes of an account: which link. */
export const reconnectLinkPath = /* @__PURE__ */ schema(() =>
  z
    .strictObject({ accountId, linkId: linkId.check(z.describe('The link, as created')) })
    .check(z.meta({ id: 'ReconnectLinkPath' })),
);

/**
 * The page behind a reconnect link: its path and key are checked by the page itself, so that a
 * person with a damaged link reads a page saying so, not a validation error.
 */
export const reconnectPagePath = /* @__PURE__ */ schema(() =>
  z
    .strictObject({
      accountId: boundedString(1, 128).check(z.describe('The account, as in the link')),
      linkId: boundedString(1, 128).check(z.describe('The link, as in the link')),
    })
    .check(z.meta({ id: 'ReconnectPagePath' })),
);

export const reconnectPageQuery = /* @__PURE__ */ schema(() =>
  z
    .object({
      key: z.optional(
        boundedString(1, 512).check(z.describe("The link's secret, exactly as in the link")),
      ),
    })
    .check(z.meta({ id: 'ReconnectPageQuery' })),
);

/**
 * Instagram's redirect back to a reconnect link: `code` and `state`, or `error` (and its reason)
 * when the person did not allow access. Other parameters are ignored.
 */
export const reconnectCallbackQuery = /* @__PURE__ */ schema(() =>
  z
    .object({
      code: z.optional(boundedString(1, 2048).check(z.describe("Instagram's authorization code"))),
      state: z.optional(boundedString(1, 512).check(z.describe('The state the link page sent'))),
      error: z.optional(boundedString(1, 512).check(z.describe('Set when access was not allowed'))),
      error_reason: z.optional(boundedString(1, 512)),
      error_description: z.optional(boundedString(1, 2048)),
    })
    .check(z.meta({ id: 'ReconnectCallbackQuery' })),
);
