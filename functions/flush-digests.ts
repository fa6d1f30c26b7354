/**
 * flush-digests: run by its EventBridge Scheduler schedule (every 5 minutes). Sends every
 * recipient whose digest window ended their waiting notices in one email, and, once a storm was
 * released, the notices it held (#notifications/digest-flush). While a storm is on it sends
 * nothing, and reports the storm to the operators again every hour (#storm/storm-guard).
 */
import type { Context } from 'aws-lambda';
import { now } from '#platform/clock';
import { envInteger, envString, readConfig } from '#platform/config';
import { documentClient } from '#platform/dynamodb';
import { metrics, MetricUnit } from '#platform/metrics';
import { logger } from '#platform/observability';
import { readSecret } from '#platform/secrets';
import { createProfileRepository } from '#people/profiles';
import { createSuppressionStore } from '#people/suppression-store';
import { flushDigests } from '#notifications/digest-flush';
import { createEmailRenderer } from '#notifications/emails';
import { mailEnvironment, pacedMailer } from '#notifications/mail-wiring';
import { createPreferencesRepository } from '#notifications/preferences-store';
import { createWaitingNoticeStore } from '#notifications/waiting-notices';
import { stormReportDue, stormSummary } from '#storm/storm-guard';
import { createStormStore } from '#storm/storm-store';
import { createAccountRepository } from '#tokens/accounts';
import { createDeveloperRoleRepository } from '#tokens/developer-roles';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
  ...mailEnvironment,
  NOTIFICATION_LEASE_SECONDS: envInteger(240, { min: 1 }),
  DIGEST_WINDOW_MINUTES: envInteger(60, { min: 0, max: 1440 }),
  DIGEST_LOOKBACK_DAYS: envInteger(7, { min: 1, max: 60 }),
} satisfies ConfigShapeOf<'flush-digests'>);

const db = documentClient();
const storm = createStormStore(db, config.TABLE_NAME);
const suppression = createSuppressionStore(db, config.TABLE_NAME);
const store = {
  ...createWaitingNoticeStore(db, config.TABLE_NAME),
  getStormState: () => storm.getStormState(),
  ...createAccountRepository(db, config.TABLE_NAME),
  ...createDeveloperRoleRepository(db, config.TABLE_NAME),
  ...createPreferencesRepository(db, config.TABLE_NAME),
  ...createProfileRepository(db, config.TABLE_NAME),
  // Whether SES reported a recipient's address: their notices then go in no email.
  emailStatusesOf: (addresses: readonly string[]) => suppression.emailStatusesOf(addresses),
};
// One share of the SES rate, as each notifier takes.
const mailer = pacedMailer(config);
const renderer = createEmailRenderer();

export const handler = async (_event?: unknown, context?: Context) => {
  if (context) logger.addContext(context);
  try {
    const state = await storm.getStormState();
    const at = now();
    if (stormReportDue(state, at) && state.since) {
      // An alarm fires on this metric; the log line carries the breakdown by cause.
      logger.error('Storm still on: customer emails held, automatic refresh paused', {
        storm: { since: state.since, trouble: state.trouble, summary: stormSummary(state) },
      });
      metrics.addMetric('StormReports', MetricUnit.Count, 1);
      await storm.markStormReported(state.since, at);
    }
    metrics.addMetric('StormOn', MetricUnit.Count, state.status === 'storm' ? 1 : 0);
    const summary = await flushDigests({
      store,
      mailer,
      renderer,
      appUrl: config.APP_URL,
      unsubscribeUrl: config.UNSUBSCRIBE_URL,
      unsubscribeKey: () => readSecret(config.UNSUBSCRIBE_KEY_SECRET_ID),
      clock: now,
      leaseSeconds: config.NOTIFICATION_LEASE_SECONDS,
      windowMinutes: config.DIGEST_WINDOW_MINUTES,
      lookbackDays: config.DIGEST_LOOKBACK_DAYS,
      log: logger,
      remainingMs: context ? () => context.getRemainingTimeInMillis() : undefined,
    });
    metrics.addMetric('DigestEmailsSent', MetricUnit.Count, summary.emails);
    metrics.addMetric('DigestNoticesTold', MetricUnit.Count, summary.told);
    metrics.addMetric('DigestNoticesDropped', MetricUnit.Count, summary.dropped);
    metrics.addMetric('DigestNoticesSuppressed', MetricUnit.Count, summary.suppressed);
    metrics.addMetric('HeldNoticesDiscarded', MetricUnit.Count, summary.discarded);
    metrics.addMetric('DigestEmailsFailed', MetricUnit.Count, summary.failed);
    return summary;
  } finally {
    metrics.publishStoredMetrics();
  }
};
