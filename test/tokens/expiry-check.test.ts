import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createTestTable, useTestTable, type TestTable } from '../support/table';
import { createEventPublisher } from '#tokens/event-publisher';
import { createDocumentClient } from '#platform/dynamodb';
import { runExpiryCheck, type ExpiryCheckDependencies } from '#tokens/expiry-check';
import { type LogSink } from '#platform/observability';
import {
  createTableStore as createStore,
  type TableStore as TokenwatchStore,
} from '../../local/table-store';

const eventBridge = mockClient(EventBridgeClient);
afterEach(() => {
  eventBridge.reset();
});

const now = new Date('2026-11-25T12:00:00.000Z');
const hoursFromNow = (hours: number) => new Date(now.getTime() + hours * 3_600_000).toISOString();
const busName = 'tokenwatch-test-bus';

let table: TestTable;
useTestTable((created) => (table = created));

const silentLog: LogSink = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A fresh table per scenario: the check reads every due token in the table. */
async function withTable<T>(run: (store: TokenwatchStore) => Promise<T>): Promise<T> {
  const own = await createTestTable();
  try {
    return await run(own.store);
  } finally {
    await own.drop();
  }
}

async function dueAccounts(store: TokenwatchStore, count: number, accessToken = 'IGQ-x') {
  const ids: string[] = [];
  for (let n = 0; n < count; n += 1) {
    const accountId = `due-${String(n).padStart(2, '0')}-${randomUUID().slice(0, 6)}`;
    ids.push(accountId);
    await store.putAccount(
      {
        accountId,
        ownerUserId: 'u-owner',
        username: `due_${n}`,
        accessToken,
        expiresAt: hoursFromNow(-1 - n),
      },
      now,
    );
  }
  return ids;
}

/** EventBridge's answer: every entry accepted, unless `fail` names an error code for it. */
function answer(
  entries: PutEventsRequestEntry[],
  fail: (accountId: string) => string | undefined = () => undefined,
) {
  const results: PutEventsResultEntry[] = entries.map((entry) => {
    const { accountId } = JSON.parse(entry.Detail ?? '{}') as { accountId: string };
    const code = fail(accountId);
    return code
      ? { ErrorCode: code, ErrorMessage: `${code} for this entry` }
      : { EventId: randomUUID() };
  });
  return {
    FailedEntryCount: results.filter((result) => result.ErrorCode).length,
    Entries: results,
  };
}

const sentEntries = () =>
  eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);

function deps(store: TokenwatchStore, overrides: Partial<ExpiryCheckDependencies> = {}) {
  return {
    store,
    publisher: createEventPublisher({ busName, sleep: () => Promise.resolve() }),
    clock: () => now,
    lookbackDays: 7,
    log: silentLog,
    ...overrides,
  } satisfies ExpiryCheckDependencies;
}

