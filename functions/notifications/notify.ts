/**
 * Who hears about an expired token, and the send loop that tells each of them exactly once.
 *
 * Recipients: the owner, unless they turned `ownerExpiredToken` off (on by default); and every
 * user with a developer role on the account who turned `developerExpiredToken` on (off by
 * default). Owning beats developing: an owner who also holds a developer role is the owner, and
 * gets one email at most.
 *
 * Exactly once per (account, generation, recipient): a notification record is claimed with a
 * conditional write before the send and completed after it. A retry skips completed recipients
 * and sends only to the rest. If the process dies between SES accepting an email and the record
 * being completed, the claim stays `sending`; once its lease has run out a retry takes it over
 * and sends again: that recipient gets the email twice, but nobody is ever left without it.
 */
import { randomUUID } from 'node:crypto';
import type { Mailer } from '#platform/ses';
import { MailNotSentError } from '#platform/ses';
import type { EmailKind, EmailRenderer } from './emails';
import type { LogSink } from '#tokens/expiry-check';
import {
  tokenExpiredEnvelope,
  type AccountSummary,
  type NotificationPreferences,
  type PreferenceName,
  type TokenExpiredDetail,
} from '#platform/schemas';
import type { TokenwatchStore } from '#storage/store';
import { signUnsubscribeToken, unsubscribeLink } from './unsubscribe-link';

export interface RecipientChoice {
  userId: string;
  kind: EmailKind;
}

/** The recipients rule, as a plain function of the account's people and their preferences. */
export function chooseRecipients(input: {
  ownerUserId: string;
  developerIds: readonly string[];
  preferencesOf: (userId: string) => NotificationPreferences;
}): RecipientChoice[] {
  const chosen: RecipientChoice[] = [];
  if (input.preferencesOf(input.ownerUserId).ownerExpiredToken) {
    chosen.push({ userId: input.ownerUserId, kind: 'owner' });
  }
  for (const userId of new Set(input.developerIds)) {
    if (userId === input.ownerUserId) continue;
    if (input.preferencesOf(userId).developerExpiredToken)
      chosen.push({ userId, kind: 'developer' });
  }
  return chosen;
}

/** Why an event needs no email any more, or undefined when it still does. */
export function staleReason(
  detail: TokenExpiredDetail,
  account: AccountSummary | undefined,
  now: Date,
): 'account-gone' | 'token-replaced' | 'token-active-again' | undefined {
  if (!account) return 'account-gone';
  if (account.generation !== detail.generation) return 'token-replaced';
  // At the event's generation an `active` status usually only means the check has not marked
  // it yet (it marks after publishing). A token that is active with an expiry still ahead was
  // not lost after all; an `invalid` one is due before its expiry, so that does not apply.
  if (
    detail.reason === 'expired' &&
    account.tokenStatus === 'active' &&
    Date.parse(account.expiresAt) > now.getTime()
  ) {
    return 'token-active-again';
  }
  return undefined;
}

export interface NotifierDependencies {
  store: Pick<
    TokenwatchStore,
    | 'getAccount'
    | 'listDeveloperIds'
    | 'getPreferencesOf'
    | 'getProfiles'
    | 'claimNotification'
    | 'completeNotification'
    | 'releaseNotification'
  >;
  mailer: Mailer;
  renderer: EmailRenderer;
  /** the frontend's base URL, without a trailing slash */
  appUrl: string;
  /** the full URL of `POST /unsubscribe` */
  unsubscribeUrl: string;
  unsubscribeKey: () => Promise<string>;
  clock: () => Date;
  /** how long a claim protects a send in progress before a retry may take it over */
  leaseSeconds: number;
  log: LogSink;
  /** time left in this invocation; a recipient is not started with less than `reserveMs` left */
  remainingMs?: () => number;
  /** @default 10_000 */
  reserveMs?: number;
}

/** How long a one-click unsubscribe link in an email keeps working. */
export const unsubscribeLinkDays = 90;

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
}

const noEmails = (): EmailCounts => ({
  sent: 0,
  alreadySent: 0,
  inProgress: 0,
  failed: 0,
  unreachable: 0,
  sentTwice: 0,
});
const emailCountNames = Object.keys(noEmails()) as (keyof EmailCounts)[];

export interface NotificationOutcome extends EmailCounts {
  /** done: every recipient has their email (or needs none); retry: someone still waits */
  status: 'done' | 'retry';
  staleReason?: ReturnType<typeof staleReason>;
}

