/**
 * The notifier as Lambda runs it: `count` separate instances of the handler module (each with
 * its own configuration, SES client and pacer, as separate Lambda environments have), fed by the
 * local queue at the event source mapping's maximum concurrency, one batch per instance at a time.
 */
import { eventEnvelope } from '../local/eventbridge';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { detailTypes, eventSource, type TokenExpiredDetail } from '../functions/tokens/events';
import { LocalQueue } from '../local/queue';
import { startSecretsManagerStandIn } from '../local/standins/secrets-manager';
import { itemsWrittenBy, type Item } from './data';

type NotifierHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface NotifierFleet {
  queue: LocalQueue;
  /** Queues the events and resolves once every message was handled. */
  deliver(details: readonly TokenExpiredDetail[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startNotifierFleet(options: {
  tableName: string;
  instances: number;
  sesMaxSendRate: number;
}): Promise<NotifierFleet> {
  const secretId = 'tokenwatch/bench/unsubscribe-key';
  const secrets = await startSecretsManagerStandIn({ [secretId]: 'bench-unsubscribe-key' });
  Object.assign(process.env, {
    TABLE_NAME: options.tableName,
    SENDER_ADDRESS: 'notifications@tokenwatch.bench',
    APP_URL: 'https://app.example.com',
    UNSUBSCRIBE_URL: 'https://api.example.com/unsubscribe',
    UNSUBSCRIBE_KEY_SECRET_ID: secretId,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    SES_MAX_SEND_RATE: String(options.sesMaxSendRate),
    NOTIFY_MAX_CONCURRENCY: String(options.instances),
    NOTIFICATION_LEASE_SECONDS: '120',
  });
  // A query string makes a separate module instance: its own module-scope pacer and SES client.
  const handlers = await Promise.all(
    Array.from(
      { length: options.instances },
      async (_, index) =>
        (
          (await import(`../functions/notify-expired-token.ts?instance=${index}`)) as {
            handler: NotifierHandler;
          }
        ).handler,
    ),
  );
  const idle = [...handlers];
  const queue = new LocalQueue({
    name: 'tokenwatch-bench-notifications',
    maxConcurrency: options.instances,
    functionTimeoutMs: 60_000,
    visibilityTimeoutMs: 360_000,
    pollIntervalMs: 5,
  });
  queue.start(async (event, context) => {
    const handler = idle.pop();
    if (!handler) throw new Error('More batches in flight than notifier instances');
    try {
      return await handler(event, context);
    } finally {
      idle.push(handler);
    }
  });
  return {
    queue,
    async deliver(details) {
      for (const detail of details) queue.send(envelopeOf(detail));
      await queue.drained();
      if (queue.stats.deadLettered > 0) throw new Error('A notification ended in the DLQ');
    },
    async stop() {
      queue.stop();
      await secrets.stop();
    },
  };
}

/** The queue message EventBridge's SQS target delivers for a token-expired event. */
export const envelopeOf = (detail: TokenExpiredDetail) =>
  JSON.stringify(
    eventEnvelope({ detailType: detailTypes.tokenExpired, source: eventSource, detail }),
  );

export interface ExpiredAccounts {
  items: Item[];
  details: TokenExpiredDetail[];
  /** emails the events should cause: owners plus opted-in developers */
  emails: number;
}

/**
 * `count` accounts whose token expired, each with an owner and, for every `developerEvery`-th
 * one, `developersEach` developers (default 1) who opted in: the items the notifier reads, and
 * the events it gets.
 */
export async function expiredAccounts(options: {
  prefix: string;
  count: number;
  developerEvery?: number;
  developersEach?: number;
  now: Date;
}): Promise<ExpiredAccounts> {
  const details: TokenExpiredDetail[] = [];
  let emails = 0;
  const expiresAt = new Date(options.now.getTime() - 3_600_000).toISOString();
  const items = await itemsWrittenBy(async (store) => {
    for (let index = 0; index < options.count; index += 1) {
      const accountId = `${options.prefix}-${index}`;
      const owner = `${accountId}-owner`;
      await store.putProfile({ userId: owner, email: `${owner}@example.com`, name: 'Ann Owner' });
      await store.putAccount(
        {
          accountId,
          ownerUserId: owner,
          username: `bakery.${index}`,
          accessToken: `IGQ-${accountId}`,
          expiresAt,
          tokenStatus: 'expired',
          generation: 1,
        },
        options.now,
      );
      emails += 1;
      const developers =
        options.developerEvery && index % options.developerEvery === 0
          ? (options.developersEach ?? 1)
          : 0;
      for (let n = 0; n < developers; n += 1) {
        const developer = `${accountId}-dev${n === 0 ? '' : String(n)}`;
        await store.putProfile({
          userId: developer,
          email: `${developer}@example.com`,
          name: 'Dev Eloper',
        });
        await store.putDeveloperRole({ accountId, userId: developer }, options.now);
        await store.putPreferences(
          developer,
          { ownerExpiredToken: true, developerExpiredToken: true },
          options.now,
        );
        emails += 1;
      }
      details.push({ accountId, generation: 1, expiresAt, reason: 'expired', cause: 'expired' });
    }
  });
  return { items, details, emails };
}
