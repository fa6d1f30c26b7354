/**
 * What the notifier tests (expired emails, warnings, reminders) share: the queue batch's
 * dependencies against the local table and the SES emulator, a log that keeps its lines, queue
 * records wrapping an event as the bus delivers it, the local EventBridge stand-in that a batch
 * hands its remainder on to, and the checks of an event that turned stale before it was read.
 * Each takes what it needs (the file's table, its clock) rather than reaching for it.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import {
  eventEnvelope,
  startEventBridgeStandIn,
  type EventBridgeStandIn,
} from '../../local/eventbridge';
import { createEventPublisher } from '#tokens/event-publisher';
import { createSesMailer } from '#platform/ses';
import type { LogSink } from '#platform/observability';
import { createEmailRenderer } from '#notifications/emails';
import type { NotifierDependencies } from '#notifications/notify';
import type { Occasion } from '#notifications/occasions';
import type { BatchResult, QueueBatchDependencies, QueueRecord } from '#notifications/queue-batch';
import { verifyUnsubscribeToken } from '#notifications/unsubscribe-link';
import type { TableStore } from '../../local/table-store';
import type { TestTable } from './table';
import { createPerson, emailsTo, present, type Person } from './pipeline-services';

export const unsubscribeKey = 'test-unsubscribe-key-'.repeat(3);
export const appUrl = 'https://app.example.com';
export const unsubscribeUrl = 'https://api.example.com/unsubscribe';
export const noWait = () => Promise.resolve();

/** Preferences of someone who wants the expired-token emails as owner and as developer. */
export const developerOn = { ownerExpiredToken: true, developerExpiredToken: true };

export interface LogLine {
  level: string;
  message: string;
  attributes: Record<string, unknown>[];
}
export type RecordingLog = LogSink & { lines: LogLine[] };

/** A log sink that keeps every line it is given, to read back in the test. */
export function recordingLog(): RecordingLog {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) =>
      lines.push({ level, message, attributes });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** The stale reason the notifier logged, if it logged one. */
export const loggedStaleReason = (log: RecordingLog) =>
  log.lines.flatMap((line) => line.attributes).find((a) => a.staleReason)?.staleReason;

/** What the token of an unsubscribe link says, verified with the test key at `now`. */
export const unsubscribeTokenIn = (link: URL, now: Date) =>
  verifyUnsubscribeToken(present(link.searchParams.get('token'), 'a token'), unsubscribeKey, now);

/** The SES mailer the notifier uses, against the emulator unless given another client. */
export const sesMailer = (client = new SESv2Client({ maxAttempts: 1 })) =>
  createSesMailer({ client, from: 'notifications@example.com', sleep: noWait });

const renderer = createEmailRenderer();

/**
 * The queue batch's dependencies for a test file: its table (a getter, since the table is made
 * before each file's tests run) and the time its events are read at. `deps` takes any override;
 * `at` reads them at another instant.
 */
export function notifierDependencies(table: () => TestTable, now: Date) {
  const deps = (overrides: Partial<QueueBatchDependencies> = {}): QueueBatchDependencies => ({
    store: table().store,
    mailer: sesMailer(),
    renderer,
    appUrl,
    unsubscribeUrl,
    unsubscribeKey: () => Promise.resolve(unsubscribeKey),
    clock: () => now,
    leaseSeconds: 120,
    log: recordingLog(),
    ...overrides,
  });
  const at = (instant: Date, overrides: Partial<QueueBatchDependencies> = {}) =>
    deps({ clock: () => instant, ...overrides });
  return { deps, at };
}

/** A queue message carrying an event of `detailType` as the bus delivers it. */
export const eventRecord = (detailType: string, detail: object, time: Date): QueueRecord => ({
  messageId: randomUUID(),
  body: JSON.stringify(eventEnvelope({ detailType, source: 'tokenwatch', detail, time })),
});

/**
 * The table's store, but right after the notifier reads the account a refresh stores a new token
 * in the table (the next generation): the token is replaced between the read and the claim, so
 * the claim's check of the account must see it.
 */
export function storeReplacedAfterFirstRead(store: TableStore): NotifierDependencies['store'] {
  let reads = 0;
  return {
    ...store,
    readNoticeAccount: async (email, lease) => {
      const read = await store.readNoticeAccount(email, lease);
      reads += 1;
      if (reads === 1 && read.account) {
        const expiresAt = new Date(lease.now.getTime() + 60 * 86_400_000).toISOString();
        await store.replaceToken(
          read.account.accountId,
          read.account.generation,
          { accessToken: 'IGQ-not-a-real-token-refreshed', expiresAt },
          lease.now,
          'auto',
        );
      }
      return read;
    },
  };
}

/**
 * An owner and an opted-in developer of a fresh account, a `change` that turns its event stale,
 * then a batch with that event (`run`), checked to have sent nothing: no failure, one stale
 * message, no email to either, no record of `occasion` for the owner. Answers the stale reason
 * the notifier logged.
 */
export async function staleBatchReason<Scenario extends { accountId: string }>(
  table: TestTable,
  steps: {
    account: (owner: Person, developers: readonly Person[]) => Promise<Scenario>;
    change: (scenario: Scenario) => Promise<void>;
    run: (scenario: Scenario, log: RecordingLog) => Promise<BatchResult>;
    occasion: Occasion;
  },
) {
  const owner = await createPerson(table.store, 'owner');
  const developer = await createPerson(table.store, 'dev', developerOn);
  const scenario = await steps.account(owner, [developer]);
  await steps.change(scenario);
  const log = recordingLog();
  const result = await steps.run(scenario, log);
  expect(result.batchItemFailures).toEqual([]);
  expect(result.totals).toMatchObject({ sent: 0, stale: 1 });
  expect(await emailsTo([owner.email, developer.email])).toEqual([]);
  expect(
    await table.notificationRecord(scenario.accountId, 1, owner.userId, steps.occasion),
  ).toBeUndefined();
  return loggedStaleReason(log);
}

/** Time for `recipients` recipients in this invocation, then the reserve is reached. */
export const timeFor = (recipients: number) => {
  let started = 0;
  return { reserveMs: 1_000, remainingMs: () => (recipients - started++) * 1_000 };
};

/**
 * A local EventBridge stand-in with the bus `busName`, started before the tests of the calling
 * `describe` and stopped after them, for a batch to hand on what one receive could not send.
 */
export function useHandOnBus(busName: string) {
  let bus: EventBridgeStandIn;
  let events: EventBridgeClient;
  beforeAll(async () => {
    bus = await startEventBridgeStandIn({ eventBusNames: [busName], rules: [] });
    events = new EventBridgeClient({ endpoint: bus.endpoint });
  });
  afterAll(async () => {
    events.destroy();
    await bus.stop();
  });
  return {
    endpoint: () => bus.endpoint,
    /** A publisher to the stand-in's bus, or to another name it does not have. */
    publisher: (name = busName) =>
      createEventPublisher({ client: events, busName: name, sleep: noWait }),
    /** The events the bus took about `accountId`, in order. */
    handedOn: (accountId: string) =>
      bus.accepted.filter(
        (event) => (event.detail as { accountId?: string }).accountId === accountId,
      ),
  };
}
