/**
 * Telling the people of a token, once each, about one announcement (announcements.ts: a lost
 * token, a warning that it is about to expire, or a reminder that it is still lost): the account
 * is read, the announcement checked against it (a token fixed meanwhile needs no email or
 * reminder, nor does a warning for a token already lost), the recipients chosen (recipients.ts), and each sent their email through the send-once
 * ledger (send-once.ts). A retry of the same event skips whoever already has theirs and sends
 * only to the rest.
 */
import type { LogSink } from '#platform/observability';
import type { Mailer } from '#platform/ses';
import type { ProfileReader } from '#people/profiles';
import type { EmailStatus } from '#people/suppression';
import type { EmailStatusReader } from '#people/suppression-store';
import type { AccountReader } from '#tokens/accounts';
import type { ReconnectLinkReader } from '#tokens/reconnect-link-store';
import type { TokenExpiredDetail, TokenExpiringDetail, TokenReminderDetail } from '#tokens/events';
import {
  announcementOf,
  type AnnouncedEvent,
  type Announcement,
  type AnnouncementStaleReason,
  type NoticeEvent,
} from './announcements';
import type { LinkSettings } from './email-links';
import type { EmailRenderer } from './emails';
import type { SendOnceLedger } from './ledger';
import { noticeEmail } from './notice-email';
import { chooseRecipients } from './recipients';
import { notifyReconnected } from './reconnected';
import type { SendOutcome } from './send-once';
import type { NoticeGate } from './digest';
import type { NoticeClaims } from './notice-claim';
import type { NoticeReads } from './notice-reads';
import { tellRecipient } from './notice-send';
import { skipIfSuppressed } from './suppressed';

export interface NotifierDependencies extends LinkSettings {
  store: NoticeReads &
    NoticeClaims &
    // The step-by-step path's (notice-send.ts), and the answer to a reconnect (reconnected.ts).
    AccountReader &
    ProfileReader &
    Pick<EmailStatusReader, 'emailStatusesOf'> &
    ReconnectLinkReader &
    SendOnceLedger;
  mailer: Mailer;
  renderer: EmailRenderer;
  unsubscribeKey: () => Promise<string>;
  clock: () => Date;
  /** how long a claim protects a send in progress before a retry may take it over */
  leaseSeconds: number;
  log: LogSink;
  /** time left in this invocation; a recipient is not started with less than `reserveMs` left */
  remainingMs?: () => number;
  /** @default 10_000 */
  reserveMs?: number;
  /**
   * Digests and the storm guard (digest.ts): whether each notice goes at once, waits for its
   * recipient's digest, or is held. @default none: every notice goes at once
   */
  notices?: NoticeGate;
}

/** What became of each recipient of an event, and, summed, of a batch. */
export interface EmailCounts {
  sent: number;
  alreadySent: number;
  /** another delivery holds the claim; the retry finds it sent, or takes it over */
  inProgress: number;
  failed: number;
  /** chosen, but without a profile (no address): nothing can be sent */
  unreachable: number;
  /**
   * sent (and counted in `sent`), but another delivery had already sent and recorded this
   * email: only possible when a send outlived its claim's lease
   */
  sentTwice: number;
  /** written down for the recipient's digest at the end of their window */
  waiting: number;
  /** held in a storm, until an operator releases or discards them */
  held: number;
  /**
   * not sent: SES reported the recipient's address as bounced or complained (recorded as
   * settled, with the reason, so no retry tries again)
   */
  suppressed: number;
}

export const noEmails = (): EmailCounts => ({
  sent: 0,
  alreadySent: 0,
  inProgress: 0,
  failed: 0,
  unreachable: 0,
  sentTwice: 0,
  waiting: 0,
  held: 0,
  suppressed: 0,
});

export interface NotificationOutcome extends EmailCounts {
  /**
   * done: every recipient has their email (or needs none); retry: someone still waits (a send
   * failed, or another delivery holds a claim); out-of-time: stopped before the time reserve,
   * so the recipients not yet started still wait too. The counts say what this call did
   * either way, so the caller can tell a call that made progress from one that made none.
   */
  status: 'done' | 'retry' | 'out-of-time';
  staleReason?: AnnouncementStaleReason;
}

/** The emails about a lost token (`Instagram Token Expired`). */
export const notifyExpiredToken = (
  detail: TokenExpiredDetail,
  deps: NotifierDependencies,
): Promise<NotificationOutcome> => notifyOf({ kind: 'expired', detail }, deps);

/** The warnings about a token about to expire (`Instagram Token Expiring`). */
export const notifyExpiringToken = (
  detail: TokenExpiringDetail,
  deps: NotifierDependencies,
): Promise<NotificationOutcome> => notifyOf({ kind: 'expiring', detail }, deps);

/** The reminders that a lost token is still lost (`Instagram Token Reminder`). */
export const notifyTokenReminder = (
  detail: TokenReminderDetail,
  deps: NotifierDependencies,
): Promise<NotificationOutcome> => notifyOf({ kind: 'reminder', detail }, deps);

