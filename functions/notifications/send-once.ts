/**
 * One email, sent at most once (and, but for a crash in a narrow window, exactly once): claim its
 * record in the ledger, look again that what it tells of still holds (the token is still lost,
 * or still about to expire), send, complete the record.
 *
 * If the process dies between SES accepting an email and the record being completed, the claim
 * stays `sending`; once its lease has run out a retry takes it over and sends again: that
 * recipient gets the email twice, but nobody is ever left without it.
 */
import { randomUUID } from 'node:crypto';
import { errorName, type LogSink } from '#platform/observability';
import { MailNotSentError, type Mailer, type OutgoingEmail } from '#platform/ses';
import type { AccountReader } from '#tokens/accounts';
import type { Announcement, AnnouncementStaleReason } from './announcements';
import type { NotificationKey, SendOnceLedger } from './ledger';

export type SendOutcome =
  | { kind: 'sent'; messageId: string }
  /** sent, but another delivery had already sent and recorded this email (lease outlived) */
  | { kind: 'sent-twice'; messageId: string }
  | { kind: 'already-sent' }
  /** another delivery holds the claim; the retry finds it sent, or takes it over */
  | { kind: 'in-progress' }
  /** written down for a digest or held in a storm meanwhile: the digest flush sends it */
  | { kind: 'waiting' }
  | { kind: 'failed' }
  /**
   * the token was fixed meanwhile (or, for a warning, lost): nothing more to send for this
   * event, to anyone
   */
  | { kind: 'stale'; reason: AnnouncementStaleReason };

export interface SendOnceDependencies {
  store: SendOnceLedger & AccountReader;
  mailer: Mailer;
  clock: () => Date;
  /** how long a claim protects a send in progress before a retry may take it over */
  leaseSeconds: number;
  log: LogSink;
}

/** What a log line says of an email: which one, never its address. */
const contextOf = (email: NotificationKey) => ({
  accountId: email.accountId,
  generation: email.generation,
  occasion: email.occasion,
  userId: email.userId,
});

export async function sendOnce(
  email: NotificationKey,
  /** what the email tells of: it goes out only while that still holds */
  announced: Pick<Announcement, 'staleReason'>,
  message: OutgoingEmail,
  deps: SendOnceDependencies,
): Promise<SendOutcome> {
  const context = contextOf(email);
  const claimId = randomUUID();
  const now = deps.clock();
  const claim = await deps.store.claimNotification(email, {
    claimId,
    now,
    leaseSeconds: deps.leaseSeconds,
  });
  if (claim === 'sent') return { kind: 'already-sent' };
  if (claim === 'waiting') return { kind: 'waiting' };
  if (claim === 'in-progress') {
    deps.log.info('Another delivery is sending this email; leaving it to that one', context);
    return { kind: 'in-progress' };
  }

  // The token may have been replaced since the account was read (a reconnect, a refresh), or a
  // token warned of lost meanwhile: look again now that this send is ours, so no email goes out
  // for a token that is already fixed, nor a warning the expired email has overtaken. The claim
  // is given back; the event needs nothing more from anyone.
  const stale = announced.staleReason(await deps.store.getAccount(email.accountId), now);
  if (stale) {
    await deps.store.releaseNotification(email, claimId).catch(() => undefined);
    deps.log.info('The announcement stopped holding while notifying; nothing more to send', {
      ...context,
      staleReason: stale,
    });
    return { kind: 'stale', reason: stale };
  }

  return sendClaimed(email, claimId, message, deps);
}

/**
 * Sends an email whose claim `claimId` this delivery holds (sendOnce, or the notifier's
 * one-request claim, notice-claim.ts), and completes its record.
 */
export async function sendClaimed(
  email: NotificationKey,
  claimId: string,
  message: OutgoingEmail,
  deps: Omit<SendOnceDependencies, 'store'> & {
    store: Pick<SendOnceLedger, 'releaseNotification' | 'completeNotification'>;
  },
): Promise<SendOutcome> {
  const context = contextOf(email);
  let messageId: string;
  try {
    ({ messageId } = await deps.mailer.send(message));
  } catch (error) {
    if (error instanceof MailNotSentError) {
      // SES said no, so nothing went out: give the claim back and let the retry send at once.
      await deps.store.releaseNotification(email, claimId).catch(() => undefined);
    }
    deps.log.warn('Email not sent; the message will be retried', {
      ...context,
      error: errorName(error),
    });
    return { kind: 'failed' };
  }

  try {
    const recorded = await deps.store.completeNotification(email, claimId, {
      messageId,
      sentAt: deps.clock(),
    });
    if (recorded === 'already-recorded') {
      // Only when this send outlived its lease: another delivery took the claim over and
      // recorded its own email first, so this person got it twice.
      deps.log.warn('Email sent, but another delivery had already sent and recorded it', {
        ...context,
        messageId,
      });
      return { kind: 'sent-twice', messageId };
    }
    deps.log.info('Email sent', { ...context, messageId });
    return { kind: 'sent', messageId };
  } catch (error) {
    // Sent, but not recorded: the claim stays `sending` and its lease decides what a retry does.
    deps.log.error('Email sent but its record was not completed', {
      ...context,
      messageId,
      error: errorName(error),
    });
    return { kind: 'failed' };
  }
}
