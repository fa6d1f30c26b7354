/**
 * The notifier's queue adapter: one SQS batch, one message after the other (the pacer sets the
 * speed anyway), each an event people hear of (`Instagram Token Expired`, `Instagram Token
 * Expiring` or `Instagram Token Reminder`, as the notice rule routes them, or `Instagram Token
 * Refreshed` by a reconnect link, as the link-used rule does). Every message stands alone: a poison message or a
 * failed send fails only its own record (a partial batch response), which SQS delivers again
 * and, after the last receive, moves to the dead-letter queue.
 *
 * Progress is not failure. A message that told someone but still has people waiting (its time
 * ran out, or some sends failed) is handed on instead: its event goes back on the bus as a fresh
 * message and the original is acknowledged (see `handOn` below). So are the messages that time
 * ran out before, when the invocation told anyone: they lost their turn to another event's
 * progress, not to a fault. Otherwise a large recipient set, or one behind it in the batch,
 * would use up its receives while every receive did work. A message that made no progress, in
 * an invocation that made none, fails as before.
 *
 * Powertools' batch utility was weighed and not used: it has no notion of "out of time, give the
 * rest back unread" (here: unread, failed or handed on) or of counting a poison message once, on
 * its first receive, both of which this loop needs, and it would add to every notifier's bundle
 * and cold start for a loop this short.
 */
import type {
  TokenExpiredPublisher,
  TokenExpiringPublisher,
  TokenReminderPublisher,
} from '#tokens/event-publisher';
import type { PublishOutcome } from '#platform/eventbridge';
import { errorName } from '#platform/observability';
import {
  detailTypes,
  tokenExpiredEnvelope,
  tokenExpiringEnvelope,
  tokenRefreshedEnvelope,
  tokenReminderEnvelope,
  type TokenExpiredDetail,
  type TokenExpiringDetail,
  type TokenReminderDetail,
} from '#tokens/events';
import type * as z from '#platform/validation';
import type { NoticeEvent } from './announcements';
import {
  noEmails,
  notifyOf,
  type EmailCounts,
  type NotificationOutcome,
  type NotifierDependencies,
} from './notify';

const emailCountNames = Object.keys(noEmails()) as (keyof EmailCounts)[];

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
    /**
     * messages acknowledged after the bus took their event again: those that made progress
     * with people still waiting, and those time ran out before in an invocation that did
     */
    handedOn: number;
  };
}

export interface QueueBatchDependencies extends NotifierDependencies {
  /**
   * The bus the events come from, to hand a message's remainder on as a fresh event of the same
   * detail type. Without it such a message is failed and received again, as a message that made
   * no progress is.
   */
  publisher?: TokenExpiredPublisher & TokenExpiringPublisher & TokenReminderPublisher;
}

