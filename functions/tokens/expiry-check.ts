/**
 * The check: every token that became due since the look-back is published as one
 * `Instagram Token Expired` event and then marked expired, in that order; every token that
 * reached a warning step unrefreshed is published as `Instagram Token Expiring` and then filed
 * at its next step. Moving on only after the bus accepted the event means a crash in between
 * never loses an announcement: the token is still due on the next run and is published again,
 * which the notifier absorbs (it is idempotent).
 */
import type { DueReminder, DueToken, DueTokenSchedule, DueWarning } from './due-tokens';
import { maxEntriesPerCall, type PublishOutcome } from '#platform/eventbridge';
import type {
  TokenExpiredPublisher,
  TokenExpiringPublisher,
  TokenReminderPublisher,
} from './event-publisher';
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
  /** warnings due: published, then filed at the next step (the counts above are losses only) */
  warnings: StepCounts;
  /** reminders due: published, then filed at the next step (or off the index after the last) */
  reminders: StepCounts;
}

export interface StepCounts {
  due: number;
  published: number;
  filed: number;
  changedMeanwhile: number;
  failed: number;
}

const noSteps = (): StepCounts => ({
  due: 0,
  published: 0,
  filed: 0,
  changedMeanwhile: 0,
  failed: 0,
});

export interface ExpiryCheckDependencies {
  store: DueTokenSchedule;
  publisher: TokenExpiredPublisher & TokenExpiringPublisher & TokenReminderPublisher;
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
    warnings: noSteps(),
    reminders: noSteps(),
  };
  const noteFailure = (accountId: string) => {
    if (summary.failedAccountIds.length < maxListedFailures) {
      summary.failedAccountIds.push(accountId);
    }
  };

  /** Marks in flight: never more than ten, and the next starts as soon as one finishes. */
  const marking = new Set<Promise<void>>();
  const losses: Lane<TokenExpiredDetail> = {
    event: 'token-expired',
    publish: (details) => deps.publisher.publishTokenExpired(details),
    settle: (detail) => deps.store.markTokenExpired(detail, deps.clock()),
    published: (accepted, rejected) => {
      summary.published += accepted;
      summary.failed += rejected;
    },
    settled: (moved) => (moved ? (summary.marked += 1) : (summary.changedMeanwhile += 1)),
    settleFailure: 'Published, but could not mark the token expired; the next run republishes',
  };
  const warned = stepLane<DueWarning>(summary.warnings, {
    event: 'token-expiring',
    publish: (details) => deps.publisher.publishTokenExpiring(details),
    settle: (warning) => deps.store.markWarned(warning, deps.clock()),
    settleFailure: 'Published a warning, but could not file the next step; it is republished',
  });
  const reminded = stepLane<DueReminder>(summary.reminders, {
    event: 'token-reminder',
    // The publisher picks the event's fields itself and answers with these same entries.
    publish: (reminders) => deps.publisher.publishTokenReminder(reminders),
    settle: (reminder) => deps.store.markReminded(reminder, deps.clock()),
    settleFailure: 'Published a reminder, but could not file the next step; it is republished',
  });
  const settleFailed = (accountId: string) => {
    summary.markFailed += 1;
    noteFailure(accountId);
  };
  const publishThenMark = (details: TokenExpiredDetail[]) =>
    publishThenSettle(details, losses, {
      marking,
      log: deps.log,
      failed: noteFailure,
      settleFailed,
    });
  const publishThenFileWarnings = (details: DueWarning[]) =>
    publishThenSettle(details, warned, {
      marking,
      log: deps.log,
      failed: noteFailure,
      settleFailed,
    });
  const publishThenFileReminders = (entries: DueReminder[]) =>
    publishThenSettle(entries, reminded, {
      marking,
      log: deps.log,
      failed: noteFailure,
      settleFailed,
    });

  // Tokens come a bucket page at a time; they are published in full calls of ten regardless,
  // and at most ten are being marked at once, so a large page never means hundreds of writes at
  // once. The next ten are read and published while earlier ones are being marked, and a mark
  // starts as soon as another finishes (npm run bench: waiting for the bus, the index and the
  // slowest mark of each ten otherwise added a third to the marks' time); a token is still
  // marked only after the bus accepted its own event.
  const buffer: TokenExpiredDetail[] = [];
  const warnings: DueWarning[] = [];
  const reminders: DueReminder[] = [];
  try {
    for await (const page of deps.store.dueTokens(deps.clock(), deps.lookbackDays)) {
      for (const entry of page) {
        if (entry.kind === 'warning') warnings.push(entry);
        else if (entry.kind === 'reminder') reminders.push(entry);
        else buffer.push(detailOf(entry));
      }
      summary.due += page.filter((entry) => entry.kind === 'lost').length;
      summary.warnings.due += page.filter((entry) => entry.kind === 'warning').length;
      summary.reminders.due += page.filter((entry) => entry.kind === 'reminder').length;
      while (reminders.length >= maxEntriesPerCall) {
        await publishThenFileReminders(reminders.splice(0, maxEntriesPerCall));
      }
      while (buffer.length >= maxEntriesPerCall) {
        await publishThenMark(buffer.splice(0, maxEntriesPerCall));
      }
      while (warnings.length >= maxEntriesPerCall) {
        await publishThenFileWarnings(warnings.splice(0, maxEntriesPerCall));
      }
    }
    if (buffer.length > 0) await publishThenMark(buffer);
    if (warnings.length > 0) await publishThenFileWarnings(warnings);
    if (reminders.length > 0) await publishThenFileReminders(reminders);
  } finally {
    // Never finish, or fail, with marks still in flight.
    await Promise.all(marking);
  }

  deps.log.info('Expiry check finished', { summary });
  return summary;
}

