/**
 * The whole of tokenwatch on one machine, with no AWS account: DynamoDB Local, the SES
 * emulator, stand-ins for Secrets Manager, EventBridge and Instagram, the queue with its DLQ,
 * the schedule as a timer, and the HTTP API from the deployed route table. `npm start`, the
 * end-to-end tests and the benchmark all start it through `startLocalSystem`.
 *
 * Handlers reach every service through the SDK's standard endpoint variables, set here before
 * any handler module is loaded (they read their configuration once, at load, as in Lambda).
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLocalJWKSet } from 'jose';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createDocumentClient } from '../functions/platform/dynamodb';
import { linkUsedRulePattern, noticeRulePattern } from '../functions/tokens/events';
import { feedbackRulePattern } from '../functions/notifications/feedback-rule';
import { deliverSesEvent } from './ses-events';
import { createTableStore as createStore, type TableStore as TokenwatchStore } from './table-store';
import type { EnvironmentFor, FunctionName } from '../functions/environment/variables';
import { createTableInput } from '../functions/storage/table';
import { preferenceCatalogue, preferenceNames } from '../functions/notifications/preferences';
import { routes } from '../lib/routes';
import { refresherBatchSize, refresherConcurrency } from '../lib/refresher-sizing';
import { localCredentials, startDynamoDbLocal, startSes } from './services';
import type { LocalApiGatewayOptions } from './api-gateway';
import { startLocalApi } from './api-server';
import { demoData, loadDemo } from './demo-data';
import { startEventBridgeStandIn } from './eventbridge';
import { createLocalIdentityProvider } from './jwt';
import { installInvokeStore, invoke } from './lambda-context';
import { LocalQueue } from './queue';
import { loadSeed } from './seed';
import { setInstagramOutcome } from './instagram-outcomes';
import { startSecretsManagerStandIn } from './standins/secrets-manager';
import { startInstagramStandIn } from './standins/instagram';
import { startSqsStandIn } from './sqs';
import { asOf } from '../functions/platform/clock';
import { isoDateTime } from '../functions/platform/schemas';
import * as z from '../functions/platform/validation';

export interface LocalSystemOptions {
  /** @default 3000 */
  apiPort?: number;
  /** @default 8005 */
  sesPort?: number;
  /** Keep DynamoDB's data in this folder between runs. @default in memory */
  persistDirectory?: string;
  /** How often the schedule runs the check. @default 60_000; 0 turns the timer off */
  checkIntervalMs?: number;
  /** @default true */
  loadDemoData?: boolean;
  /** @default true */
  runCheckAtStart?: boolean;
  /**
   * The notifier's timeout; the claim lease is 1.5 times it and the queue's visibility timeout
   * 2 times it, the same order as in AWS (timeout < lease < visibility), shorter so that a
   * retry shows within seconds. @default 15_000
   */
  notifierTimeoutMs?: number;
  /** @default 5, as the deployed queue */
  maxReceiveCount?: number;
  /** @default 2 */
  notifierConcurrency?: number;
  /** Emails per second. @default 10 */
  sesMaxSendRate?: number;
  /** Calls to Instagram's refresh per second. @default 20 */
  instagramMaxRefreshRate?: number;
  /** A recipient's digest window; 0 turns digests off. @default 60, as deployed */
  digestWindowMinutes?: number;
  /** The storm guard's threshold. @default 20 tokens and 10 %, as deployed */
  stormMinTokens?: number;
  stormShare?: number;
  log?: (line: string) => void;
  /** The handlers' log level (Powertools). @default 'INFO' */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

export interface RunCheckSummary {
  /** the instant the jobs ran as of */
  now: string;
  refresh: unknown;
  refreshQueue: { delivered: number; deleted: number; deadLettered: number };
  check: unknown;
  queue: { delivered: number; deleted: number; deadLettered: number };
  /** the digest flush's summary (digests whose window ended, held notices released) */
  digests: unknown;
  emailsSent: number;
}