export async function notifyFromQueue(
  records: readonly QueueRecord[],
  deps: QueueBatchDependencies,
): Promise<BatchResult> {
  const totals: BatchResult['totals'] = {
    messages: records.length,
    poison: 0,
    stale: 0,
    handedOn: 0,
    ...noEmails(),
  };
  const failed = new Set<string>();
  /** messages to acknowledge once the bus has taken their event again */
  const toHandOn: HandOn[] = [];
  /** events not started because time ran out: handed on too if this invocation made progress */
  const unread: HandOn[] = [];
  let outOfTime = false;
  let progressed = false;
  for (const record of records) {
    const fail = () => failed.add(record.messageId);
    // Parsed before anything else, even when out of time: a poison message is counted on its
    // first receive, and would not be if that receive gave it back unread.
    const envelope = parseEnvelope(record.body);
    if (!envelope.success) {
      const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1');
      if (!(receiveCount > 1)) totals.poison += 1;
      deps.log.warn(
        'Queue message is not a token-expired event, a warning, a reminder or a link use; it goes to the DLQ',
        { messageId: record.messageId, receiveCount, problems: envelope.problems },
      );
      fail();
      continue;
    }
    const { event } = envelope;
    const context = {
      messageId: record.messageId,
      kind: event.kind,
      accountId: event.detail.accountId,
      generation: event.detail.generation,
    };
    if (outOfTime) {
      unread.push({ record, event, why: { ...context, unread: true } });
      continue;
    }
    let outcome: NotificationOutcome;
    try {
      outcome = await notifyOf(event, deps);
    } catch (error) {
      deps.log.error('Could not handle the event; it will be retried', {
        ...context,
        error: errorName(error),
      });
      fail();
      continue;
    }
    if (outcome.staleReason) totals.stale += 1;
    for (const name of emailCountNames) totals[name] += outcome[name];
    if (outcome.status === 'out-of-time') outOfTime = true;
    if (madeProgress(outcome)) progressed = true;
    if (outcome.status === 'done') continue;
    const why = {
      ...context,
      sent: outcome.sent,
      failed: outcome.failed,
      inProgress: outcome.inProgress,
      outOfTime: outcome.status === 'out-of-time',
    };
    if (madeProgress(outcome) && deps.publisher && event.kind !== 'reconnected') {
      toHandOn.push({ record, event, why });
      continue;
    }
    if (outcome.status === 'out-of-time') {
      deps.log.warn('Out of time before every recipient was sent; the event will be retried', why);
    }
    fail();
  }

  // Time spent on another event's progress is not this event's failure either. A link's use is
  // never handed on: its one recipient is either told or still waiting, so SQS's retry of that
  // message is all it needs, and a Refreshed event published again would tell every consumer
  // of the bus of a refresh that did not happen twice.
  for (const message of unread) {
    if (progressed && deps.publisher && message.event.kind !== 'reconnected') {
      toHandOn.push(message);
    } else failed.add(message.record.messageId);
  }
  const notTaken = await handOn(toHandOn, deps);
  for (const { record } of notTaken) failed.add(record.messageId);
  totals.handedOn = toHandOn.length - notTaken.length;

  return {
    // In the order of the batch, whatever order they were found in.
    batchItemFailures: records
      .filter((record) => failed.has(record.messageId))
      .map((record) => ({ itemIdentifier: record.messageId })),
    totals,
  };
}

interface HandOn {
  record: QueueRecord;
  event: NoticeEvent;
  /** what the log says about it */
  why: Record<string, unknown>;
}

/**
 * Emails this receive newly recorded as sent. Only these count as progress: finding records
 * that are already sent does not (a message would otherwise be handed on for ever in an SES
 * outage), and neither does an email sent twice (its record was written by someone else).
 */
const madeProgress = (outcome: NotificationOutcome) => outcome.sent - outcome.sentTwice > 0;

/**
 * Puts the events of these messages on the bus again, so that the rule brings each back as a
 * fresh message (receive count 1), and answers the ones the bus did not take: those are failed
 * and come back as before, so nobody is lost either way; only the others are acknowledged.
 * Delivery is at least once, and every consumer expects duplicates (DESIGN.md, "Events on the
 * bus"): the ledger makes the new message send only to whoever has no email yet, and the check
 * is not involved (the token stays marked).
 *
 * Why this ends: an invocation hands anything on only when it recorded at least one more email
 * as sent, and those emails are finite (one per recipient of each event; a record once sent
 * stays sent), so there are finitely many such invocations, each handing on at most a batch.
 * A message read by an invocation that made no progress, or that itself made none while it
 * still has people waiting (an SES outage, an address SES refuses for good), fails as before,
 * and reaches the dead-letter queue, with its alarm, after `maxReceiveCount` receives.
 */
