/**
 * refresh-due-tokens: run by its EventBridge Scheduler schedule. Queues every token due for
 * refresh for the refresher, at most what the fleet's pace can refresh before the next run (see
 * #tokens/refresh-run); returns the summary, which the local stack's /_local/run-check shows.
 */
import type { Context } from 'aws-lambda';
import { documentClient } from '#platform/dynamodb';
import { envInteger, envString, envUrl, readConfig } from '#platform/config';
import { now } from '#platform/clock';
import { metrics, MetricUnit } from '#platform/metrics';
import { logger } from '#platform/observability';
import { createQueueSender } from '#platform/sqs';
import * as z from '#platform/validation';
import { createRefreshSchedule } from '#tokens/refresh-schedule';
import { refreshRequestBody, runRefreshJob, type RefreshRunSummary } from '#tokens/refresh-run';
import type { ConfigShapeOf } from './environment/variables';
import { createStormStore } from '#storm/storm-store';

const config = readConfig({
  TABLE_NAME: envString(),
  REFRESH_QUEUE_URL: envUrl(),
  // Refreshes filed in the past are filed under the day they were written; a week covers a job
  // that did not run for days (a token it misses is still warned about and announced).
  REFRESH_LOOKBACK_DAYS: envInteger(7, { min: 1, max: 60 }),
  /** calls to Instagram per second for the whole fleet */
  INSTAGRAM_MAX_REFRESH_RATE: z._default(z.coerce.number().check(z.positive(), z.lte(200)), 5),
  /** how often the schedule runs this job */
  REFRESH_INTERVAL_MINUTES: envInteger(60, { min: 1 }),
} satisfies ConfigShapeOf<'refresh-due-tokens'>);

// What the refresher can do at the fleet's pace before the next run, less a tenth for the
// requests that wait on a lease or come back: more would only wait in the queue and be queued
// again by the next run.
const maxPerRun = Math.max(
  1,
  Math.floor(config.INSTAGRAM_MAX_REFRESH_RATE * config.REFRESH_INTERVAL_MINUTES * 60 * 0.9),
);
const schedule = createRefreshSchedule(documentClient(), config.TABLE_NAME);
const storm = createStormStore(documentClient(), config.TABLE_NAME);
const queue = createQueueSender({ queueUrl: config.REFRESH_QUEUE_URL, bodyOf: refreshRequestBody });

export const handler = async (_event?: unknown, context?: Context): Promise<RefreshRunSummary> => {
  if (context) logger.addContext(context);
  try {
    const summary = await runRefreshJob({
      schedule,
      queue,
      clock: now,
      lookbackDays: config.REFRESH_LOOKBACK_DAYS,
      maxPerRun,
      log: logger,
      paused: async () => (await storm.getStormState()).status === 'storm',
    });
    metrics.addMetric('TokensDueForRefresh', MetricUnit.Count, summary.due);
    metrics.addMetric('RefreshRequestsQueued', MetricUnit.Count, summary.queued);
    metrics.addMetric('RefreshRequestsFailed', MetricUnit.Count, summary.failed);
    metrics.addMetric('RefreshPausedByStorm', MetricUnit.Count, summary.paused ? 1 : 0);
    return summary;
  } finally {
    metrics.publishStoredMetrics();
  }
};
