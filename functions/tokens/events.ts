/**
 * The events tokenwatch puts on its bus (DESIGN.md "Events on the bus"): their details, their
 * names, and the rule that routes expired tokens to the notification queue.
 */
import { isoDateTime, nonEmptyString, positiveInteger, schema } from '#platform/schemas';
import * as z from '#platform/validation';
import { userId } from '#people/user';
import { accountId } from './account';
import { defaultCause, expiryReason, tokenCause } from './lifecycle';
import { linkActor } from './reconnect-links';

/**
 * `Instagram Token Expired`: a token was lost, why (`reason`, the status it ends in) and what
 * happened to it (`cause`, lifecycle.ts). Published always with `cause`; read with or without
 * it, because events published before causes existed may still be queued (or handed on) after a
 * deploy: a missing cause reads as the default for its reason, so such an event is delivered as
 * it would have been, never poison.
 */
export const tokenExpiredDetail = /* @__PURE__ */ schema(() =>
  z.pipe(
    z.strictObject({
      accountId,
      generation: positiveInteger(),
      expiresAt: isoDateTime,
      reason: expiryReason,
      cause: z.optional(tokenCause),
    }),
    z.transform((detail) => ({ ...detail, cause: detail.cause ?? defaultCause(detail.reason) })),
  ),
);
/** As published, and as read once the cause is filled in: the cause is always there. */
export type TokenExpiredDetail = z.output<typeof tokenExpiredDetail>;

/**
 * `Instagram Token Expiring`: a token not refreshed by `daysLeft` days before its expiry (one of
 * the warning steps, `warnBeforeDays`). `daysLeft` names the step, not the time left when it is
 * read: a duplicate published later must mean the same warning (the ledger's occasion is
 * `expiring-<daysLeft>`), and `expiresAt` says how long is really left.
 */
export const tokenExpiringDetail = /* @__PURE__ */ schema(() =>
  z.strictObject({
    accountId,
    generation: positiveInteger(),
    expiresAt: isoDateTime,
    daysLeft: positiveInteger(),
  }),
);
export type TokenExpiringDetail = z.infer<typeof tokenExpiringDetail>;

/**
 * `Instagram Token Reminder`: a token announced as lost `daysSince` days ago (one of the steps
 * of `remindAfterDays`) is still lost at the same generation. Its own detail type, because the
 * expiry is published once per generation; `daysSince` names the step, so a duplicate means the
 * same reminder (the ledger's occasion is `reminder-<daysSince>`).
 */
export const tokenReminderDetail = /* @__PURE__ */ schema(() =>
  z.strictObject({
    accountId,
    generation: positiveInteger(),
    expiresAt: isoDateTime,
    reason: expiryReason,
    cause: tokenCause,
    daysSince: positiveInteger(),
    /** the last reminder: none follows (the check knows the steps; the emails say so) */
    last: z.boolean(),
  }),
);
export type TokenReminderDetail = z.infer<typeof tokenReminderDetail>;

/**
 * Who stored a new token: a user (refresh, reconnect), the automatic refresh, or a reconnect
 * link's holder, as `link:<linkId>` (reconnect-links.ts), whose creator hears of it.
 */
export const tokenRefreshedDetail = /* @__PURE__ */ schema(() =>
  z.strictObject({
    accountId,
    generation: positiveInteger(),
    expiresAt: isoDateTime,
    by: z.union([linkActor, userId, z.literal('auto')]),
  }),
);
export type TokenRefreshedDetail = z.infer<typeof tokenRefreshedDetail>;

export const eventSource = 'tokenwatch';
export const detailTypes = {
  tokenExpired: 'Instagram Token Expired',
  tokenExpiring: 'Instagram Token Expiring',
  tokenReminder: 'Instagram Token Reminder',
  tokenRefreshed: 'Instagram Token Refreshed',
} as const;

/**
 * The rule that sends the events people hear of (expired and expiring tokens) to the
 * notification queue, in EventBridge's own pattern form: the stack deploys it and the local bus
 * applies it, so the two cannot differ.
 */
export const noticeRulePattern = {
  source: [eventSource],
  'detail-type': [detailTypes.tokenExpired, detailTypes.tokenExpiring, detailTypes.tokenReminder],
};

/**
 * The rule that sends the tokens a client stored through a reconnect link (`Instagram Token
 * Refreshed` by `link:<linkId>`) to the same notification queue: the link's creator hears of it.
 * A refresh by a user or by the automatic refresh matches no rule and reaches no queue.
 */
export const linkUsedRulePattern = {
  source: [eventSource],
  'detail-type': [detailTypes.tokenRefreshed],
  detail: { by: [{ prefix: 'link:' }] },
};

/**
 * A queue record's body: the event as EventBridge delivers it to an SQS target. Fields
 * EventBridge may add later are ignored; the detail itself is strict.
 */
export const tokenExpiredEnvelope = /* @__PURE__ */ schema(() =>
  z.object({
    version: z.string(),
    id: nonEmptyString(),
    'detail-type': z.literal(detailTypes.tokenExpired),
    source: z.literal(eventSource),
    account: z.string(),
    time: isoDateTime,
    region: z.string(),
    resources: z.array(z.string()),
    detail: tokenExpiredDetail,
  }),
);
export type TokenExpiredEnvelope = z.infer<typeof tokenExpiredEnvelope>;

export const tokenExpiringEnvelope = /* @__PURE__ */ schema(() =>
  z.object({
    version: z.string(),
    id: nonEmptyString(),
    'detail-type': z.literal(detailTypes.tokenExpiring),
    source: z.literal(eventSource),
    account: z.string(),
    time: isoDateTime,
    region: z.string(),
    resources: z.array(z.string()),
    detail: tokenExpiringDetail,
  }),
);
export type TokenExpiringEnvelope = z.infer<typeof tokenExpiringEnvelope>;

export const tokenReminderEnvelope = /* @__PURE__ */ schema(() =>
  z.object({
    version: z.string(),
    id: nonEmptyString(),
    'detail-type': z.literal(detailTypes.tokenReminder),
    source: z.literal(eventSource),
    account: z.string(),
    time: isoDateTime,
    region: z.string(),
    resources: z.array(z.string()),
    detail: tokenReminderDetail,
  }),
);
export type TokenReminderEnvelope = z.infer<typeof tokenReminderEnvelope>;

export const tokenRefreshedEnvelope = /* @__PURE__ */ schema(() =>
  z.object({
    version: z.string(),
    id: nonEmptyString(),
    'detail-type': z.literal(detailTypes.tokenRefreshed),
    source: z.literal(eventSource),
    account: z.string(),
    time: isoDateTime,
    region: z.string(),
    resources: z.array(z.string()),
    detail: tokenRefreshedDetail,
  }),
);
export type TokenRefreshedEnvelope = z.infer<typeof tokenRefreshedEnvelope>;