class OutOfTimeError extends Error {
  override name = 'OutOfTimeError';
}

const preferenceFor: Record<EmailKind, PreferenceName> = {
  owner: 'ownerExpiredToken',
  developer: 'developerExpiredToken',
};

export async function notifyExpiredToken(
  detail: TokenExpiredDetail,
  deps: NotifierDependencies,
): Promise<NotificationOutcome> {
  const outcome: NotificationOutcome = { status: 'done', ...noEmails() };
  const context = { accountId: detail.accountId, generation: detail.generation };

  const account = await deps.store.getAccount(detail.accountId);
  const stale = staleReason(detail, account, deps.clock());
  if (stale || !account) {
    deps.log.info('Token no longer lost at this generation; nothing to send', {
      ...context,
      staleReason: stale,
    });
    return { ...outcome, staleReason: stale };
  }

  const developerIds = await deps.store.listDeveloperIds(account.accountId);
  const preferences = await deps.store.getPreferencesOf([account.ownerUserId, ...developerIds]);
  const chosen = chooseRecipients({
    ownerUserId: account.ownerUserId,
    developerIds,
    preferencesOf: (userId) => {
      const stored = preferences.get(userId);
      if (!stored) throw new Error(`No preferences read for ${userId}`);
      return stored;
    },
  });
  const profiles = await deps.store.getProfiles(chosen.map((recipient) => recipient.userId));
  const key = chosen.length > 0 ? await deps.unsubscribeKey() : '';

  for (const recipient of chosen) {
    const profile = profiles.get(recipient.userId);
    const recipientContext = { ...context, userId: recipient.userId, kind: recipient.kind };
    if (!profile) {
      outcome.unreachable += 1;
      deps.log.warn('Recipient has no profile, so no address: not notified', recipientContext);
      continue;
    }
    if (deps.remainingMs && deps.remainingMs() < (deps.reserveMs ?? 10_000)) {
      throw new OutOfTimeError('Too little time left to send another email');
    }

    const now = deps.clock();
    const unsubscribe = unsubscribeLink(
      deps.unsubscribeUrl,
      signUnsubscribeToken(
        {
          userId: recipient.userId,
          preference: preferenceFor[recipient.kind],
          expiresAt: new Date(now.getTime() + unsubscribeLinkDays * 86_400_000),
        },
        key,
      ),
    );
    const rendered = deps.renderer.render(recipient.kind, {
      name: profile.name,
      username: account.username,
      reason: detail.reason,
      expiresAt: detail.expiresAt,
      actionUrl:
        recipient.kind === 'owner'
          ? `${deps.appUrl}/instagram-accounts`
          : `${deps.appUrl}/instagram-accounts?account=${encodeURIComponent(account.accountId)}`,
      preferencesUrl: `${deps.appUrl}/settings#notifications`,
      unsubscribeUrl: unsubscribe,
    });

    const email = {
      accountId: detail.accountId,
      generation: detail.generation,
      userId: recipient.userId,
    };
    const claimId = randomUUID();
    const claim = await deps.store.claimNotification(email, {
      claimId,
      now,
      leaseSeconds: deps.leaseSeconds,
    });
    if (claim === 'sent') {
      outcome.alreadySent += 1;
      continue;
    }
    if (claim === 'in-progress') {
      outcome.inProgress += 1;
      deps.log.info(
        'Another delivery is sending this email; leaving it to that one',
        recipientContext,
      );
      continue;
    }

    // The token may have been replaced since the account was read (a reconnect, a refresh):
    // look again now that this send is ours, so no email goes out for a token that is already
    // fixed. The claim is given back; the event needs nothing more from anyone.
    const stillStale = staleReason(detail, await deps.store.getAccount(detail.accountId), now);
    if (stillStale) {
      await deps.store.releaseNotification(email, claimId).catch(() => undefined);
      deps.log.info('Token replaced while notifying; nothing more to send', {
        ...recipientContext,
        staleReason: stillStale,
      });
      outcome.staleReason = stillStale;
      break;
    }

    let messageId: string;
    try {
      ({ messageId } = await deps.mailer.send({
        to: profile.email,
        ...rendered,
        headers: [
          { name: 'List-Unsubscribe', value: `<${unsubscribe}>` },
          { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
        ],
      }));
    } catch (error) {
      outcome.failed += 1;
      if (error instanceof MailNotSentError) {
        // SES said no, so nothing went out: give the claim back and let the retry send at once.
        await deps.store.releaseNotification(email, claimId).catch(() => undefined);
      }
      deps.log.warn('Email not sent; the message will be retried', {
        ...recipientContext,
        error: errorName(error),
      });
      continue;
    }

    try {
      const recorded = await deps.store.completeNotification(email, claimId, {
        messageId,
        sentAt: deps.clock(),
      });
      outcome.sent += 1;
      if (recorded === 'already-recorded') {
        outcome.sentTwice += 1;
        // Only when this send outlived its lease: another delivery took the claim over and
        // recorded its own email first, so this person got it twice.
        deps.log.warn('Email sent, but another delivery had already sent and recorded it', {
          ...recipientContext,
          messageId,
        });
      } else {
        deps.log.info('Expired-token email sent', { ...recipientContext, messageId });
      }
    } catch (error) {
      // Sent, but not recorded: the claim stays `sending` and its lease decides what a retry does.
      outcome.failed += 1;
      deps.log.error('Email sent but its record was not completed', {
        ...recipientContext,
        messageId,
        error: errorName(error),
      });
    }
  }

  outcome.status = outcome.failed + outcome.inProgress > 0 ? 'retry' : 'done';
  return outcome;
}

export interface QueueRecord {
  messageId: string;
  body: string;
  /** SQS's own: how many times this message was received, this time included */
  attributes?: { ApproximateReceiveCount?: string };
}

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
  totals: EmailCounts & {
    messages: number;
    /**
     * Poison messages received for the first time. Each is received again until SQS moves it
     * to the DLQ; counting every receive would report one bad message as `maxReceiveCount`.
     */
    poison: number;
    stale: number;
  };
}