describe('the expiry check', () => {
  it('publishes one event per due token, ten per call, then marks each token expired', async () => {
    await withTable(async (store) => {
      const ids = await dueAccounts(store, 23);
      await store.putAccount(
        {
          accountId: 'not-due',
          ownerUserId: 'u-owner',
          username: 'fine',
          accessToken: 'IGQ-x',
          expiresAt: hoursFromNow(24 * 30),
        },
        now,
      );
      eventBridge
        .on(PutEventsCommand)
        .callsFake((input: { Entries: PutEventsRequestEntry[] }) => answer(input.Entries));

      const summary = await runExpiryCheck(deps(store));

      expect(summary).toMatchObject({ due: 23, published: 23, marked: 23, failed: 0 });
      const calls = sentEntries();
      expect(calls.map((entries) => entries.length)).toEqual([10, 10, 3]);
      const entries = calls.flat();
      expect(entries).toHaveLength(23);
      expect(
        entries
          .map((entry) => JSON.parse(entry.Detail ?? '') as { accountId: string })
          .map((d) => d.accountId)
          .sort(),
      ).toEqual([...ids].sort());
      const first = entries.find((entry) => entry.Detail?.includes(ids[0] ?? '?'));
      expect(first).toEqual({
        EventBusName: busName,
        Source: 'tokenwatch',
        DetailType: 'Instagram Token Expired',
        Detail: JSON.stringify({
          accountId: ids[0],
          generation: 1,
          expiresAt: hoursFromNow(-1),
          reason: 'expired',
          cause: 'expired',
        }),
      });
      for (const id of ids) {
        expect(await store.getAccount(id)).toMatchObject({
          tokenStatus: 'expired',
          cause: 'expired',
        });
      }

      // Nothing is due any more: a second run publishes nothing.
      eventBridge.resetHistory();
      expect(await runExpiryCheck(deps(store))).toMatchObject({ due: 0, published: 0 });
      expect(sentEntries()).toEqual([]);
    });
  });

  it('re-sends only the entries EventBridge throttled, and gives up on the ones it refused', async () => {
    await withTable(async (store) => {
      const [throttledOnce, refused, ok, internal] = await dueAccounts(store, 4);
      let attempt = 0;
      eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
        attempt += 1;
        return answer(input.Entries, (accountId) => {
          if (accountId === refused) return 'MalformedDetail';
          if (attempt === 1 && accountId === throttledOnce) return 'ThrottlingException';
          if (attempt <= 2 && accountId === internal) return 'InternalFailure';
          return undefined;
        });
      });
      const waits: number[] = [];
      const publisher = createEventPublisher({
        busName,
        sleep: (ms) => {
          waits.push(ms);
          return Promise.resolve();
        },
      });
      const log: string[] = [];

      const summary = await runExpiryCheck(
        deps(store, {
          publisher,
          log: {
            ...silentLog,
            warn: (message, ...extra) => log.push(message + JSON.stringify(extra)),
          },
        }),
      );

      const calls = sentEntries().map((entries) =>
        entries.map((entry) => (JSON.parse(entry.Detail ?? '') as { accountId: string }).accountId),
      );
      expect(calls).toHaveLength(3);
      expect(calls[0]).toHaveLength(4);
      expect([...(calls[1] ?? [])].sort()).toEqual([throttledOnce, internal].sort());
      expect(calls[2]).toEqual([internal]);
      expect(waits).toHaveLength(2);
      expect(summary).toMatchObject({ due: 4, published: 3, marked: 3, failed: 1 });
      expect(summary.failedAccountIds).toEqual([refused]);
      expect(log.join('\n')).toContain('MalformedDetail');

      // The refused token was not marked: it stays due for the next run.
      for (const id of [throttledOnce, ok, internal]) {
        expect((await store.getAccount(id ?? '?'))?.tokenStatus).toBe('expired');
      }
      expect((await store.getAccount(refused ?? '?'))?.tokenStatus).toBe('active');
      eventBridge.resetHistory();
      expect(await runExpiryCheck(deps(store))).toMatchObject({ due: 1 });
    });
  });

  it('reports entries still throttled after the last attempt, and marks none of them', async () => {
    await withTable(async (store) => {
      await dueAccounts(store, 3);
      eventBridge
        .on(PutEventsCommand)
        .callsFake((input: { Entries: PutEventsRequestEntry[] }) =>
          answer(input.Entries, () => 'ThrottlingException'),
        );

      const summary = await runExpiryCheck(
        deps(store, {
          publisher: createEventPublisher({
            busName,
            maxAttempts: 3,
            sleep: () => Promise.resolve(),
          }),
        }),
      );

      expect(sentEntries()).toHaveLength(3);
      expect(summary).toMatchObject({ due: 3, published: 0, marked: 0, failed: 3 });
      expect(await runExpiryCheck(deps(store))).toMatchObject({ due: 3 });
    });
  });

  it('goes on with the next ten when a whole call fails', async () => {
    await withTable(async (store) => {
      await dueAccounts(store, 12);
      let call = 0;
      eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
        call += 1;
        if (call === 1) {
          throw Object.assign(new Error('not allowed'), {
            name: 'AccessDeniedException',
            $metadata: { httpStatusCode: 400 },
          });
        }
        return answer(input.Entries);
      });

      const summary = await runExpiryCheck(deps(store));

      expect(summary).toMatchObject({ due: 12, published: 2, marked: 2, failed: 10 });
    });
  });

  it('publishes again on the next run when marking failed after the event was accepted', async () => {
    await withTable(async (store) => {
      const [id] = await dueAccounts(store, 1);
      eventBridge
        .on(PutEventsCommand)
        .callsFake((input: { Entries: PutEventsRequestEntry[] }) => answer(input.Entries));
      const crashingMark = {
        dueTokens: store.dueTokens.bind(store),
        markTokenExpired: () => Promise.reject(new Error('connection reset')),
        markWarned: store.markWarned.bind(store),
        markReminded: store.markReminded.bind(store),
      };

      const first = await runExpiryCheck(deps(store, { store: crashingMark }));
      const second = await runExpiryCheck(deps(store));

      expect(first).toMatchObject({ due: 1, published: 1, marked: 0, markFailed: 1 });
      expect(second).toMatchObject({ due: 1, published: 1, marked: 1 });
      // At worst the same expiry is published twice; the notifier's records absorb it.
      expect(
        sentEntries()
          .flat()
          .map((entry) => entry.Detail),
      ).toEqual([expect.stringContaining(id ?? '?'), expect.stringContaining(id ?? '?')]);
    });
  });

  it('does not mark a token that was refreshed while its event was being published', async () => {
    await withTable(async (store) => {
      const [id] = await dueAccounts(store, 1);
      eventBridge
        .on(PutEventsCommand)
        .callsFake(async (input: { Entries: PutEventsRequestEntry[] }) => {
          await store.replaceToken(
            id ?? '?',
            1,
            { accessToken: 'IGQ-new', expiresAt: hoursFromNow(24 * 60) },
            now,
          );
          return answer(input.Entries);
        });

      const summary = await runExpiryCheck(deps(store));

      expect(summary).toMatchObject({ due: 1, published: 1, marked: 0, changedMeanwhile: 1 });
      expect(await store.getAccount(id ?? '?')).toMatchObject({
        tokenStatus: 'active',
        generation: 2,
      });
    });
  });

  it('reads only the due-token index and writes only the marks, never scanning the table', async () => {
    const commands: string[] = [];
    const client = new DynamoDBClient({});
    client.middlewareStack.add(
      (next, context) => (args) => {
        const input = args.input as { IndexName?: string };
        commands.push(
          `${context.commandName ?? '?'}${input.IndexName ? `@${input.IndexName}` : ''}`,
        );
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = createStore(createDocumentClient(client), table.tableName);
    await dueAccounts(table.store, 2);
    eventBridge
      .on(PutEventsCommand)
      .callsFake((input: { Entries: PutEventsRequestEntry[] }) => answer(input.Entries));

    await runExpiryCheck(deps(store, { lookbackDays: 1 }));

    expect([...new Set(commands)].sort()).toEqual(['QueryCommand@due-tokens', 'UpdateItemCommand']);
    client.destroy();
  });

  it('never puts the access token in an event or a log line', async () => {
    await withTable(async (store) => {
      const canary = `IGQ-CANARY-${randomUUID()}`;
      await dueAccounts(store, 2, canary);
      eventBridge
        .on(PutEventsCommand)
        .callsFake((input: { Entries: PutEventsRequestEntry[] }) => answer(input.Entries));
      const lines: unknown[] = [];
      const record = (...line: unknown[]) => lines.push(line);

      const summary = await runExpiryCheck(
        deps(store, { log: { info: record, warn: record, error: record } }),
      );

      expect(summary.published).toBe(2);
      expect(JSON.stringify(sentEntries())).not.toContain(canary);
      expect(JSON.stringify(lines)).not.toContain(canary);
      expect(JSON.stringify(summary)).not.toContain(canary);
    });
  });

  it('publishes the cause Instagram gave for a rejected token, and marks the account invalid with it', async () => {
    await withTable(async (store) => {
      const causes = {
        'password-changed': 'acc-password',
        'app-removed': 'acc-removed',
        checkpoint: 'acc-checkpoint',
        'session-invalidated': 'acc-session',
      } as const;
      for (const [cause, accountId] of Object.entries(causes)) {
        await store.putAccount(
          {
            accountId,
            ownerUserId: 'u-owner',
            username: accountId.replace('-', '_'),
            accessToken: 'IGQ-x',
            expiresAt: hoursFromNow(24 * 30),
          },
          now,
        );
        expect(
          await store.markTokenDueAsInvalid(accountId, 1, now, cause as keyof typeof causes),
        ).toBe(true);
      }
      eventBridge
        .on(PutEventsCommand)
        .callsFake((input: { Entries: PutEventsRequestEntry[] }) => answer(input.Entries));

      expect(await runExpiryCheck(deps(store))).toMatchObject({ due: 4, published: 4, marked: 4 });

      const published = sentEntries()
        .flat()
        .map((entry) => JSON.parse(entry.Detail ?? '') as Record<string, unknown>);
      for (const [cause, accountId] of Object.entries(causes)) {
        expect(published).toContainEqual({
          accountId,
          generation: 1,
          expiresAt: hoursFromNow(24 * 30),
          reason: 'invalid',
          cause,
        });
        expect(await store.getAccount(accountId)).toMatchObject({ tokenStatus: 'invalid', cause });
      }
    });
  });

  it('reads a token filed invalid before causes existed as a session Instagram ended', async () => {
    const own = await createTestTable();
    try {
      const store = own.store;
      await store.putAccount(
        {
          accountId: 'acc-old-filing',
          ownerUserId: 'u-owner',
          username: 'old_filing',
          accessToken: 'IGQ-x',
          expiresAt: hoursFromNow(24 * 30),
        },
        now,
      );
      // What the version before wrote: `dueReason: invalid`, no cause.
      await store.markTokenDueAsInvalid('acc-old-filing', 1, now, 'checkpoint');
      await createDocumentClient(own.client).send(
        new UpdateCommand({
          TableName: own.tableName,
          Key: { pk: 'IGACCOUNT#acc-old-filing', sk: 'TOKEN' },
          UpdateExpression: 'SET dueReason = :invalid',
          ExpressionAttributeValues: { ':invalid': 'invalid' },
        }),
      );
      eventBridge
        .on(PutEventsCommand)
        .callsFake((input: { Entries: PutEventsRequestEntry[] }) => answer(input.Entries));
      await runExpiryCheck(deps(store));
      const [detail] = sentEntries()
        .flat()
        .map((entry) => JSON.parse(entry.Detail ?? '') as Record<string, unknown>);
      expect(detail).toMatchObject({ reason: 'invalid', cause: 'session-invalidated' });
      expect(await store.getAccount('acc-old-filing')).toMatchObject({
        tokenStatus: 'invalid',
        cause: 'session-invalidated',
      });
    } finally {
      await own.drop();
    }
  });
});