async function handOn(messages: HandOn[], deps: QueueBatchDependencies): Promise<HandOn[]> {
  const { publisher } = deps;
  if (messages.length === 0 || !publisher) return messages;
  // Each event goes back as what it was: an expired token as `Instagram Token Expired`, a
  // warning as `Instagram Token Expiring`, a reminder as `Instagram Token Reminder`.
  const expired: TokenExpiredDetail[] = [];
  const expiring: TokenExpiringDetail[] = [];
  const reminders: TokenReminderDetail[] = [];
  for (const { event } of messages) {
    if (event.kind === 'expired') expired.push(event.detail);
    else if (event.kind === 'expiring') expiring.push(event.detail);
    else if (event.kind === 'reminder') reminders.push(event.detail);
  }
  const [expiredOutcome, expiringOutcome, reminderOutcome] = await Promise.all([
    publishEach(expired, (details) => publisher.publishTokenExpired(details)),
    publishEach(expiring, (details) => publisher.publishTokenExpiring(details)),
    publishEach(reminders, (details) => publisher.publishTokenReminder(details)),
  ]);
  const outcomeOf = {
    expired: expiredOutcome,
    expiring: expiringOutcome,
    reminder: reminderOutcome,
    // never handed on (see above)
    reconnected: { accepted: [], problem: 'not handed on' },
  } satisfies Record<NoticeEvent['kind'], unknown>;
  const accepted = new Set<object>([
    ...expiredOutcome.accepted,
    ...expiringOutcome.accepted,
    ...reminderOutcome.accepted,
  ]);
  const notTaken = messages.filter((message) => !accepted.has(message.event.detail));
  for (const message of messages) {
    if (accepted.has(message.event.detail)) {
      deps.log.info('Handed the recipients still waiting on, as a fresh event', message.why);
    } else {
      deps.log.warn('Could not hand the recipients still waiting on; the event will be retried', {
        ...message.why,
        error: outcomeOf[message.event.kind].problem,
      });
    }
  }
  return notTaken;
}

/** The details of one detail type the bus took, and what went wrong with the rest. */
async function publishEach<Detail>(
  details: Detail[],
  publish: (details: Detail[]) => Promise<PublishOutcome<Detail>>,
): Promise<{ accepted: Detail[]; problem: string }> {
  if (details.length === 0) return { accepted: [], problem: 'not accepted' };
  try {
    const published = await publish(details);
    return {
      accepted: published.accepted,
      problem: published.rejected[0]?.errorCode ?? 'not accepted',
    };
  } catch (error) {
    return { accepted: [], problem: errorName(error) };
  }
}

function parseEnvelope(
  body: string,
): { success: true; event: NoticeEvent } | { success: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { success: false, problems: ['body is not JSON'] };
  }
  // The envelope its detail type names; anything else is read as an expired-token event, so
  // its problems say what such an event lacks, as before warnings and reminders existed.
  const detailType = (json as Record<string, unknown> | null)?.['detail-type'];
  if (detailType === detailTypes.tokenRefreshed) {
    const parsed = tokenRefreshedEnvelope.safeParse(json);
    if (parsed.success) {
      return { success: true, event: { kind: 'reconnected', detail: parsed.data.detail } };
    }
    return { success: false, problems: problemsOf(parsed.error.issues) };
  }
  if (detailType === detailTypes.tokenReminder) {
    const parsed = tokenReminderEnvelope.safeParse(json);
    if (parsed.success) {
      return { success: true, event: { kind: 'reminder', detail: parsed.data.detail } };
    }
    return { success: false, problems: problemsOf(parsed.error.issues) };
  }
  if (detailType === detailTypes.tokenExpiring) {
    const parsed = tokenExpiringEnvelope.safeParse(json);
    if (parsed.success) {
      return { success: true, event: { kind: 'expiring', detail: parsed.data.detail } };
    }
    return { success: false, problems: problemsOf(parsed.error.issues) };
  }
  const parsed = tokenExpiredEnvelope.safeParse(json);
  if (parsed.success) {
    return { success: true, event: { kind: 'expired', detail: parsed.data.detail } };
  }
  return { success: false, problems: problemsOf(parsed.error.issues) };
}

export function problemsOf(issues: readonly z.core.$ZodIssue[]): string[] {
  // Paths and messages only: never the values themselves, nor the names of unknown fields (a
  // record may carry thousands, or anything at all), and a few problems at most, so a log line
  // never grows with the record.
  const problems = issues.slice(0, maxListedProblems).map((issue) => {
    const message =
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.length} unknown field(s)`
        : issue.message.slice(0, 120);
    return `${issue.path.slice(0, 5).join('.').slice(0, 120)}: ${message}`;
  });
  const more = issues.length - problems.length;
  return more > 0 ? [...problems, `and ${more} more`] : problems;
}

const maxListedProblems = 5;