/**
 * One batch from the queue, one message after the other (the pacer sets the speed anyway).
 * Every message stands alone: a poison message or a failed send fails only its own record, which
 * SQS delivers again and, after the last receive, moves to the dead-letter queue.
 */
export async function notifyFromQueue(
  records: readonly QueueRecord[],
  deps: NotifierDependencies,
): Promise<BatchResult> {
  const result: BatchResult = {
    batchItemFailures: [],
    totals: { messages: records.length, poison: 0, stale: 0, ...noEmails() },
  };
  let outOfTime = false;
  for (const record of records) {
    const fail = () => result.batchItemFailures.push({ itemIdentifier: record.messageId });
    // Parsed before anything else, even when out of time: a poison message is counted on its
    // first receive, and would not be if that receive gave it back unread.
    const envelope = parseEnvelope(record.body);
    if (!envelope.success) {
      const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1');
      if (!(receiveCount > 1)) result.totals.poison += 1;
      deps.log.warn('Queue message is not a token-expired event; it will end in the DLQ', {
        messageId: record.messageId,
        receiveCount,
        problems: envelope.problems,
      });
      fail();
      continue;
    }
    if (outOfTime) {
      fail();
      continue;
    }
    try {
      const outcome = await notifyExpiredToken(envelope.detail, deps);
      if (outcome.staleReason) result.totals.stale += 1;
      for (const name of emailCountNames) result.totals[name] += outcome[name];
      if (outcome.status === 'retry') fail();
    } catch (error) {
      if (error instanceof OutOfTimeError) outOfTime = true;
      deps.log.error('Could not handle the token-expired event; it will be retried', {
        messageId: record.messageId,
        accountId: envelope.detail.accountId,
        generation: envelope.detail.generation,
        error: errorName(error),
      });
      fail();
    }
  }
  return result;
}

function parseEnvelope(
  body: string,
): { success: true; detail: TokenExpiredDetail } | { success: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { success: false, problems: ['body is not JSON'] };
  }
  const parsed = tokenExpiredEnvelope.safeParse(json);
  if (parsed.success) return { success: true, detail: parsed.data.detail };
  // Paths and messages only: never the values themselves, nor the names of unknown fields (a
  // record may carry thousands, or anything at all), and a few problems at most, so a log line
  // never grows with the record.
  const problems = parsed.error.issues.slice(0, maxListedProblems).map((issue) => {
    const message =
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.length} unknown field(s)`
        : issue.message.slice(0, 120);
    return `${issue.path.slice(0, 5).join('.').slice(0, 120)}: ${message}`;
  });
  const more = parsed.error.issues.length - problems.length;
  return { success: false, problems: more > 0 ? [...problems, `and ${more} more`] : problems };
}

const maxListedProblems = 5;

const errorName = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);