export interface LocalSystem {
  urls: { api: string; inbox: string; settings: string; dynamodb: string };
  store: TokenwatchStore;
  tableName: string;
  queue: LocalQueue;
  deadLetterQueue: LocalQueue;
  refreshQueue: LocalQueue;
  refreshDeadLetterQueue: LocalQueue;
  /** SES's bounces and complaints, from the default bus to record-email-feedback. */
  feedbackQueue: LocalQueue;
  feedbackDeadLetterQueue: LocalQueue;
  instagram: Awaited<ReturnType<typeof startInstagramStandIn>>;
  /** Every scheduled job in order, each queue drained, as of `now` (default: the real time). */
  runCheck(now?: Date): Promise<RunCheckSummary>;
  tokenFor(sub: string): Promise<string>;
  /** A token with the `tokenwatch/service` scope, as `GET /_local/service-token` answers. */
  serviceToken(): Promise<string>;
  stop(): Promise<void>;
}

type RouteModule = Awaited<ReturnType<LocalApiGatewayOptions['loadHandler']>>;

export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

async function ensurePortFree(port: number, what: string, variable: string): Promise<void> {
  const probe: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new PortInUseError(
              `Port ${port} (${what}) is already in use. Is another tokenwatch running? ` +
                `Stop it, or choose another port with ${variable}=<port>.`,
            )
          : error,
      );
    });
    probe.listen(port, '127.0.0.1', () =>
      probe.close(() => {
        resolve();
      }),
    );
  });
}

const settingsPage = readFileSync(
  fileURLToPath(new URL('./settings-page/index.html', import.meta.url)),
  'utf8',
);

/** A run-check body: nothing, `{}`, or `{"now": "<ISO 8601 instant with its offset>"}`. */
const runCheckBody = z.strictObject({ now: z.optional(isoDateTime) });

/**
 * The instant a run-check body asks for: none (an empty body, or `{}`) is now; `{"now": ...}`
 * is that instant. Anything else is an Error saying what is wrong.
 */
export function runCheckInstant(body: string): Date | undefined | Error {
  if (body.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return new Error('The body is not JSON. Send nothing, {} or {"now": "2026-12-24T09:00:00Z"}.');
  }
  const result = runCheckBody.safeParse(parsed);
  if (!result.success) {
    return new Error(
      'The body must be {} or {"now": "<ISO 8601 instant with its offset>"}, ' +
        `e.g. {"now": "2026-12-24T09:00:00Z"}: ${result.error.issues.map((issue) => issue.message).join('; ')}.`,
    );
  }
  return result.data.now === undefined ? undefined : new Date(result.data.now);
}

