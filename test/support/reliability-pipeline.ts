/**
 * check → bus → queue → notifier, as in AWS but in one process, with a fault schedule per run:
 * the real expiry check and notifier, the real store on DynamoDB Local, the real SES
 * mailer on the SES emulator, the real event publisher on the local EventBridge (whose rule
 * puts each accepted event on the run's LocalQueue, one to three times: delivery is at least
 * once), and LocalQueue's redelivery, partial batch responses and dead-letter queue.
 *
 * Time: each run has its own day (so the check's look-back of 0 reads only that run's due
 * tokens) and a virtual clock for the notifier that moves on by more than the claim lease at
 * every invocation, as it does in AWS, where a redelivery comes after the visibility timeout,
 * which is longer than the lease. The queue runs one batch at a time per run, and waits while
 * the check runs, so the faults of a seed fire at the same calls on every run.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDocumentClient } from '#platform/dynamodb';
import { createEventPublisher } from '#tokens/event-publisher';
import { createSesMailer } from '#platform/ses';
import { createEmailRenderer } from '#notifications/emails';
import { runExpiryCheck, type ExpiryCheckSummary } from '#tokens/expiry-check';
import { type LogSink } from '#platform/observability';
import {
  notifyFromQueue,
  type BatchResult,
  type QueueBatchDependencies,
} from '#notifications/queue-batch';
import { linkUsedRulePattern, noticeRulePattern } from '#tokens/events';
import {
  createTableStore as createStore,
  type TableStore as TokenwatchStore,
} from '../../local/table-store';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../../local/eventbridge';
import { LocalQueue } from '../../local/queue';
import { createTestTable, type TestTable } from './table';
import {
  CrashError,
  FaultSchedule,
  invoke,
  withFaults,
  type Invocation,
  type Step,
} from './reliability-faults';

/** Every access token the reliability suite stores holds this, so a scan finds any leak. */
export const canaryPrefix = 'IGAA-RELIABILITY-CANARY-';
export const canaryToken = () => `${canaryPrefix}${randomUUID()}`;

const DAY_MS = 86_400_000;
/** Longer than the lease: each notifier invocation starts after the previous claims ran out. */
export const invocationStepMs = 300_000;
export const leaseSeconds = 120;
export const unsubscribeKey = `reliability-unsubscribe-key-${randomUUID()}`;

export interface Person {
  userId: string;
  email: string;
  name: string;
}

export interface LoggedLine {
  level: string;
  message: string;
  text: string;
}

export interface PipelineRun {
  id: number;
  /** the run's now, for the check: noon on its own day */
  base: Date;
  schedule: FaultSchedule;
  queue: LocalQueue;
  deadLetters: LocalQueue;
  /** how many copies of an accepted event the bus delivers */
  copies: () => number;
  epoch: number;
  checks: number;
  notifierInvocations: number;
  /** crash points hit, as `step:before|after` */
  crashes: string[];
  /**
   * Per address, how many times SES accepted its email and the record was not completed (the
   * crash window): each such time may cause one more email.
   */
  windowAddresses: Map<string, number>;
  /** userId → address, for faults that only see a user id */
  addressOf: Map<string, string>;
  /** accepted-event count per account, at the moment a check marked it */
  marksWithoutEvent: number;
  /** how the notifier of this run is set up, beyond the defaults */
  notifier?: NotifierSettings;
  /** every batch the notifier answered, in order (not those of a crashed invocation) */
  batches?: BatchResult[];
}

/** A notifier closer to the deployed one than the defaults: a time limit, the hand-on. */
export interface NotifierSettings {
  /**
   * How many recipients one invocation starts before it reaches its time reserve (a Lambda
   * timeout small for the recipient set): its `remainingMs` starts at this many seconds and
   * falls by one per recipient started, and its reserve is one second.
   */
  recipientsPerInvocation?: number;
  /** The remainder of a message that made progress goes back on the bus (as deployed). */
  handOn?: boolean;
}

export interface FaultyPipeline {
  table: TestTable;
  /** the store the check and the notifier use: its client carries the faults */
  store: TokenwatchStore;
  bus: EventBridgeStandIn;
  busName: string;
  log: LogSink & { lines: LoggedLine[] };
  /** Every SendEmail input that reached SES (for the secrets scan). */
  sent: unknown[];
  newRun(
    id: number,
    options: { schedule: FaultSchedule; copies: () => number; notifier?: NotifierSettings },
  ): PipelineRun;
  track(run: PipelineRun, accountId: string): void;
  check(run: PipelineRun): Promise<{ summary?: ExpiryCheckSummary; crashed: boolean }>;
  /** Checks (and drains the queue after each) until a check that did not crash finds nothing due. */
  settle(run: PipelineRun, maxChecks?: number): Promise<number>;
  /** A person with a profile, and preferences when given, written without faults. */
  person(run: PipelineRun, label: string, preferences?: Preferences): Promise<Person>;
  stop(): Promise<void>;
}

export interface Preferences {
  ownerExpiredToken: boolean;
  developerExpiredToken: boolean;
}

