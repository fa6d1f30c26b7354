/**
 * check-expired-tokens: run by the EventBridge Scheduler schedule. Publishes one event per
 * token that became due and marks it expired, and one per warning or reminder due (see
 * #tokens/expiry-check); returns the summary,
 * which the local stack's /_local/run-check answers with.
 */
import type { Context } from 'aws-lambda';
import { createEventPublisher } from '#tokens/event-publisher';
import { documentClient } from '#platform/dynamodb';
import { envInteger, envString, readConfig } from '#platform/config';
import type { ConfigShapeOf } from './environment/variables';
import { runExpiryCheck, type ExpiryCheckSummary } from '#tokens/expiry-check';
import { metrics, MetricUnit } from '#platform/metrics';
import { logger } from '#platform/observability';
import { createDueTokenSchedule } from '#tokens/due-tokens';
import { now } from '#platform/clock';
import {
  reminderEnvironment,
  reminderStepsFrom,
  tokenScheduleEnvironment,
  tokenScheduleFrom,
} from '#tokens/token-schedule';

const config = readConfig({
  TABLE_NAME: envString(),
  EVENT_BUS_NAME: envString(),
  // At least yesterday: a token due at 23:55 must still be read by the 00:05 run.
  CHECK_LOOKBACK_DAYS: envInteger(7, { min: 1, max: 60 }),
  ...tokenScheduleEnvironment,
  ...reminderEnvironment,
} satisfies ConfigShapeOf<'check-expired-tokens'>);

const store = createDueTokenSchedule(
  documentClient(),
  config.TABLE_NAME,
  tokenScheduleFrom(config),
  reminderStepsFrom(config),
);
const publisher = createEventPublisher({ busName: config.EVENT_BUS_NAME });

export const handler = async (_event?: unknown, context?: Context): Promise<ExpiryCheckSummary> => {
  // Each line says which function and request spoke, as the routes' do.
  if (context) logger.addContext(context);
  try {
    const summary = await runExpiryCheck({
      store,
      publisher,
      clock: now,
      lookbackDays: config.CHECK_LOOKBACK_DAYS,
      log: logger,
    });
    metrics.addMetric('DueTokens', MetricUnit.Count, summary.due);
    metrics.addMetric('ExpiredEventsPublished', MetricUnit.Count, summary.published);
    metrics.addMetric('ExpiredEventsFailed', MetricUnit.Count, summary.failed);
    metrics.addMetric('TokensMarkedExpired', MetricUnit.Count, summary.marked);
    metrics.addMetric('TokenMarksFailed', MetricUnit.Count, summary.markFailed);
    metrics.addMetric('ExpiringEventsPublished', MetricUnit.Count, summary.warnings.published);
    metrics.addMetric('ExpiringEventsFailed', MetricUnit.Count, summary.warnings.failed);
    metrics.addMetric('ReminderEventsPublished', MetricUnit.Count, summary.reminders.published);
    metrics.addMetric('ReminderEventsFailed', MetricUnit.Count, summary.reminders.failed);
    return summary;
  } finally {
    metrics.publishStoredMetrics();
  }
};
