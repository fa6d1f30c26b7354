/**
 * The storm guard's settings from the environment (`STORM_MIN_TOKENS`, `STORM_SHARE`: the
 * `stormMinTokens` and `stormShare` context of the stack), and the guard built on them, for the
 * functions where trouble happens (the refresher, Meta's deauthorize callback).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { now } from '#platform/clock';
import { envInteger } from '#platform/config';
import { metrics, MetricUnit } from '#platform/metrics';
import type { LogSink } from '#platform/observability';
import { schema } from '#platform/schemas';
import * as z from '#platform/validation';
import {
  defaultStormSettings,
  noteTrouble,
  type StormSettings,
  type TroubleVerdict,
} from './storm-guard';
import { createStormStore, type StormStore } from './storm-store';

export const stormEnvironment = /* @__PURE__ */ schema(() => ({
  STORM_MIN_TOKENS: envInteger(defaultStormSettings.minTokens, { min: 1 }),
  STORM_SHARE: z._default(z.coerce.number().check(z.gte(0), z.lte(1)), defaultStormSettings.share),
}));

export const stormSettingsFrom = (config: {
  STORM_MIN_TOKENS: number;
  STORM_SHARE: number;
}): StormSettings => ({ minTokens: config.STORM_MIN_TOKENS, share: config.STORM_SHARE });

export interface StormGuard {
  store: StormStore;
  /** whether a storm is on now (read consistently: a declaration is seen at once) */
  stormOn(): Promise<boolean>;
  noteTrouble(causes: Record<string, number>): Promise<TroubleVerdict>;
}

export function createStormGuard(
  db: DynamoDBDocumentClient,
  tableName: string,
  settings: StormSettings,
  log: LogSink,
): StormGuard {
  const store = createStormStore(db, tableName);
  return {
    store,
    stormOn: async () => (await store.getStormState()).status === 'storm',
    async noteTrouble(causes) {
      const verdict = await noteTrouble({ store, settings, clock: now, log }, causes);
      if (verdict === 'declared') {
        // The storm alarm's first datapoint; flushed at once, whatever the function does next.
        metrics.addMetric('StormsDeclared', MetricUnit.Count, 1);
        metrics.publishStoredMetrics();
      }
      return verdict;
    },
  };
}