const noWait = () => Promise.resolve();

function recordingLog(): LogSink & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) => {
      lines.push({ level, message, text: JSON.stringify([message, ...extra]) });
    };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * `table`: an existing table to work on (and leave), e.g. the one the API handlers use.
 * `sesEndpoint`: where SendEmail goes instead of the SES emulator (a proxy in front of it).
 */
export async function startFaultyPipeline(
  name: string,
  options: { table?: TestTable; sesEndpoint?: string } = {},
): Promise<FaultyPipeline> {
  const table = options.table ?? (await createTestTable(name));
  const dynamo = withFaults(new DynamoDBClient({}));
  const store = createStore(createDocumentClient(dynamo), table.tableName);
  const runsByAccount = new Map<string, PipelineRun>();
  const busName = `${name}-bus`;
  // Both rules go to the account's run's queue, as both go to the notification queue in AWS.
  const deliver = (body: string) => {
    const { detail } = JSON.parse(body) as { detail: { accountId: string } };
    const run = runsByAccount.get(detail.accountId);
    if (!run) return;
    const copies = run.copies();
    for (let copy = 0; copy < copies; copy += 1) run.queue.send(body);
  };
  const bus = await startEventBridgeStandIn({
    eventBusNames: [busName],
    rules: [
      {
        name: 'token-expired-to-notifications',
        eventBusName: busName,
        pattern: noticeRulePattern,
        target: deliver,
      },
      {
        name: 'link-used-to-notifications',
        eventBusName: busName,
        pattern: linkUsedRulePattern,
        target: deliver,
      },
    ],
  });
  const events = withFaults(new EventBridgeClient({ endpoint: bus.endpoint }));
  const ses = withFaults(new SESv2Client({ maxAttempts: 1, endpoint: options.sesEndpoint }));
  const sent: unknown[] = [];
  ses.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      sent.push(args.input);
      return result;
    },
    { step: 'initialize', name: 'recordSent', priority: 'high' },
  );
  const publisher = createEventPublisher({
    client: events,
    busName,
    sleep: noWait,
    maxAttempts: 3,
  });
  const mailer = createSesMailer({
    client: ses,
    from: 'notifications@tokenwatch.test',
    sleep: noWait,
    maxAttempts: 3,
  });
  const renderer = createEmailRenderer();
  const log = recordingLog();
  const runs: PipelineRun[] = [];
  const consumers = new WeakMap<PipelineRun, ReturnType<typeof consumer>>();

  const invocationOf = (run: PipelineRun): Invocation => ({
    faultFor: (step, input) => run.schedule.faultFor(step, input),
    onCrash: (step, when, input) => {
      run.crashes.push(`${step}:${when}`);
      noteWindow(run, step, when, input);
    },
  });

  const deps = (run: PipelineRun): QueueBatchDependencies => ({
    store,
    mailer,
    renderer,
    appUrl: 'https://app.tokenwatch.test',
    unsubscribeUrl: 'https://api.tokenwatch.test/unsubscribe',
    unsubscribeKey: () => Promise.resolve(unsubscribeKey),
    clock: () => new Date(run.base.getTime() + run.epoch * invocationStepMs),
    leaseSeconds,
    log,
    ...notifierSettings(run.notifier),
  });

  /** Called once per invocation, so the time budget is the invocation's own. */
  const notifierSettings = (settings: NotifierSettings = {}) => {
    const extra: Pick<QueueBatchDependencies, 'remainingMs' | 'reserveMs' | 'publisher'> = {};
    const budget = settings.recipientsPerInvocation;
    if (budget !== undefined) {
      let started = 0;
      extra.reserveMs = 1_000;
      extra.remainingMs = () => (budget - started++) * 1_000;
    }
    if (settings.handOn) extra.publisher = publisher;
    return extra;
  };

  function consumer(run: PipelineRun) {
    return async (event: SQSEvent): Promise<SQSBatchResponse> => {
      run.epoch += 1;
      run.notifierInvocations += 1;
      const invocation = invocationOf(run);
      const outcome = await invoke(invocation, async () => {
        const result = await notifyFromQueue(event.Records, deps(run));
        run.batches?.push(result);
        // The work is done; the process dies before Lambda gets the answer, so SQS sees none.
        if (run.schedule.faultFor('ack')?.kind === 'crash-before') {
          invocation.crashedAt = { step: 'ack', when: 'before' };
          run.crashes.push('ack:before');
          throw new CrashError('ack');
        }
        return result;
      });
      if (outcome.crashed || !outcome.result) {
        throw outcome.error instanceof Error ? outcome.error : new CrashError('ack');
      }
      return { batchItemFailures: outcome.result.batchItemFailures };
    };
  }

  const pipeline: FaultyPipeline = {
    table,
    store,
    bus,
    busName,
    log,
    sent,

    newRun(id, options) {
      const deadLetters = new LocalQueue({ name: `${name}-dlq-${id}` });
      const queue = new LocalQueue({
        name: `${name}-queue-${id}`,
        // Visible again at once: no real waiting. (The virtual clock stands for the wait.) The
        // promises' figures are the same on every run of a seed; how messages fall into batches,
        // and so the redelivery and call counts, can vary by a few in a thousand.
        visibilityTimeoutMs: 0,
        pollIntervalMs: 1,
        maxReceiveCount: 5,
        maxConcurrency: 1,
        deadLetterQueue: deadLetters,
        onBatchError: () => undefined,
      });
      const run: PipelineRun = {
        id,
        base: new Date(Date.UTC(2031, 0, 1, 12) + id * DAY_MS),
        schedule: options.schedule,
        queue,
        deadLetters,
        copies: options.copies,
        epoch: 0,
        checks: 0,
        notifierInvocations: 0,
        crashes: [],
        windowAddresses: new Map(),
        addressOf: new Map(),
        marksWithoutEvent: 0,
        notifier: options.notifier,
        batches: [],
      };
      consumers.set(run, consumer(run));
      queue.start(consumer(run));
      runs.push(run);
      return run;
    },

    track(run, accountId) {
      runsByAccount.set(accountId, run);
    },

    async check(run) {
      run.checks += 1;
      // The queue waits while the check runs, so the notifier always starts after it: the same
      // order on every run of a seed (the races between them are placed on purpose instead).
      run.queue.stop();
      const outcome = await invoke(invocationOf(run), () =>
        runExpiryCheck({
          store: {
            // Not another run's accounts: a token another run marked stays filed for its
            // reminders, days after that run's own clock, which this run's clock may reach.
            dueTokens: async function* (now, lookback) {
              for await (const page of store.dueTokens(now, lookback)) {
                const own = page.filter((entry) => {
                  const owner = runsByAccount.get(entry.accountId);
                  return owner === undefined || owner === run;
                });
                if (own.length > 0) yield own;
              }
            },
            markTokenExpired: async (token, now) => {
              const marked = await store.markTokenExpired(token, now);
              const published = bus.accepted.some((event) => {
                const detail = event.detail as { accountId?: string; generation?: number };
                return (
                  detail.accountId === token.accountId && detail.generation === token.generation
                );
              });
              if (marked && !published) run.marksWithoutEvent += 1;
              return marked;
            },
            markWarned: (warning, now) => store.markWarned(warning, now),
            markReminded: (reminder, now) => store.markReminded(reminder, now),
          },
          publisher,
          clock: () => run.base,
          lookbackDays: 0,
          log,
        }),
      );
      const consume = consumers.get(run);
      if (consume) run.queue.start(consume);
      return { summary: outcome.result, crashed: outcome.crashed };
    },

    async settle(run, maxChecks = 12) {
      for (let round = 1; round <= maxChecks; round += 1) {
        const { summary, crashed } = await pipeline.check(run);
        await run.queue.drained();
        // A check that ran to the end with nothing refused and nothing unmarked left nothing due.
        if (!crashed && summary?.failed === 0 && summary.markFailed === 0) {
          run.queue.stop();
          return round;
        }
      }
      run.queue.stop();
      throw new Error(`run ${run.id} still had due tokens after ${maxChecks} checks`);
    },

    async person(run, label, preferences) {
      const unique = randomUUID().slice(0, 8);
      const person = {
        userId: `u-${label}-${run.id}-${unique}`,
        email: `${label}-${run.id}-${unique}@reliability.test`,
        name: label.charAt(0).toUpperCase() + label.slice(1),
      };
      await table.store.putProfile(person);
      if (preferences) await table.store.putPreferences(person.userId, preferences, run.base);
      run.addressOf.set(person.userId, person.email);
      return person;
    },

    async stop() {
      for (const run of runs) run.queue.stop();
      dynamo.destroy();
      events.destroy();
      ses.destroy();
      await bus.stop();
      if (!options.table) await table.drop();
    },
  };
  return pipeline;
}

/**
 * The crash window: SES accepted an email whose record was not completed. A crash right after
 * the send, or right before the record, or a lost answer, or a failed record write.
 */
function noteWindow(
  run: PipelineRun,
  step: Step,
  when: 'before' | 'after',
  input: Record<string, unknown>,
) {
  if (step === 'send' && when === 'after') noteSendWindow(run, input);
  if (step === 'record' && when === 'before') noteRecordWindow(run, input);
}

export function noteSendWindow(run: PipelineRun, input: Record<string, unknown>): void {
  const to = (input.Destination as { ToAddresses?: string[] } | undefined)?.ToAddresses?.[0];
  if (to) run.windowAddresses.set(to, (run.windowAddresses.get(to) ?? 0) + 1);
}

export function noteRecordWindow(run: PipelineRun, input: Record<string, unknown>): void {
  const sk = JSON.stringify(input.Key ?? {});
  const userId = /NOTIFIED#\d+#[^#"]+#([^"]+)"/.exec(sk)?.[1];
  const address = userId === undefined ? undefined : run.addressOf.get(userId);
  if (address) run.windowAddresses.set(address, (run.windowAddresses.get(address) ?? 0) + 1);
}
