/**
 * auto-refresh-token: reads the refresh job's requests from the refresh queue and refreshes each
 * token with Instagram at the fleet's pace (see #tokens/auto-refresh). Answers with partial batch
 * responses: a request that failed for an unexpected reason comes back alone, and one that is
 * not a request at all (a poison message) ends in the dead-letter queue after its receives.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { documentClient } from '#platform/dynamodb';
import { readConfig } from '#platform/config';
import { metrics, MetricUnit } from '#platform/metrics';
import { errorName, logger } from '#platform/observability';
import { createRateSlots } from '#platform/rate-slots';
import { positiveInteger } from '#platform/schemas';
import * as z from '#platform/validation';
import { keys } from '#storage/keys';
import { accountId } from '#tokens/account';
import { refreshAutomatically, type AutoRefreshOutcome } from '#tokens/auto-refresh';
import { createRefreshSchedule } from '#tokens/refresh-schedule';
import { tokenFlowDependencies } from '#tokens/wiring';
import { createStormGuard, stormEnvironment, stormSettingsFrom } from '#storm/wiring';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: z.string(),
  INSTAGRAM_MAX_REFRESH_RATE: z._default(z.coerce.number().check(z.positive(), z.lte(200)), 5),
  ...stormEnvironment,
} satisfies Partial<ConfigShapeOf<'auto-refresh-token'>>);

const db = documentClient();
const flow = tokenFlowDependencies();
const storm = createStormGuard(db, config.TABLE_NAME, stormSettingsFrom(config), logger);
/** Read once per batch: a storm declared meanwhile stops the next batch, at most five calls on. */
let pausedThisBatch: Promise<boolean> | undefined;
const deps = {
  ...flow,
  store: { ...flow.store, ...createRefreshSchedule(db, config.TABLE_NAME) },
  pace: createRateSlots({
    db,
    tableName: config.TABLE_NAME,
    key: keys.refreshPace(),
    perSecond: config.INSTAGRAM_MAX_REFRESH_RATE,
  }),
  log: logger,
  storm: {
    paused: () => (pausedThisBatch ??= storm.stormOn()),
    noteTrouble: (causes: Record<string, number>) => storm.noteTrouble(causes),
  },
};

const refreshRequest = z.strictObject({ accountId, generation: positiveInteger() });

/** Metric names per outcome, counted once per batch. */
const outcomeMetric: Record<AutoRefreshOutcome, string> = {
  paused: 'RefreshesPausedByStorm',
  refreshed: 'TokensRefreshed',
  'not-due': 'RefreshRequestsNotDue',
  'too-young': 'RefreshRequestsTooYoung',
  busy: 'RefreshRequestsBusy',
  rejected: 'TokensRejectedOnRefresh',
  'retry-later': 'RefreshesRetriedLater',
  'given-up': 'RefreshesGivenUp',
};

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  if (context) logger.addContext(context);
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  const counts = new Map<AutoRefreshOutcome, number>();
  pausedThisBatch = undefined;
  try {
    // One at a time: the pace spaces the calls anyway, and a slot is only taken when it is used.
    for (const record of event.Records) {
      let body: unknown;
      try {
        body = JSON.parse(record.body);
      } catch {
        body = undefined;
      }
      const request = refreshRequest.safeParse(body);
      if (!request.success) {
        logger.error('Not a refresh request; it goes back, and to the dead-letter queue', {
          messageId: record.messageId,
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        const outcome = await refreshAutomatically(deps, request.data);
        counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      } catch (error) {
        logger.error('Automatic refresh failed; the request comes back', {
          accountId: request.data.accountId,
          error: errorName(error),
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  } finally {
    for (const [outcome, count] of counts) {
      metrics.addMetric(outcomeMetric[outcome], MetricUnit.Count, count);
    }
    metrics.addMetric('RefreshRequestsFailed', MetricUnit.Count, batchItemFailures.length);
    metrics.publishStoredMetrics();
  }
};