/** The emails of any event people hear of. */
export const notifyOf = (event: NoticeEvent, deps: NotifierDependencies) =>
  event.kind === 'reconnected'
    ? notifyReconnected(event.detail, deps)
    : notifyAnnouncement(event, announcementOf(event), deps);

async function notifyAnnouncement(
  event: AnnouncedEvent,
  announcement: Announcement,
  deps: NotifierDependencies,
): Promise<NotificationOutcome> {
  const outcome: NotificationOutcome = { status: 'done', ...noEmails() };
  const { accountId, generation, kind, occasion } = announcement;
  const context = { accountId, generation, occasion };

  const lease = { now: deps.clock(), leaseSeconds: deps.leaseSeconds };
  const { account, developerIds, earlier } = await deps.store.readNoticeAccount(
    { accountId, generation, occasion },
    lease,
  );
  const stale = announcement.staleReason(account, lease.now);
  if (stale || !account) {
    deps.log.info('The announcement no longer holds for this token; nothing to send', {
      ...context,
      staleReason: stale,
    });
    return { ...outcome, staleReason: stale };
  }

  const people = await deps.store.readPeople([account.ownerUserId, ...developerIds]);
  const chosen = chooseRecipients({
    kind,
    ownerUserId: account.ownerUserId,
    developerIds,
    preferencesOf: (userId) => {
      const stored = people.preferences.get(userId);
      if (!stored) throw new Error(`No preferences read for ${userId}`);
      return stored;
    },
  });
  const waiting = chosen.filter(
    (recipient) =>
      !earlier.sent.has(recipient.userId) &&
      !earlier.waiting.has(recipient.userId) &&
      !earlier.sending.has(recipient.userId),
  );
  outcome.alreadySent += chosen.filter((recipient) => earlier.sent.has(recipient.userId)).length;
  outcome.waiting += chosen.filter((recipient) => earlier.waiting.has(recipient.userId)).length;
  // The version before occasions is sending these; like any claim in progress, the retry finds
  // them sent, or takes over once that claim's lease has run out.
  outcome.inProgress += chosen.filter((recipient) => earlier.sending.has(recipient.userId)).length;
  const addresses = waiting.flatMap(({ userId }) => people.profiles.get(userId)?.email ?? []);
  // Read last, just before the first send: the addresses' standing, and the storm's state.
  const { statuses, storm } =
    waiting.length > 0
      ? await deps.store.readAddresses(addresses, deps.notices !== undefined)
      : { statuses: new Map<string, EmailStatus>(), storm: undefined };
  const key = waiting.length > 0 ? await deps.unsubscribeKey() : '';

  for (const recipient of waiting) {
    const profile = people.profiles.get(recipient.userId);
    const recipientContext = { ...context, userId: recipient.userId, audience: recipient.audience };
    if (!profile) {
      outcome.unreachable += 1;
      deps.log.warn('Recipient has no profile, so no address: not notified', recipientContext);
      continue;
    }
    const record = { accountId, generation, occasion, userId: recipient.userId };
    const address = { email: profile.email, status: statuses.get(profile.email) };
    if ((await skipIfSuppressed(deps, record, address, recipientContext)) === 'suppressed') {
      // Before the digest gate: such a notice opens no window and waits for no digest.
      outcome.suppressed += 1;
      continue;
    }
    if (deps.remainingMs && deps.remainingMs() < (deps.reserveMs ?? 10_000)) {
      return { ...outcome, status: 'out-of-time' };
    }
    // Written before anything is decided: a notice that cannot be written (a corrupt account
    // item) fails here on every receive and ends in the dead-letter queue, rather than waiting
    // for a digest it would break.
    const email = noticeEmail(
      deps,
      announcement,
      account.username,
      { ...recipient, name: profile.name, email: profile.email },
      key,
      deps.clock(),
    );
    const notice = { ...record, audience: recipient.audience, event };
    const told = { record, notice, announcement, email, account, ...(storm ? { storm } : {}) };
    const result = await tellRecipient(told, deps, outcome);
    if (!result) continue;
    if (result.kind === 'stale') {
      outcome.staleReason = result.reason;
      break;
    }
    countSend(outcome, result);
  }

  outcome.status = outcome.failed + outcome.inProgress > 0 ? 'retry' : 'done';
  return outcome;
}

function countSend(outcome: EmailCounts, result: SendOutcome): void {
  if (result.kind === 'sent' || result.kind === 'sent-twice') outcome.sent += 1;
  if (result.kind === 'sent-twice') outcome.sentTwice += 1;
  if (result.kind === 'already-sent') outcome.alreadySent += 1;
  if (result.kind === 'in-progress') outcome.inProgress += 1;
  if (result.kind === 'waiting') outcome.waiting += 1;
  if (result.kind === 'failed') outcome.failed += 1;
}
