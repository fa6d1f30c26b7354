/**
 * The expiry check: every token that became due since the look-back is published as one
 * `Instagram Token Expired` event and then marked expired, in that order. Marking only after
 * the bus accepted the event means a crash in between never loses an expiry: the token is still
 * due on the next run and is published again, which the notifier absorbs (it is idempotent).
 */
import type { DueToken, DueTokenSchedule } from './due-tokens';
import { maxEntriesPerCall } from '#platform/eventbridge';
import type { TokenExpiredPublisher } from './event-publisher';
import { errorName, type LogSink } from '#platform/observability';
import type { TokenExpiredDetail } from './events';

export interface ExpiryCheckSummary {
  /** tokens found due in the index */
  due: number;
  /** events the bus accepted */
  published: number;
  /** tokens marked expired after their event was accepted */
  marked: number;
  /** published, but the token had changed meanwhile (refreshed, or marked by another run) */
  changedMeanwhile: number;
  /** events the bus did not accept: the tokens stay due and are tried again on the next run */
  failed: number;
  /** published, but marking failed: the next run publishes them again */
  markFailed: number;
  /** account ids whose event was not accepted or whose mark failed, for the log */
  failedAccountIds: string[];
}

export interface ExpiryCheckDependencies {
  store: DueTokenSchedule;
  publisher: TokenExpiredPublisher;
  clock: () => Date;
  lookbackDays: number;
  log: LogSink;
}

const maxListedFailures = 50;

export async function runExpiryCheck(deps: ExpiryCheckDependencies): Promise<ExpiryCheckSummary> {
  const summary: ExpiryCheckSummary = {
    due: 0,
    published: 0,
    marked: 0,
    changedMeanwhile: 0,
    failed: 0,
    markFailed: 0,
    failedAccountIds: [],
  };
  const noteFailure = (accountId: string) => {
    if (summary.failedAccountIds.length < maxListedFailures) {
      summary.failedAccountIds.push(accountId);
    }
  };

  /** Marks in flight: never more than ten, and the next starts as soon as one finishes. */
  const marking = new Set<Promise<void>>();

  /** Publishes up to ten, then starts marking those the bus accepted, as slots free up. */
  async function publishThenMark(details: TokenExpiredDetail[]) {
    const outcome = await deps.publisher.publishTokenExpired(details);
    summary.published += outcome.accepted.length;
    summary.failed += outcome.rejected.length;
    for (const rejected of outcome.rejected) {
      noteFailure(rejected.detail.accountId);
      deps.log.warn('The bus did not accept a token-expired event; it stays due', {
        accountId: rejected.detail.accountId,
        generation: rejected.detail.generation,
        errorCode: rejected.errorCode,
      });
    }

    for (const detail of outcome.accepted) {
      while (marking.size >= maxEntriesPerCall) await Promise.race(marking);
      const mark: Promise<void> = markExpired(detail).finally(() => marking.delete(mark));
      marking.add(mark);
    }
  }

  /** Never rejects: a failed mark is counted and logged, and the next run republishes. */
  async function markExpired(detail: TokenExpiredDetail): Promise<void> {
    try {
      if (await deps.store.markTokenExpired(detail)) summary.marked += 1;
      else summary.changedMeanwhile += 1;
    } catch (error) {
      summary.markFailed += 1;
      noteFailure(detail.accountId);
      deps.log.error('Published, but could not mark the token expired; the next run republishes', {
        accountId: detail.accountId,
        generation: detail.generation,
        error: errorName(error),
      });
    }
  }

  // Tokens come a bucket page at a time; they are published in full calls of ten regardless,
  // and at most ten are being marked at once, so a large page never means hundreds of writes at
  // once. The next ten are read and published while earlier ones are being marked, and a mark
  // starts as soon as another finishes (npm run bench: waiting for the bus, the index and the
  // slowest mark of each ten otherwise added a third to the marks' time); a token is still
  // marked only after the bus accepted its own event.
  const buffer: TokenExpiredDetail[] = [];
  try {
    for await (const page of deps.store.dueTokens(deps.clock(), deps.lookbackDays)) {
      summary.due += page.length;
      buffer.push(...page.map(detailOf));
      while (buffer.length >= maxEntriesPerCall) {
        await publishThenMark(buffer.splice(0, maxEntriesPerCall));
      }
    }
    if (buffer.length > 0) await publishThenMark(buffer);
  } finally {
    // Never finish, or fail, with marks still in flight.
    await Promise.all(marking);
  }

  deps.log.info('Expiry check finished', { summary });
  return summary;
}

const detailOf = (token: DueToken): TokenExpiredDetail => ({
  accountId: token.accountId,
  generation: token.generation,
  expiresAt: token.expiresAt,
  reason: token.reason,
  cause: token.cause,
});
