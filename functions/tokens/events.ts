/**
 * The events tokenwatch puts on its bus (DESIGN.md "Events on the bus"): their details, their
 * names, and the rule that routes expired tokens to the notification queue.
 */
import { isoDateTime, nonEmptyString, positiveInteger } from '#platform/schemas';
import * as z from '#platform/validation';
import { userId } from '#people/user';
import { accountId } from './account';
import { expiryReason } from './lifecycle';

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
