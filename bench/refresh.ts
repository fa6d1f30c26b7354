/**
 * The automatic refresh, measured through its real code path.
 *
 * - read amplification: `runRefreshJob` with `createRefreshSchedule` on DynamoDB Local over
 *   100,000 active tokens filed by the writers' own `activeTokenFiling`, 1,000 due for refresh
 *   at a fixed instant: the items its queries read (DynamoDB's own ScannedCount) ÷ tokens due.
 * - rate discipline: the whole local system (`startLocalSystem`, as `npm start` runs it) with
 *   `instagramMaxRefreshRate` R: the refresh job queues the due tokens through the SQS stand-in,
 *   the local queue hands them to the refresher handler in batches (two at once, as the local
 *   stack's queue does), and each refresh calls the Instagram stand-in through the real client.
 *   Calls are counted per calendar second where they leave (a wrapper of `fetch`, installed
 *   before the handlers load and capture it) and where the stand-in receives them (its own
 *   record of each call's arrival).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, documentClient } from '../functions/platform/dynamodb';
import type { LogSink } from '../functions/platform/observability';
import type { QueueSender } from '../functions/platform/sqs';
import { createRefreshSchedule, type RefreshRequest } from '../functions/tokens/refresh-schedule';
import { runRefreshJob } from '../functions/tokens/refresh-run';
import { refresherBatchSize, refresherConcurrency } from '../lib/refresher-sizing';
import { freePort } from '../local/services';
import { startLocalSystem, type LocalSystem } from '../local/system';
import { createBenchTable, generateRefreshTokens, writeItems } from './data';
import { meteredClient, round, type Benchmark, type Figure } from './harness';
import {
  busiestWindow,
  callsPerSecond,
  percentile,
  steadyRate,
  timed,
  withConcurrency,
} from './stats';

/** A fixed instant, so the data set and the buckets the job reads are the same on every run. */
const now = new Date('2026-06-01T12:00:00.000Z');
/** The refresh job's defaults (functions/refresh-due-tokens.ts). */
const lookbackDays = 7;
const maxPerRun = Math.floor(5 * 60 * 60 * 0.9);
/** Calls to Instagram's refresh per second for the whole fleet. */
const rate = 20;
const quietLog: LogSink = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A queue that only counts what the job hands it: the amplification is about its reads. */
function countingQueue(): QueueSender<RefreshRequest> & { queued: number } {
  const queue = {
    queued: 0,
    send: (requests: readonly RefreshRequest[]) => {
      queue.queued += requests.length;
      return Promise.resolve({ sent: [...requests], failed: [] });
    },
  };
  return queue;
}

async function readAmplification(options: {
  quick: boolean;
  seed: number;
  log: (line: string) => void;
}): Promise<Figure> {
  const total = options.quick ? 10_000 : 100_000;
  const due = options.quick ? 100 : 1_000;
  const set = await generateRefreshTokens({
    seed: options.seed,
    total,
    due,
    laterToday: due,
    now,
    prefix: 'R',
  });
  const table = await createBenchTable('refresh');
  try {
    const took = await timed(() => writeItems(table.db, table.tableName, set.items));
    options.log(`  ${total} tokens loaded in ${(took / 1000).toFixed(1)} s`);
    const metered = meteredClient();
    const queue = countingQueue();
    const summary = await runRefreshJob({
      schedule: createRefreshSchedule(createDocumentClient(metered.client), table.tableName),
      queue,
      clock: () => now,
      lookbackDays,
      maxPerRun,
      log: quietLog,
    });
    metered.client.destroy();
    if (summary.due !== due || queue.queued !== due) {
      throw new Error(`The refresh job found ${summary.due} and queued ${queue.queued} of ${due}`);
    }
    const reads = metered.meter;
    options.log(
      `  ${reads.queries} queries read ${reads.scanned} items for ${due} tokens due (${reads.readCapacity.toFixed(1)} RCU)`,
    );
    return {
      benchmark: 'refresh read amplification',
      figure: `items the refresh job reads ÷ tokens due (${total.toLocaleString('en')} tokens, ${due.toLocaleString('en')} due)`,
      goal: { atMost: 1.05 },
      measured: reads.scanned / due,
      details: {
        tokens: total,
        due,
        dueLaterToday: set.laterToday,
        queries: reads.queries,
        itemsRead: reads.scanned,
        itemsReturned: reads.returned,
        readCapacityUnits: round(reads.readCapacity, 1),
      },
    };
  } finally {
    await table.drop();
  }
}

