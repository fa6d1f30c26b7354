/**
 * The refresh job: reads the tokens due for refresh (refresh-schedule.ts) and hands each to the
 * refresher through its queue, so one token's failure never holds back another's and a poison
 * message ends alone in the dead-letter queue. It queues no more than the refresher can do at
 * the fleet's pace before the next run (`maxPerRun`): a backlog (an import, an outage) stays in
 * the index, earliest first, instead of piling up in the queue as duplicates. Nothing is
 * written: a queued token is still due until the refresher moves it on, so a lost message costs
 * a run's delay, never a token.
 */
import type { LogSink } from '#platform/observability';
import type { QueueSender } from '#platform/sqs';
import type { RefreshRequest, RefreshSchedule } from './refresh-schedule';

export interface RefreshRunSummary {
  /** tokens found due for refresh (at most `maxPerRun`) */
  due: number;
  /** requests the queue took */
  queued: number;
  /** requests the queue did not take: still due, queued by the next run */
  failed: number;
  /** whether more were due than one run queues (the rest wait for the next run) */
  backlog: boolean;
  /** a storm is on (storm/storm-guard.ts): nothing was read or queued */
  paused: boolean;
}

export interface RefreshRunDependencies {
  schedule: Pick<RefreshSchedule, 'tokensDueForRefresh'>;
  queue: QueueSender<RefreshRequest>;
  clock: () => Date;
  lookbackDays: number;
  maxPerRun: number;
  log: LogSink;
  /** whether a storm pauses the automatic refresh. @default never */
  paused?: () => Promise<boolean>;
}

export async function runRefreshJob(deps: RefreshRunDependencies): Promise<RefreshRunSummary> {
  const summary: RefreshRunSummary = {
    due: 0,
    queued: 0,
    failed: 0,
    backlog: false,
    paused: false,
  };
  if (await deps.paused?.()) {
    // The tokens stay due, earliest first: the first run after the storm queues them.
    deps.log.warn('A storm is on: the automatic refresh is paused', {});
    return { ...summary, paused: true };
  }
  const send = async (requests: RefreshRequest[]) => {
    const outcome = await deps.queue.send(requests);
    summary.queued += outcome.sent.length;
    summary.failed += outcome.failed.length;
    for (const failed of outcome.failed) {
      deps.log.warn('The refresh queue did not take a request; the token stays due', {
        accountId: failed.message.accountId,
        errorCode: failed.errorCode,
      });
    }
  };

  let pending: RefreshRequest[] = [];
  for await (const page of deps.schedule.tokensDueForRefresh(deps.clock(), deps.lookbackDays)) {
    for (const request of page) {
      if (summary.due >= deps.maxPerRun) {
        summary.backlog = true;
        break;
      }
      summary.due += 1;
      pending.push(request);
      if (pending.length === 10) {
        await send(pending);
        pending = [];
      }
    }
    if (summary.backlog) break;
  }
  if (pending.length > 0) await send(pending);
  deps.log.info('Refresh job finished', { summary });
  return summary;
}

/** A request as its message carries it: the account and generation, nothing else. */
export const refreshRequestBody = (request: RefreshRequest): string =>
  JSON.stringify({ accountId: request.accountId, generation: request.generation });
