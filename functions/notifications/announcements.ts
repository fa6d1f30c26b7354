/**
 * What an event on the bus announces to the people of a token, in the one shape the notifier
 * needs (a lost token, a warning that it is about to be lost, or a reminder that it still is):
 * which token generation and occasion (for the send-once ledger and the templates),
 * whether it still holds against the account as it is now (asked before the recipients are
 * chosen, and again after each claim), and what its email says beyond the recipient and links.
 *
 * Each kind's rule of when it holds lives in lifecycle.ts (`staleReason` for a lost token and for
 * a reminder of it, `warningStaleReason` for a warning); this module only says which rule goes
 * with which event.
 */
import type { AccountSummary } from '#tokens/account';
import type {
  TokenExpiredDetail,
  TokenExpiringDetail,
  TokenRefreshedDetail,
  TokenReminderDetail,
} from '#tokens/events';
import {
  staleReason,
  warningStaleReason,
  type StaleReason,
  type WarningStaleReason,
} from '#tokens/lifecycle';
import type { EmailBasics, EmailDataOfKind } from './emails';
import { expiringOccasion, reminderOccasion, type Occasion } from './occasions';

/** An event people hear of, as read from the queue: its kind of occasion and its detail. */
export type NoticeEvent =
  | AnnouncedEvent
  /** a token stored through a reconnect link: only its creator hears of it (reconnected.ts) */
  | { kind: 'reconnected'; detail: TokenRefreshedDetail };

/** The events about a token's loss, told to its owner and developers as their settings say. */
export type AnnouncedEvent =
  | { kind: 'expired'; detail: TokenExpiredDetail }
  | { kind: 'expiring'; detail: TokenExpiringDetail }
  | { kind: 'reminder'; detail: TokenReminderDetail };
export type AnnouncedKind = AnnouncedEvent['kind'];

/** Why an announcement needs no email (any more), whichever kind it is. */
export type AnnouncementStaleReason = StaleReason | WarningStaleReason;

/** What an email of a kind says beyond who it goes to and its links. */
export type EmailFacts = {
  [Kind in AnnouncedKind]: Omit<EmailDataOfKind[Kind], keyof EmailBasics>;
}[AnnouncedKind];

export interface Announcement {
  accountId: string;
  generation: number;
  kind: AnnouncedKind;
  /** the ledger's occasion: `expired`, `expiring-7`, `reminder-3` */
  occasion: Occasion;
  /** as the event says it: when the token expired, or expires */
  expiresAt: string;
  /** Why it needs no email against the account as it is at `now`; undefined while it holds. */
  staleReason(account: AccountSummary | undefined, now: Date): AnnouncementStaleReason | undefined;
  /** What its email says, written at `now`, beyond the recipient and the links. */
  facts(now: Date): EmailFacts;
}

export function announcementOf(event: AnnouncedEvent): Announcement {
  const { detail } = event;
  const base = {
    accountId: detail.accountId,
    generation: detail.generation,
    expiresAt: detail.expiresAt,
  };
  if (event.kind === 'expired') {
    const lost = event.detail;
    return {
      ...base,
      kind: 'expired',
      occasion: 'expired',
      staleReason: (account, now) => staleReason(lost, account, now),
      facts: () => ({ reason: lost.reason, cause: lost.cause }),
    };
  }
  if (event.kind === 'reminder') {
    const reminder = event.detail;
    return {
      ...base,
      kind: 'reminder',
      // The step, as for a warning: a duplicate published later is the same reminder.
      occasion: reminderOccasion(reminder.daysSince),
      // It holds exactly as long as the expired email would: a new token, the account's
      // removal, or the token found active after all stops the reminders.
      staleReason: (account, now) => staleReason(reminder, account, now),
      facts: () => ({
        reason: reminder.reason,
        cause: reminder.cause,
        daysSince: reminder.daysSince,
        last: reminder.last,
      }),
    };
  }
  return {
    ...base,
    kind: 'expiring',
    // The step, not the time left: a duplicate published later is the same occasion.
    occasion: expiringOccasion(event.detail.daysLeft),
    staleReason: (account, now) => warningStaleReason(detail, account, now),
    facts: (now) => ({ writtenAt: now.toISOString() }),
  };
}