/** The time calls to Instagram's refresh endpoint took (until their headers), summed. */
const instagramMs = { total: 0 };

interface Departure {
  at: number;
  /** the access token it refreshes: `IGQ-<accountId>` for the tokens this benchmark writes */
  accessToken: string;
}

/** Records when each call to Instagram's refresh endpoint leaves, as `fetch` is handed it. */
function watchRefreshCalls(): Departure[] {
  const departures: Departure[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const parsed = new URL(url);
    if (!parsed.pathname.endsWith('/refresh_access_token')) return realFetch(input, init);
    departures.push({ at: Date.now(), accessToken: parsed.searchParams.get('access_token') ?? '' });
    const started = performance.now();
    return realFetch(input, init).finally(() => {
      instagramMs.total += performance.now() - started;
    });
  };
  return departures;
}

interface PaceMeter {
  reset(): void;
  /** Writes to the pace's counter (and those refused), and per token: the ms each kind took. */
  summary(tokens: number): {
    paceWrites: number;
    paceWritesRefused: number;
    msPerToken: Record<string, number>;
  };
}

/**
 * The handlers' shared DynamoDB client, watched: slot claims won and lost (the pace's
 * contention), and how long each kind of call took. The refresh calls to Instagram are timed
 * by the `fetch` wrapper.
 */
function watchTable(db: DynamoDBDocumentClient): PaceMeter {
  let won = 0;
  let lost = 0;
  let took = new Map<string, number>();
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        Key?: { pk?: unknown };
        UpdateExpression?: string;
      };
      const pk = input.Key?.pk;
      // The pace's counter: one write per call, two when it fell behind; a refused one is the
      // second of a pair, or a caller's race to restart it.
      const isClaim = typeof pk === 'string' && pk.startsWith('PACE#');
      const isLease = input.UpdateExpression?.startsWith('SET refreshLeaseUntil') === true;
      const kind = isClaim
        ? 'slot claim'
        : isLease
          ? 'lease UpdateItem'
          : (context.commandName ?? 'unknown').replace(/Command$/, '');
      const started = performance.now();
      try {
        const result = await next(args);
        if (isClaim) won += 1;
        return result;
      } catch (error) {
        if (isClaim) lost += 1;
        throw error;
      } finally {
        took.set(kind, (took.get(kind) ?? 0) + performance.now() - started);
      }
    },
    { step: 'initialize', name: 'benchPaceMeter' },
  );
  return {
    reset() {
      won = 0;
      lost = 0;
      took = new Map();
      instagramMs.total = 0;
    },
    summary: (tokens) => ({
      paceWrites: won + lost,
      paceWritesRefused: lost,
      msPerToken: Object.fromEntries(
        [...took, ['Instagram refresh', instagramMs.total] as const].map(([kind, ms]) => [
          kind,
          round(ms / tokens, 1),
        ]),
      ),
    }),
  };
}

/** `count` tokens due for refresh now by the real clock: issued 50 days ago, 10 days left. */
async function dueTokens(system: LocalSystem, prefix: string, count: number): Promise<void> {
  const issuedAt = new Date(Date.now() - 50 * 86_400_000);
  const expiresAt = new Date(Date.now() + 10 * 86_400_000);
  await withConcurrency(
    Array.from({ length: count }, (_, index) => index),
    8,
    async (index) => {
      await system.store.putAccount(
        {
          accountId: `${prefix}-${index}`,
          ownerUserId: `${prefix}-owner-${index}`,
          username: `${prefix}.${index}`,
          accessToken: `IGQ-${prefix}-${index}`,
          expiresAt: expiresAt.toISOString(),
          issuedAt: issuedAt.toISOString(),
          tokenStatus: 'active',
          generation: 1,
        },
        new Date(),
      );
    },
  );
}

