/**
 * One schema per input. Each is used for validation at the edge, for the TypeScript types the
 * domain code works with, and (for HTTP bodies) for the OpenAPI document.
 */
import * as z from './validation';

/** A string of `min` to `max` characters: the bound every free-text input gets. */
export const boundedString = (min: number, max: number) =>
  z.string().check(z.minLength(min), z.maxLength(max));
export const positiveInteger = () => z.int().check(z.positive());
export const nonEmptyString = () => z.string().check(z.minLength(1));

export const userId = boundedString(1, 128);
export const accountId = z
  .string()
  .check(z.regex(/^[0-9A-Za-z_-]{1,64}$/, 'an Instagram account id: letters, digits, _ or -'));
export const isoDateTime = z.iso.datetime({ offset: true });
export const tokenStatus = z.enum(['active', 'expired', 'invalid']);
export type TokenStatus = z.infer<typeof tokenStatus>;
export const expiryReason = z.enum(['expired', 'invalid']);
export type ExpiryReason = z.infer<typeof expiryReason>;

export const userProfile = z.strictObject({
  userId,
  email: z.email(),
  name: boundedString(1, 200),
});
export type UserProfile = z.infer<typeof userProfile>;

export const notificationPreferences = z.strictObject({
  ownerExpiredToken: z.boolean(),
  developerExpiredToken: z.boolean(),
});
export type NotificationPreferences = z.infer<typeof notificationPreferences>;
export type PreferenceName = keyof NotificationPreferences;
export const preferenceName = z.enum(['ownerExpiredToken', 'developerExpiredToken']);

export const storedNotificationPreferences = z.extend(notificationPreferences, {
  updatedAt: z.nullable(isoDateTime),
});
export type StoredNotificationPreferences = z.infer<typeof storedNotificationPreferences>;

export const defaultNotificationPreferences: NotificationPreferences = {
  ownerExpiredToken: true,
  developerExpiredToken: false,
};

/** An Instagram account as it is connected: the only shape that carries the access token. */
export const instagramAccount = z.strictObject({
  accountId,
  ownerUserId: userId,
  username: z.string().check(z.regex(/^[A-Za-z0-9._]{1,30}$/, 'an Instagram username')),
  accessToken: boundedString(1, 2048),
  expiresAt: isoDateTime,
  tokenStatus: z._default(tokenStatus, 'active'),
  // Positive, as in the events: a generation-0 token would be published, then refused as poison.
  // Left out, a new account starts at 1 and a token stored over another is the next generation.
  generation: z.optional(positiveInteger()),
});
export type InstagramAccountInput = z.input<typeof instagramAccount>;
export type InstagramAccount = z.infer<typeof instagramAccount>;

/** What the rest of the code sees of an account: everything but the secret. */
export type AccountSummary = Omit<InstagramAccount, 'accessToken' | 'generation'> & {
  /** A stored account always has one. */
  generation: number;
};

export const developerRole = z.strictObject({
  accountId,
  userId,
  grantedAt: z.optional(isoDateTime),
});
export type DeveloperRole = z.infer<typeof developerRole>;

export const tokenExpiredDetail = z.strictObject({
  accountId,
  generation: positiveInteger(),
  expiresAt: isoDateTime,
  reason: expiryReason,
});
export type TokenExpiredDetail = z.infer<typeof tokenExpiredDetail>;

export const tokenRefreshedDetail = z.strictObject({
  accountId,
  generation: positiveInteger(),
  expiresAt: isoDateTime,
  by: z.union([userId, z.literal('auto')]),
});
export type TokenRefreshedDetail = z.infer<typeof tokenRefreshedDetail>;

export const eventSource = 'tokenwatch';
export const detailTypes = {
  tokenExpired: 'Instagram Token Expired',
  tokenRefreshed: 'Instagram Token Refreshed',
} as const;

/**
 * The rule that sends expired tokens to the notification queue, in EventBridge's own pattern
 * form: the stack deploys it and the local bus applies it, so the two cannot differ.
 */
export const tokenExpiredRulePattern = {
  source: [eventSource],
  'detail-type': [detailTypes.tokenExpired],
};

/**
 * A queue record's body: the event as EventBridge delivers it to an SQS target. Fields
 * EventBridge may add later are ignored; the detail itself is strict.
 */
export const tokenExpiredEnvelope = z.object({
  version: z.string(),
  id: nonEmptyString(),
  'detail-type': z.literal(detailTypes.tokenExpired),
  source: z.literal(eventSource),
  account: z.string(),
  time: isoDateTime,
  region: z.string(),
  resources: z.array(z.string()),
  detail: tokenExpiredDetail,
});
export type TokenExpiredEnvelope = z.infer<typeof tokenExpiredEnvelope>;