export async function startLocalSystem(options: LocalSystemOptions = {}): Promise<LocalSystem> {
  const log = options.log ?? (() => undefined);
  const apiPort = options.apiPort ?? 3000;
  const sesPort = options.sesPort ?? 8005;
  const apiUrl = `http://localhost:${apiPort}`;
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };

  try {
    await ensurePortFree(apiPort, 'the HTTP API', 'PORT');
    await ensurePortFree(sesPort, 'the SES inbox', 'SES_PORT');

    if (options.persistDirectory) mkdirSync(options.persistDirectory, { recursive: true });
    const [dynamo, ses] = await Promise.all([
      startDynamoDbLocal(options.persistDirectory ? { path: options.persistDirectory } : {}),
      startSes({ port: sesPort, host: '127.0.0.1' }),
    ]);
    stops.push(
      () => dynamo.stop(),
      () => ses.stop(),
    );
    log(
      `DynamoDB Local is up at ${dynamo.endpoint}${options.persistDirectory ? ` (data in ${options.persistDirectory})` : ' (in memory)'}`,
    );
    log(`SES emulator is up; its inbox is at http://localhost:${sesPort}`);

    const localInstagramApp = { appId: '1234567890', appSecret: 'local-app-secret' };
    const secretIds = {
      unsubscribeKey: 'tokenwatch/local/unsubscribe-key',
      instagramApp: 'tokenwatch/local/instagram-app',
    };
    const secrets = await startSecretsManagerStandIn({
      [secretIds.unsubscribeKey]: 'local-unsubscribe-signing-key-not-for-production',
      [secretIds.instagramApp]: JSON.stringify(localInstagramApp),
    });
    stops.push(() => secrets.stop());
    const instagram = await startInstagramStandIn();
    stops.push(() => instagram.stop());
    log(`Instagram stand-in is up at ${instagram.endpoint}`);

    const busName = 'tokenwatch-local';
    const notifierTimeoutMs = options.notifierTimeoutMs ?? 15_000;
    const deadLetterQueue = new LocalQueue({ name: 'tokenwatch-local-notifications-dlq' });
    const queue = new LocalQueue({
      name: 'tokenwatch-local-notifications',
      functionName: 'notify-expired-token',
      functionTimeoutMs: notifierTimeoutMs,
      visibilityTimeoutMs: notifierTimeoutMs * 2,
      maxReceiveCount: options.maxReceiveCount ?? 5,
      maxConcurrency: options.notifierConcurrency ?? 2,
      deadLetterQueue,
      onBatchError: (error) => {
        log(`notifier batch failed: ${String(error)}`);
      },
    });
    // SES publishes its events to the account's default bus: the feedback rule is there.
    const configurationSetName = 'tokenwatch-local';
    const feedbackDeadLetterQueue = new LocalQueue({ name: 'tokenwatch-local-email-feedback-dlq' });
    const feedbackQueue = new LocalQueue({
      name: 'tokenwatch-local-email-feedback',
      functionName: 'record-email-feedback',
      maxReceiveCount: options.maxReceiveCount ?? 5,
      deadLetterQueue: feedbackDeadLetterQueue,
      onBatchError: (error) => {
        log(`email feedback batch failed: ${String(error)}`);
      },
    });
    const bus = await startEventBridgeStandIn({
      eventBusNames: [busName, 'default'],
      rules: [
        {
          name: 'ses-feedback-to-queue',
          eventBusName: 'default',
          pattern: feedbackRulePattern(configurationSetName),
          target: (envelope) => feedbackQueue.send(envelope),
        },
        {
          name: 'token-expired-to-notifications',
          eventBusName: busName,
          pattern: noticeRulePattern,
          target: (envelope) => queue.send(envelope),
        },
        {
          name: 'link-used-to-notifications',
          eventBusName: busName,
          pattern: linkUsedRulePattern,
          target: (envelope) => queue.send(envelope),
        },
      ],
    });
    stops.push(() => bus.stop());

    // The refresher's timeout and the queue's visibility, shorter than in AWS in the same order.
    const refresherTimeoutMs = 30_000;
    const refreshDeadLetterQueue = new LocalQueue({ name: 'tokenwatch-local-refresh-dlq' });
    const refreshQueue = new LocalQueue({
      name: 'tokenwatch-local-refresh',
      functionName: 'auto-refresh-token',
      functionTimeoutMs: refresherTimeoutMs,
      visibilityTimeoutMs: refresherTimeoutMs * 2,
      maxReceiveCount: options.maxReceiveCount ?? 5,
      batchSize: refresherBatchSize,
      maxConcurrency: refresherConcurrency(options.instagramMaxRefreshRate ?? 20),
      deadLetterQueue: refreshDeadLetterQueue,
      onBatchError: (error) => {
        log(`refresher batch failed: ${String(error)}`);
      },
    });
    const sqs = await startSqsStandIn({ queues: [refreshQueue] });
    stops.push(() => sqs.stop());

    const tableName = 'tokenwatch-local';
    installInvokeStore();
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SESV2: ses.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      POWERTOOLS_DEV: 'true',
      // Every function runs in this one process, with one logger: as on Lambda Managed
      // Instances, Powertools then keeps each invocation's context (its function's name) apart.
      AWS_LAMBDA_MAX_CONCURRENCY: '64',
      POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'INFO',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    // One process runs every handler, so it sets what any of them requires.
    Object.assign(process.env, {
      TABLE_NAME: tableName,
      EVENT_BUS_NAME: busName,
      APP_URL: apiUrl,
      API_URL: apiUrl,
      UNSUBSCRIBE_URL: `${apiUrl}/unsubscribe`,
      UNSUBSCRIBE_KEY_SECRET_ID: secretIds.unsubscribeKey,
      INSTAGRAM_APP_SECRET_ID: secretIds.instagramApp,
      INSTAGRAM_GRAPH_URL: instagram.endpoint,
      INSTAGRAM_API_URL: instagram.endpoint,
      INSTAGRAM_AUTHORIZE_URL: instagram.authorizeUrl,
      INSTAGRAM_REDIRECT_URI: `${apiUrl}/instagram-accounts/reconnect`,
      // The app's second redirect URI: Instagram sends a reconnect link's holder back here.
      INSTAGRAM_LINK_REDIRECT_URI: `${apiUrl}/reconnect/callback`,
      RECONNECT_LINK_HOURS: '72',
      SENDER_ADDRESS: 'notifications@tokenwatch.local',
      SES_MAX_SEND_RATE: String(options.sesMaxSendRate ?? 10),
      // Not one more for the digest flush, as deployed: locally it runs only after the queue
      // drained (run-check), so it never sends alongside the notifiers.
      NOTIFY_MAX_CONCURRENCY: String(options.notifierConcurrency ?? 2),
      CHECK_LOOKBACK_DAYS: '7',
      REFRESH_QUEUE_URL: sqs.urlOf(refreshQueue),
      INSTAGRAM_MAX_REFRESH_RATE: String(options.instagramMaxRefreshRate ?? 20),
      NOTIFICATION_LEASE_SECONDS: String(Math.ceil((notifierTimeoutMs * 1.5) / 1000)),
      DIGEST_WINDOW_MINUTES: String(options.digestWindowMinutes ?? 60),
      DIGEST_LOOKBACK_DAYS: '7',
      STORM_MIN_TOKENS: String(options.stormMinTokens ?? 20),
      STORM_SHARE: String(options.stormShare ?? 0.1),
    } satisfies EnvironmentFor<FunctionName>);

    const dynamoClient = new DynamoDBClient({});
    stops.push(() => {
      dynamoClient.destroy();
      return Promise.resolve();
    });
    let tableIsNew = true;
    try {
      await dynamoClient.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
      tableIsNew = false;
    }
    const store = createStore(createDocumentClient(dynamoClient), tableName);

    // Loaded only now: the handlers read their configuration when their module loads.
    const notifier = (await import('../functions/notify-expired-token')) as {
      handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    };
    const checker = (await import('../functions/check-expired-tokens')) as {
      handler: (event: unknown, context: Context) => Promise<unknown>;
    };
    const refreshJob = (await import('../functions/refresh-due-tokens')) as {
      handler: (event: unknown, context: Context) => Promise<unknown>;
    };
    const refresher = (await import('../functions/auto-refresh-token')) as {
      handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    };
    const digestFlush = (await import('../functions/flush-digests')) as {
      handler: (event: unknown, context: Context) => Promise<unknown>;
    };
    const feedbackRecorder = (await import('../functions/record-email-feedback')) as {
      handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    };
    queue.start((event, context) => notifier.handler(event, context));
    refreshQueue.start((event, context) => refresher.handler(event, context));
    feedbackQueue.start((event, context) => feedbackRecorder.handler(event, context));
    stops.push(() => {
      queue.stop();
      refreshQueue.stop();
      feedbackQueue.stop();
      return Promise.resolve();
    });

    let checking = Promise.resolve() as Promise<unknown>;
    const inboxCount = async () =>
      ((await (await fetch(`${ses.endpoint}/store`)).json()) as { emails: unknown[] }).emails
        .length;
    const queueDelta = (of: LocalQueue, before: LocalQueue['stats']) => ({
      delivered: of.stats.deliveries - before.deliveries,
      deleted: of.stats.deleted - before.deleted,
      deadLettered: of.stats.deadLettered - before.deadLettered,
    });
    /**
     * Every scheduled job in the order their schedules meet in a day (the refresh, then the
     * check, then the digest flush), each followed by its queue drained, one run at a time: the timer and the endpoint
     * share it. With `now`, the jobs and the emails they cause run as of that instant.
     */
    const runCheck = (now?: Date): Promise<RunCheckSummary> => {
      const run = checking.then(() =>
        asOf(now, async () => {
          const refreshBefore = { ...refreshQueue.stats };
          const before = { ...queue.stats };
          const emailsBefore = await inboxCount();
          const refresh = await invoke('refresh-due-tokens', 60_000, (context) =>
            refreshJob.handler({}, context),
          );
          await refreshQueue.drained();
          const check = await invoke('check-expired-tokens', 60_000, (context) =>
            checker.handler({}, context),
          );
          await queue.drained();
          const digests = await invoke('flush-digests', 120_000, (context) =>
            digestFlush.handler({}, context),
          );
          return {
            now: (now ?? new Date()).toISOString(),
            refresh,
            refreshQueue: queueDelta(refreshQueue, refreshBefore),
            check,
            queue: queueDelta(queue, before),
            digests,
            emailsSent: (await inboxCount()) - emailsBefore,
          };
        }),
      );
      checking = run.catch(() => undefined);
      return run;
    };

    const identity = await createLocalIdentityProvider(`${apiUrl}/_local`);
    const keys = createLocalJWKSet(identity.jwks);
    // Every route's module is loaded now, so a broken handler fails the start, not a request.
    const handlers = new Map<string, RouteModule>(
      await Promise.all(
        routes.map(
          async (route) =>
            [route.entry, (await import(`../functions/${route.entry}.ts`)) as RouteModule] as const,
        ),
      ),
    );
    const page = settingsPage.replace(
      '__LOCAL_CONFIG__',
      JSON.stringify({
        inboxUrl: `http://localhost:${sesPort}`,
        users: demoData(new Date()).users,
        // the settings page says how long a reconnect link works
        reconnectLinkHours: Number(process.env.RECONNECT_LINK_HOURS),
        // the settings page builds its checkboxes from the catalogue, in its order
        preferences: preferenceNames.map((name) => {
          const entry: { label: string; default: boolean; description?: string } =
            preferenceCatalogue[name];
          return {
            name,
            label: entry.label,
            default: entry.default,
            description: entry.description,
          };
        }),
      }).replace(/</g, '\\u003c'),
    );
    const json = (status: number, value: unknown) => ({
      status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(value),
    });

    const api = await startLocalApi({
      port: apiPort,
      gateway: {
        routes,
        loadHandler: (entry) => {
          const module = handlers.get(entry);
          return module ? Promise.resolve(module) : Promise.reject(new Error(`No route ${entry}`));
        },
        jwt: { issuer: identity.issuer, audience: identity.audience, keys },
        serviceJwt: { issuer: identity.issuer, audience: identity.serviceClientId, keys },
        domainName: `localhost:${apiPort}`,
      },
      onError: (error) => {
        log(`API error: ${String(error)}`);
      },
      extra: async (request, response, url, body) => {
        const reply = ({
          status,
          headers,
          body: text,
        }: {
          status: number;
          headers: Record<string, string>;
          body: string;
        }) => {
          response.writeHead(status, headers);
          response.end(text);
          return true;
        };
        if (
          request.method === 'GET' &&
          ['/', '/settings', '/instagram-accounts', '/instagram-accounts/reconnect'].includes(
            url.pathname,
          )
        ) {
          return reply({
            status: 200,
            headers: { 'content-type': 'text/html; charset=utf-8' },
            body: page,
          });
        }
        if (!url.pathname.startsWith('/_local/')) return false;
        if (request.method === 'GET' && url.pathname === '/_local/token') {
          const sub = url.searchParams.get('sub');
          if (!sub) return reply(json(400, { message: 'Pass the user id as ?sub=<userId>.' }));
          return reply(json(200, { token: await identity.tokenFor(sub) }));
        }
        if (request.method === 'GET' && url.pathname === '/_local/instagram/app') {
          // The local app's id and secret, so a person can sign Meta's callbacks by hand.
          return reply(json(200, localInstagramApp));
        }
        if (request.method === 'POST' && url.pathname === '/_local/instagram/outcomes') {
          return reply(await setInstagramOutcome(body, { instagram, store }));
        }
        if (request.method === 'GET' && url.pathname === '/_local/service-token') {
          return reply(json(200, { token: await identity.serviceToken() }));
        }
        if (request.method === 'GET' && url.pathname === '/_local/jwks.json') {
          return reply(json(200, identity.jwks));
        }
        if (request.method === 'POST' && url.pathname === '/_local/seed') {
          let document: unknown;
          try {
            document = JSON.parse(body || '{}');
          } catch {
            return reply(json(400, { message: 'The seed must be a JSON document.' }));
          }
          try {
            return reply(
              json(200, { loaded: await loadSeed(store, document, new Date(), instagram) }),
            );
          } catch (error) {
            const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] })
              .issues;
            if (!issues) throw error;
            return reply(
              json(400, {
                message: 'The seed was not loaded: nothing was written.',
                errors: issues.map((issue) => ({
                  path: issue.path.map(String).join('.'),
                  message: issue.message,
                })),
              }),
            );
          }
        }
        if (request.method === 'POST' && url.pathname === '/_local/ses/events') {
          const before = { ...feedbackQueue.stats };
          return reply(
            await deliverSesEvent(body, {
              sender: String(process.env.SENDER_ADDRESS),
              configurationSetName,
              lastMessageTo: async (address) => {
                const { emails } = (await (await fetch(`${ses.endpoint}/store`)).json()) as {
                  emails: { messageId: string; subject: string; destination: { to: string[] } }[];
                };
                const last = emails.findLast((email) => email.destination.to.includes(address));
                return last ?? { messageId: `local-${randomUUID()}`, subject: '' };
              },
              drained: async () => {
                await feedbackQueue.drained();
                return queueDelta(feedbackQueue, before);
              },
            }),
          );
        }
        if (request.method === 'POST' && url.pathname === '/_local/run-check') {
          const instant = runCheckInstant(body);
          if (instant instanceof Error) {
            return reply({
              status: 400,
              headers: { 'content-type': 'application/problem+json' },
              body: JSON.stringify({
                type: 'about:blank',
                title: 'Bad run-check body',
                status: 400,
                detail: instant.message,
              }),
            });
          }
          return reply(json(200, await runCheck(instant)));
        }
        return reply(
          json(404, { message: `No local endpoint ${request.method ?? ''} ${url.pathname}.` }),
        );
      },
    });
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          api.closeAllConnections();
          api.close(() => {
            resolve();
          });
        }),
    );
    log(`HTTP API is up at ${apiUrl}`);

    if (!tableIsNew) log('Kept the data of the last run (--persist): demo data not reloaded');
    else if (options.loadDemoData ?? true) {
      const loaded = await loadDemo(store, new Date());
      log(
        `Demo data loaded: ${loaded.users} users, ${loaded.instagramAccounts} Instagram accounts, ${loaded.developerRoles} developer roles`,
      );
    }
    if (options.runCheckAtStart ?? true) {
      const summary = await runCheck();
      log(`First check done: ${summary.emailsSent} email(s) sent`);
    }

    const interval = options.checkIntervalMs ?? 60_000;
    if (interval > 0) {
      const timer = setInterval(() => {
        runCheck().catch((error: unknown) => {
          log(`scheduled check failed: ${String(error)}`);
        });
      }, interval);
      timer.unref();
      stops.push(() => {
        clearInterval(timer);
        return checking.then(() => undefined);
      });
    }

    return {
      urls: {
        api: apiUrl,
        inbox: `http://localhost:${sesPort}`,
        settings: `${apiUrl}/`,
        dynamodb: dynamo.endpoint,
      },
      store,
      tableName,
      queue,
      deadLetterQueue,
      refreshQueue,
      refreshDeadLetterQueue,
      feedbackQueue,
      feedbackDeadLetterQueue,
      instagram,
      runCheck,
      tokenFor: (sub) => identity.tokenFor(sub),
      serviceToken: () => identity.serviceToken(),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
