/**
 * The deployed shape of tokenwatch in this one process, for the cost benchmark: the real handler
 * modules (the scheduled jobs, the two queue consumers, the service routes and Meta's callback)
 * behind the same stand-ins the local stack uses (Instagram, Secrets Manager, the bus with its
 * rules, the refresh queue's SQS), on DynamoDB Local and the SES emulator the orchestrator
 * started. Every invocation goes through `runAs`, so its time, requests and log lines are its own.
 */
import type { Context, SQSEvent } from 'aws-lambda';
import { now as clockNow } from '../functions/platform/clock';
import { signRequest } from '../functions/platform/meta-signed-request';
import type { EnvironmentFor, FunctionName } from '../functions/environment/variables';
import { linkUsedRulePattern, noticeRulePattern } from '../functions/tokens/events';
import { refresherBatchSize, refresherConcurrency } from '../lib/refresher-sizing';
import { notifierConcurrency } from '../lib/notifications';
import { routes } from '../lib/routes';
import { matchRoute, toApiGatewayEvent } from '../local/api-gateway';
import { startEventBridgeStandIn, type EventEnvelope } from '../local/eventbridge';
import { installInvokeStore, invoke } from '../local/lambda-context';
import { LocalQueue } from '../local/queue';
import { startSqsStandIn } from '../local/sqs';
import { startInstagramStandIn, type InstagramStandIn } from '../local/standins/instagram';
import { startSecretsManagerStandIn } from '../local/standins/secrets-manager';
import { requiredEnv } from './harness';
import { runAs, type Meter } from './cost-meter';

type Handler = (event: never, context: Context) => Promise<unknown>;

/** The deployed default for SES: the notifiers' concurrency follows from it. */
const sesRate = 10;
const app = { appId: '1234567890', appSecret: 'bench-app-secret' };
const busName = 'tokenwatch-cost';

export interface CostSystem {
  instagram: InstagramStandIn;
  /** every event the bus accepted */
  accepted: EventEnvelope[];
  notifications: LocalQueue;
  refreshQueue: LocalQueue;
  /** SQS batches handed to each consumer, and the messages the bus put on the queue */
  batches: Map<string, number>;
  queueSends: Map<string, number>;
  job(name: 'check-expired-tokens' | 'refresh-due-tokens' | 'flush-digests'): Promise<unknown>;
  /** One HTTP API request to a route, as API Gateway hands it to its function. */
  api(method: string, path: string, body?: string, form?: boolean): Promise<{ statusCode: number }>;
  /** Meta's deauthorize callback for an Instagram user, signed with the app secret. */
  deauthorize(accountId: string): Promise<{ statusCode: number }>;
  drain(): Promise<void>;
  stop(): Promise<void>;
}

const timeouts: Record<string, number> = {
  'check-expired-tokens': 60_000,
  'refresh-due-tokens': 60_000,
  'flush-digests': 120_000,
};

/** What every handler reads at load, as the stack sets it, pointed at this process's stand-ins. */
function setEnvironment(
  tableName: string,
  endpoints: {
    bus: string;
    sqs: string;
    secrets: string;
    instagram: string;
    authorize: string;
    refreshQueueUrl: string;
    secretIds: { unsubscribeKey: string; instagramApp: string };
  },
): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.bus,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secrets,
    AWS_LAMBDA_MAX_CONCURRENCY: '64',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_SERVICE_NAME: 'tokenwatch',
  });
  const apiUrl = 'https://api.example.com';
  Object.assign(process.env, {
    TABLE_NAME: tableName,
    EVENT_BUS_NAME: busName,
    APP_URL: 'https://app.example.com',
    API_URL: apiUrl,
    UNSUBSCRIBE_URL: `${apiUrl}/unsubscribe`,
    UNSUBSCRIBE_KEY_SECRET_ID: endpoints.secretIds.unsubscribeKey,
    INSTAGRAM_APP_SECRET_ID: endpoints.secretIds.instagramApp,
    INSTAGRAM_GRAPH_URL: endpoints.instagram,
    INSTAGRAM_API_URL: endpoints.instagram,
    INSTAGRAM_AUTHORIZE_URL: endpoints.authorize,
    INSTAGRAM_REDIRECT_URI: `${apiUrl}/instagram-accounts/reconnect`,
    INSTAGRAM_LINK_REDIRECT_URI: `${apiUrl}/reconnect/callback`,
    RECONNECT_LINK_HOURS: '72',
    SENDER_ADDRESS: 'notifications@example.com',
    // Pacing changes when an email leaves, not how many requests it takes: the month runs
    // faster than SES's 10 a second would let it, at the same cost.
    SES_MAX_SEND_RATE: '100000',
    NOTIFY_MAX_CONCURRENCY: String(notifierConcurrency(sesRate)),
    CHECK_LOOKBACK_DAYS: '7',
    REFRESH_QUEUE_URL: endpoints.refreshQueueUrl,
    // The same holds for Instagram's pace: 200 a second is the most the refresher allows.
    INSTAGRAM_MAX_REFRESH_RATE: '200',
    NOTIFICATION_LEASE_SECONDS: '120',
    DIGEST_WINDOW_MINUTES: '60',
    DIGEST_LOOKBACK_DAYS: '7',
    STORM_MIN_TOKENS: '20',
    STORM_SHARE: '0.1',
  } satisfies Partial<EnvironmentFor<FunctionName>>);
}

