/**
 * notify-expired-token: reads `Instagram Token Expired`, `Instagram Token Expiring` and
 * `Instagram Token Reminder` events from the queue and emails the owner and the opted-in
 * developers: that the token was lost, a warning that it is about to expire, or a reminder that
 * it is still lost (see #notifications/notify); and `Instagram Token Refreshed` by a reconnect
 * link, which tells the link's creator that the client reconnected (#notifications/reconnected). Answers with partial batch
 * responses, so only the records that need another try come back; a record that made progress
 * but still has people waiting is handed on through the bus instead (#notifications/queue-batch).
 */
import { now } from '#platform/clock';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from '#platform/validation';
import { documentClient } from '#platform/dynamodb';
import { readSecret } from '#platform/secrets';
import { envInteger, envString, readConfig } from '#platform/config';
import type { ConfigShapeOf } from './environment/variables';
import { createEmailRenderer } from '#notifications/emails';
import { mailEnvironment, pacedMailer } from '#notifications/mail-wiring';
import { notifyFromQueue } from '#notifications/queue-batch';
import { metrics, MetricUnit } from '#platform/metrics';
import { logger } from '#platform/observability';
import { createSendOnceLedger } from '#notifications/ledger';
import { createNoticeClaims } from '#notifications/notice-claim';
import { createNoticeReads } from '#notifications/notice-reads';
import { createWaitingNoticeStore } from '#notifications/waiting-notices';
import { createStormStore } from '#storm/storm-store';
import { createProfileRepository } from '#people/profiles';
import { createSuppressionStore } from '#people/suppression-store';
import { createAccountRepository } from '#tokens/accounts';
import { createReconnectLinkStore } from '#tokens/reconnect-link-store';
import {
  createEventPublisher,
  type TokenExpiredPublisher,
  type TokenExpiringPublisher,
  type TokenReminderPublisher,
} from '#tokens/event-publisher';

const config = readConfig({
  TABLE_NAME: envString(),
  ...mailEnvironment,
  NOTIFICATION_LEASE_SECONDS: envInteger(120, { min: 1 }),
  /**
   * The bus the events come from: the remainder of an event that made progress is handed on
   * there. Without it (tests that do not route events) such an event is retried whole.
   */
  EVENT_BUS_NAME: z.optional(envString()),
  /** a recipient's digest window (notifications/digest.ts); 0 sends every notice at once */
  DIGEST_WINDOW_MINUTES: envInteger(60, { min: 0, max: 1440 }),
} satisfies ConfigShapeOf<'notify-expired-token'>);

const db = documentClient();
const links = createReconnectLinkStore(db, config.TABLE_NAME);
const suppression = createSuppressionStore(db, config.TABLE_NAME);
const store = {
  // Most announcements need only these: three reads, then a claim and a completion per email.
  ...createNoticeReads(db, config.TABLE_NAME),
  ...createNoticeClaims(db, config.TABLE_NAME),
  // The step-by-step path's (a storm, a retry, a window open), and the answer to a reconnect.
  ...createAccountRepository(db, config.TABLE_NAME),
  ...createProfileRepository(db, config.TABLE_NAME),
  // Whether SES reported a recipient's address: such an address gets no email.
  emailStatusesOf: (addresses: readonly string[]) => suppression.emailStatusesOf(addresses),
  ...createSendOnceLedger(db, config.TABLE_NAME),
  // Only to read a used link's creator: the notifier never changes a link.
  getReconnectLink: (accountId: string, linkId: string) =>
    links.getReconnectLink(accountId, linkId),
};
const renderer = createEmailRenderer();
// Whether each notice goes at once, waits for a digest or is held in a storm, decided per
// recipient just before the send (the storm state is one read, consistent).
const stormStore = createStormStore(db, config.TABLE_NAME);
const notices = {
  store: {
    ...createWaitingNoticeStore(db, config.TABLE_NAME),
    getStormState: () => stormStore.getStormState(),
  },
  windowMinutes: config.DIGEST_WINDOW_MINUTES,
};
const mailer = pacedMailer(config);
// Made on first use: most invocations hand nothing on, and an SDK client made at load is paid
// by every cold start.
const busName = config.EVENT_BUS_NAME;
type HandOnPublisher = TokenExpiredPublisher & TokenExpiringPublisher & TokenReminderPublisher;
let handOnPublisher: HandOnPublisher | undefined;
const publisher: HandOnPublisher | undefined = busName
  ? {
      publishTokenExpired: (details) =>
        (handOnPublisher ??= createEventPublisher({ busName })).publishTokenExpired(details),
      publishTokenExpiring: (details) =>
        (handOnPublisher ??= createEventPublisher({ busName })).publishTokenExpiring(details),
      publishTokenReminder: (details) =>
        (handOnPublisher ??= createEventPublisher({ busName })).publishTokenReminder(details),
    }
  : undefined;

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  // Each line says which function and request spoke, as the routes' do.
  if (context) logger.addContext(context);
  try {
    const result = await notifyFromQueue(event.Records, {
      store,
      mailer,
      renderer,
      appUrl: config.APP_URL,
      unsubscribeUrl: config.UNSUBSCRIBE_URL,
      unsubscribeKey: () => readSecret(config.UNSUBSCRIBE_KEY_SECRET_ID),
      clock: now,
      leaseSeconds: config.NOTIFICATION_LEASE_SECONDS,
      log: logger,
      remainingMs: context ? () => context.getRemainingTimeInMillis() : undefined,
      publisher,
      notices,
    });
    const { totals } = result;
    // The warnings and reminders are counted with the expired-token emails: the same people, the
    // same ledger, the same failures to watch (the metric names are older than the warnings).
    metrics.addMetric('ExpiredTokenEmailsSent', MetricUnit.Count, totals.sent);
    metrics.addMetric('ExpiredTokenEmailsFailed', MetricUnit.Count, totals.failed);
    metrics.addMetric('ExpiredTokenEmailsAlreadySent', MetricUnit.Count, totals.alreadySent);
    metrics.addMetric('PoisonMessages', MetricUnit.Count, totals.poison);
    // Should stay 0: an email sent after its claim's lease ran out, and sent again by the
    // delivery that took over. A lease shorter than a send can take shows here first.
    metrics.addMetric('ExpiredTokenEmailsSentTwice', MetricUnit.Count, totals.sentTwice);
    // Events a retry cannot help (account deleted, token replaced or active again, for a lost
    // token and its reminders alike; a warning for a token already lost or past its expiry): acknowledged and dropped, and counted here so
    // that a surge of them is seen.
    metrics.addMetric('StaleExpiredTokenEvents', MetricUnit.Count, totals.stale);
    // Events that sent what they could in one invocation and went back on the bus for the
    // people still waiting: routine for a large recipient set or while SES throttles; a
    // steady stream of them means the notifier's timeout or the SES rate is too small.
    metrics.addMetric('NotificationsHandedOn', MetricUnit.Count, totals.handedOn);
    // Notices written down for a recipient's digest, and held in a storm.
    metrics.addMetric('NoticesWaitingForDigest', MetricUnit.Count, totals.waiting);
    metrics.addMetric('NoticesHeldByStorm', MetricUnit.Count, totals.held);
    // Recipients whose address SES reported as bounced or complained: no email, recorded.
    metrics.addMetric('EmailsSuppressed', MetricUnit.Count, totals.suppressed);
    logger.info('Notification batch finished', {
      totals,
      retried: result.batchItemFailures.length,
    });
    return { batchItemFailures: result.batchItemFailures };
  } finally {
    metrics.publishStoredMetrics();
  }
};