/** One kind of announcement: how it is published, and how a token moves on once it was. */
interface Lane<Detail> {
  event: string;
  publish(details: Detail[]): Promise<PublishOutcome<Detail>>;
  /** Marks the token announced (or files it at its next step): false when it moved on. */
  settle(detail: Detail): Promise<boolean>;
  published(accepted: number, rejected: number): void;
  settled(moved: boolean): void;
  settleFailure: string;
}

/** A lane of steps (warnings, reminders): published, then filed at the next step. */
function stepLane<Detail>(
  counts: StepCounts,
  lane: Pick<Lane<Detail>, 'event' | 'publish' | 'settle' | 'settleFailure'>,
): Lane<Detail> {
  return {
    ...lane,
    published: (accepted, rejected) => {
      counts.published += accepted;
      counts.failed += rejected;
    },
    settled: (moved) => (moved ? (counts.filed += 1) : (counts.changedMeanwhile += 1)),
  };
}

/**
 * Publishes up to ten, then settles those the bus accepted, at most ten at once, the next as
 * soon as one finishes. A settle never rejects: a failed one is counted and logged, and the
 * token, still due, is published again by the next run.
 */
async function publishThenSettle<Detail extends { accountId: string; generation: number }>(
  details: Detail[],
  lane: Lane<Detail>,
  run: {
    marking: Set<Promise<void>>;
    log: LogSink;
    failed(accountId: string): void;
    settleFailed(accountId: string): void;
  },
): Promise<void> {
  const outcome = await lane.publish(details);
  lane.published(outcome.accepted.length, outcome.rejected.length);
  for (const rejected of outcome.rejected) {
    run.failed(rejected.detail.accountId);
    run.log.warn(`The bus did not accept a ${lane.event} event; it stays due`, {
      accountId: rejected.detail.accountId,
      generation: rejected.detail.generation,
      errorCode: rejected.errorCode,
    });
  }
  const settle = async (detail: Detail) => {
    try {
      lane.settled(await lane.settle(detail));
    } catch (error) {
      run.settleFailed(detail.accountId);
      run.log.error(lane.settleFailure, {
        accountId: detail.accountId,
        generation: detail.generation,
        error: errorName(error),
      });
    }
  };
  for (const detail of outcome.accepted) {
    while (run.marking.size >= maxEntriesPerCall) await Promise.race(run.marking);
    const settling: Promise<void> = settle(detail).finally(() => run.marking.delete(settling));
    run.marking.add(settling);
  }
}

const detailOf = (token: DueToken): TokenExpiredDetail => ({
  accountId: token.accountId,
  generation: token.generation,
  expiresAt: token.expiresAt,
  reason: token.reason,
  cause: token.cause,
});
