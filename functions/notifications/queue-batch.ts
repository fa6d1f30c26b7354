/**
 * The notifier's queue adapter: one SQS batch, one message after the other (the pacer sets the
 * speed anyway). Every message stands alone: a poison message or a failed send fails only its
 * own record (a partial batch response), which SQS delivers again and, after the last receive,
 * moves to the dead-letter queue.
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
import type { TokenExpiredPublisher } from '#tokens/event-publisher';
import { errorName } from '#platform/observability';
import { tokenExpiredEnvelope, type TokenExpiredDetail } from '#tokens/events';
import {
  noEmails,
  notifyExpiredToken,
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
   * The bus the expired-token events come from, to hand a message's remainder on as a fresh
   * event. Without it such a message is failed and received again, as a message that made no
   * progress is.
   */
  publisher?: TokenExpiredPublisher;
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
      deps.log.warn('Queue message is not a token-expired event; it will end in the DLQ', {
        messageId: record.messageId,
        receiveCount,
        problems: envelope.problems,
      });
      fail();
      continue;
    }
    const context = {
      messageId: record.messageId,
      accountId: envelope.detail.accountId,
      generation: envelope.detail.generation,
    };
    if (outOfTime) {
      unread.push({ record, detail: envelope.detail, why: { ...context, unread: true } });
      continue;
    }
    let outcome: NotificationOutcome;
    try {
      outcome = await notifyExpiredToken(envelope.detail, deps);
    } catch (error) {
      deps.log.error('Could not handle the token-expired event; it will be retried', {
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
    if (madeProgress(outcome) && deps.publisher) {
      toHandOn.push({ record, detail: envelope.detail, why });
      continue;
    }
    if (outcome.status === 'out-of-time') {
      deps.log.warn('Out of time before every recipient was sent; the event will be retried', why);
    }
    fail();
  }

  // Time spent on another event's progress is not this event's failure either.
  if (progressed && deps.publisher) toHandOn.push(...unread);
  else for (const { record } of unread) failed.add(record.messageId);
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
  detail: TokenExpiredDetail;
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
  if (messages.length === 0 || !deps.publisher) return messages;
  let accepted: Set<TokenExpiredDetail>;
  let problem: string;
  try {
    const published = await deps.publisher.publishTokenExpired(
      messages.map((message) => message.detail),
    );
    accepted = new Set(published.accepted);
    problem = published.rejected[0]?.errorCode ?? 'not accepted';
  } catch (error) {
    accepted = new Set();
    problem = errorName(error);
  }
  const notTaken = messages.filter((message) => !accepted.has(message.detail));
  for (const message of messages) {
    if (accepted.has(message.detail)) {
      deps.log.info('Handed the recipients still waiting on, as a fresh event', message.why);
    } else {
      deps.log.warn('Could not hand the recipients still waiting on; the event will be retried', {
        ...message.why,
        error: problem,
      });
    }
  }
  return notTaken;
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
