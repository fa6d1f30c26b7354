/**
 * The check: every token that became due since the look-back is published as one
 * `Instagram Token Expired` event and then marked expired, in that order; every token that
 * reached a warning step unrefreshed is published as `Instagram Token Expiring` and then filed
 * at its next step. Moving on only after the bus accepted the event means a crash in between
 * never loses an announcement: the token is still due on the next run and is published again,
 * which the notifier absorbs (it is idempotent).
 */
import type { DueToken, DueTokenSchedule, DueWarning } from './due-tokens';
import { maxEntriesPerCall } from '#platform/eventbridge';
import type { TokenExpiredPublisher, TokenExpiringPublisher } from './event-publisher';
import { errorName, type LogSink } from '#platform/observability';
import type { TokenExpiredDetail, TokenExpiringDetail } from './events';

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
  /** warnings due: published, then filed at the next step (the counts above are losses only) */
  warnings: {
    due: number;
    published: number;
    filed: number;
    changedMeanwhile: number;
    failed: number;
  };
}

export interface ExpiryCheckDependencies {
  store: DueTokenSchedule;
  publisher: TokenExpiredPublisher & TokenExpiringPublisher;
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
    warnings: { due: 0, published: 0, filed: 0, changedMeanwhile: 0, failed: 0 },
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

  /** Publishes up to ten warnings, then files each the bus accepted at its next step. */
  async function publishThenFileWarnings(details: TokenExpiringDetail[]) {
    const outcome = await deps.publisher.publishTokenExpiring(details);
    summary.warnings.published += outcome.accepted.length;
    summary.warnings.failed += outcome.rejected.length;
    for (const rejected of outcome.rejected) {
      noteFailure(rejected.detail.accountId);
      deps.log.warn('The bus did not accept a token-expiring event; it stays due', {
        accountId: rejected.detail.accountId,
        generation: rejected.detail.generation,
        errorCode: rejected.errorCode,
      });
    }
    for (const detail of outcome.accepted) {
      while (marking.size >= maxEntriesPerCall) await Promise.race(marking);
      const file: Promise<void> = fileWarned(detail).finally(() => marking.delete(file));
      marking.add(file);
    }
  }

  /** Never rejects, as markExpired: the next run republishes a warning it could not file. */
  async function fileWarned(warning: DueWarning): Promise<void> {
    try {
      if (await deps.store.markWarned(warning, deps.clock())) summary.warnings.filed += 1;
      else summary.warnings.changedMeanwhile += 1;
    } catch (error) {
      summary.markFailed += 1;
      noteFailure(warning.accountId);
      deps.log.error('Published a warning, but could not file the next step; it is republished', {
        accountId: warning.accountId,
        generation: warning.generation,
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
  const warnings: TokenExpiringDetail[] = [];
  try {
    for await (const page of deps.store.dueTokens(deps.clock(), deps.lookbackDays)) {
      for (const entry of page) {
        if (entry.kind === 'warning') warnings.push(warningOf(entry));
        else buffer.push(detailOf(entry));
      }
      summary.due += page.filter((entry) => entry.kind === 'lost').length;
      summary.warnings.due += page.filter((entry) => entry.kind === 'warning').length;
      while (buffer.length >= maxEntriesPerCall) {
        await publishThenMark(buffer.splice(0, maxEntriesPerCall));
      }
      while (warnings.length >= maxEntriesPerCall) {
        await publishThenFileWarnings(warnings.splice(0, maxEntriesPerCall));
      }
    }
    if (buffer.length > 0) await publishThenMark(buffer);
    if (warnings.length > 0) await publishThenFileWarnings(warnings);
  } finally {
    // Never finish, or fail, with marks still in flight.
    await Promise.all(marking);
  }

  deps.log.info('Expiry check finished', { summary });
  return summary;
}

const warningOf = (warning: DueWarning): TokenExpiringDetail => ({
  accountId: warning.accountId,
  generation: warning.generation,
  expiresAt: warning.expiresAt,
  daysLeft: warning.daysLeft,
});

const detailOf = (token: DueToken): TokenExpiredDetail => ({
  accountId: token.accountId,
  generation: token.generation,
  expiresAt: token.expiresAt,
  reason: token.reason,
  cause: token.cause,
});