/** One run of the refresh job over `tokens` due tokens, counted at both places. */
async function measureRun(
  system: LocalSystem,
  departures: readonly Departure[],
  pace: PaceMeter,
  prefix: string,
  tokens: number,
) {
  await dueTokens(system, prefix, tokens);
  pace.reset();
  const started = Date.now();
  const run = await system.runCheck();
  const finished = Date.now();
  const measured = departures.filter((departure) => departure.at >= started);
  const sent = measured.map((departure) => departure.at).sort((a, b) => a - b);
  const received = system.instagram.calls
    .filter((call) => call.operation === 'refresh' && call.at.getTime() >= started)
    .map((call) => call.at.getTime())
    .sort((a, b) => a - b);
  const found = (run.refresh as { due?: number }).due;
  if (found !== tokens || sent.length !== tokens || received.length !== tokens) {
    throw new Error(
      `The job found ${found} due, ${sent.length} refreshes left and ${received.length} arrived, of ${tokens}`,
    );
  }
  const atInstagram = steadyRate(received);
  const atRefresher = steadyRate(sent);
  const busiest = (instants: readonly number[]) =>
    Math.max(...callsPerSecond(instants).map((second) => second.count));
  // Where in its slot (1/R s) each call left: the pace lets it go at the slot's start, in its
  // first half at the latest.
  const slotMs = 1000 / rate;
  const phases = sent.map((instant) => instant % slotMs);
  const inWholeSeconds = received.filter(
    (instant) =>
      instant >= atInstagram.fromMs && instant < atInstagram.fromMs + atInstagram.seconds * 1000,
  ).length;
  return {
    tokens,
    achievedPerSecond: round(atInstagram.perSecond, 2),
    achievedPerSecondSent: round(atRefresher.perSecond, 2),
    wholeSeconds: atInstagram.seconds,
    busiestSecondSent: busiest(sent),
    busiestSecondReceived: busiest(received),
    busiestSlidingSecondSent: busiestWindow(sent).count,
    busiestSlidingSecondReceived: busiestWindow(received).count,
    perSecondReceived: callsPerSecond(received).map((second) => second.count),
    perSecondSent: callsPerSecond(sent).map((second) => second.count),
    idleSlotsInWholeSeconds: atInstagram.seconds * rate - inWholeSeconds,
    callsSharingASlot: sent.length - new Set(sent.map((at) => Math.floor(at / slotMs))).size,
    msIntoSlotP50: round(percentile(phases, 50), 1),
    msIntoSlotP99: round(percentile(phases, 99), 1),
    ...pace.summary(tokens),
    runSeconds: round((finished - started) / 1000, 1),
    refreshQueue: run.refreshQueue,
  };
}

async function rateDiscipline(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<Figure[]> {
  const tokens = options.quick ? 100 : 300;
  // Before the system loads the handlers: the Instagram client keeps the `fetch` it found.
  const departures = watchRefreshCalls();
  const system = await startLocalSystem({
    apiPort: await freePort(),
    sesPort: await freePort(),
    checkIntervalMs: 0,
    loadDemoData: false,
    runCheckAtStart: false,
    logLevel: 'WARN',
    instagramMaxRefreshRate: rate,
  });
  try {
    const pace = watchTable(documentClient());
    // A few refreshes first, unmeasured: warm handlers, as a day's run meets them in AWS.
    await dueTokens(system, 'warm', 10);
    await system.runCheck();
    const local = await measureRun(system, departures, pace, 'due', tokens);
    const show = (label: string, result: typeof local) => {
      const perSecond = new Set(['perSecondReceived', 'perSecondSent']);
      options.log(
        `  ${label}: ${JSON.stringify(result, (key, value: unknown) => (perSecond.has(key) ? undefined : value))}`,
      );
      options.log(`    per second received: ${result.perSecondReceived.join(' ')}`);
    };
    // The local system runs as many refresher batches at once as the deployed stack for R
    // (lib/refresher-sizing.ts).
    const deployed = refresherConcurrency(rate);
    show(`${deployed} batches at once`, local);

    const details = { rate, batchSize: refresherBatchSize, concurrentBatches: deployed, ...local };
    return [
      {
        benchmark: 'refresh rate discipline',
        figure: `achieved rate ÷ R at Instagram (R = ${rate}/s, ${tokens} due tokens, ${deployed} refresher batches at once, as deployed)`,
        goal: { between: [0.9, 1.0] },
        measured: local.achievedPerSecond / rate,
        details,
      },
      {
        benchmark: 'refresh rate discipline',
        figure: 'most refresh calls the refreshers sent in any one calendar second',
        goal: { atMost: rate },
        measured: local.busiestSecondSent,
        decimals: 0,
        details,
      },
      {
        benchmark: 'refresh rate discipline',
        figure: 'most refresh calls the Instagram stand-in received in any one calendar second',
        goal: { atMost: rate },
        measured: local.busiestSecondReceived,
        decimals: 0,
        details,
      },
    ];
  } finally {
    await system.stop();
  }
}

export const run: Benchmark = async ({ quick, seed, log }) => {
  // First, on the orchestrator's DynamoDB Local: the local system then takes over the
  // environment's endpoints with its own.
  const amplification = await readAmplification({ quick, seed, log });
  return [amplification, ...(await rateDiscipline({ quick, log }))];
};
