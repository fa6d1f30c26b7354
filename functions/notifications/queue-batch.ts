/**
 * The notifier's queue adapter: one SQS batch, one message after the other (the pacer sets the
 * speed anyway). Every message stands alone: a poison message or a failed send fails only its
 * own record (a partial batch response), which SQS delivers again and, after the last receive,
 * moves to the dead-letter queue.
 *
 * Powertools' batch utility was weighed and not used: it has no notion of "out of time, give the
 * rest back unread" or of counting a poison message once, on its first receive, both of which
 * this loop needs, and it would add to every notifier's bundle and cold start for a loop this
 * short.
 */
import { tokenExpiredEnvelope, type TokenExpiredDetail } from '#tokens/events';
import {
  noEmails,
  notifyExpiredToken,
  OutOfTimeError,
  type EmailCounts,
  type NotifierDependencies,
} from './notify';
import { errorName } from './send-once';

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
  };
}

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