/** One HTTP API request, as API Gateway hands it to its route's function. */
function apiCaller(handlerOf: (entry: string) => Handler): CostSystem['api'] {
  return async (method, path, body, form) => {
    const match = matchRoute(routes, method, path);
    if (!match) throw new Error(`No route ${method} ${path}`);
    const service = path.startsWith('/service/');
    const event = toApiGatewayEvent(
      match,
      {
        method,
        url: path,
        body,
        headers: {
          'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
        },
      },
      {
        domainName: 'api.example.com',
        now: clockNow(),
        claims: service ? { sub: 'widget-service', scope: 'tokenwatch/service' } : undefined,
      },
    );
    const entry = match.route.entry;
    return (await invoke(entry, 10_000, (context) =>
      runAs(entry, () => handlerOf(entry)(event as never, context)),
    )) as { statusCode: number };
  };
}

const entries = [
  'check-expired-tokens',
  'refresh-due-tokens',
  'flush-digests',
  'notify-expired-token',
  'auto-refresh-token',
  'instagram-deauthorize',
  'put-service-instagram-account',
  'get-service-instagram-token',
  'end-service-storm',
];

/** The handler modules, loaded once the environment is set: they read it at load, as in Lambda. */
async function loadHandlers(): Promise<(entry: string) => Handler> {
  const handlers = new Map<string, Handler>();
  for (const entry of entries)
    handlers.set(
      entry,
      ((await import(`../functions/${entry}.ts`)) as { handler: Handler }).handler,
    );
  return (entry) => {
    const handler = handlers.get(entry);
    if (!handler) throw new Error(`No handler ${entry}`);
    return handler;
  };
}

/** Meta's deauthorize callback for an Instagram user, signed with the app secret as Meta signs. */
function deauthorizeCall(api: CostSystem['api'], accountId: string) {
  const signed = signRequest(
    {
      algorithm: 'HMAC-SHA256',
      issued_at: Math.floor(clockNow().getTime() / 1000),
      user_id: accountId,
    },
    app.appSecret,
  );
  return api(
    'POST',
    '/instagram/deauthorize',
    `signed_request=${encodeURIComponent(signed)}`,
    true,
  );
}

export async function startCostSystem(
  tableName: string,
  meter: () => Meter | undefined,
): Promise<CostSystem> {
  const stops: (() => Promise<void> | void)[] = [];
  const secretIds = {
    unsubscribeKey: 'bench/unsubscribe-key',
    instagramApp: 'bench/instagram-app',
  };
  const secrets = await startSecretsManagerStandIn({
    [secretIds.unsubscribeKey]: 'bench-unsubscribe-signing-key-not-for-production',
    [secretIds.instagramApp]: JSON.stringify(app),
  });
  // Expiries follow the simulated clock, as Instagram's follow the real one.
  const instagram = await startInstagramStandIn({ now: clockNow });
  stops.push(
    () => secrets.stop(),
    () => instagram.stop(),
  );
  const batches = new Map<string, number>();
  const queueSends = new Map<string, number>();
  const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const notifications = new LocalQueue({
    name: 'bench-notifications',
    functionName: 'notify-expired-token',
    maxConcurrency: notifierConcurrency(sesRate),
  });
  const refreshQueue = new LocalQueue({
    name: 'bench-refresh',
    functionName: 'auto-refresh-token',
    batchSize: refresherBatchSize,
    maxConcurrency: refresherConcurrency(20),
  });
  const toNotifications = (body: string) => {
    // EventBridge's delivery to an SQS target is a SendMessage the queue's owner pays for.
    count(queueSends, 'notifications');
    notifications.send(body);
  };
  const bus = await startEventBridgeStandIn({
    eventBusNames: [busName],
    rules: [
      {
        name: 'notices',
        eventBusName: busName,
        pattern: noticeRulePattern,
        target: toNotifications,
      },
      {
        name: 'links',
        eventBusName: busName,
        pattern: linkUsedRulePattern,
        target: toNotifications,
      },
    ],
  });
  const sqs = await startSqsStandIn({ queues: [refreshQueue] });
  stops.push(
    () => bus.stop(),
    () => sqs.stop(),
  );
  installInvokeStore();
  setEnvironment(tableName, {
    bus: bus.endpoint,
    sqs: sqs.endpoint,
    secrets: secrets.endpoint,
    instagram: instagram.endpoint,
    authorize: instagram.authorizeUrl,
    refreshQueueUrl: sqs.urlOf(refreshQueue),
    secretIds,
  });
  requiredEnv('AWS_ENDPOINT_URL_SESV2');

  const handlerOf = await loadHandlers();
  const consumer = (entry: string) => (event: SQSEvent, context: Context) => {
    if (meter()) count(batches, entry);
    return runAs(entry, () => handlerOf(entry)(event as never, context)) as never;
  };
  notifications.start(consumer('notify-expired-token'));
  refreshQueue.start(consumer('auto-refresh-token'));
  stops.push(() => {
    notifications.stop();
    refreshQueue.stop();
  });

  const api = apiCaller(handlerOf);

  return {
    instagram,
    accepted: bus.accepted,
    notifications,
    refreshQueue,
    batches,
    queueSends,
    job: (name) =>
      invoke(name, timeouts[name] ?? 60_000, (context) =>
        runAs(name, () => handlerOf(name)({} as never, context)),
      ),
    api,
    deauthorize: (accountId) => deauthorizeCall(api, accountId),
    async drain() {
      await refreshQueue.drained();
      await notifications.drained();
      await refreshQueue.drained();
    },
    async stop() {
      for (const stop of stops.reverse()) await stop();
    },
  };
}
