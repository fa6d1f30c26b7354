/**
 * Reminders, the check's side, on DynamoDB Local: a token announced lost is filed for its
 * reminders and moved on after each, until a new token, its removal or the last step.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogSink } from '#platform/observability';
import { createDocumentClient } from '#platform/dynamodb';
import { createDueTokenSchedule } from '#tokens/due-tokens';
import type { TokenReminderDetail } from '#tokens/events';
import { runExpiryCheck } from '#tokens/expiry-check';
import { DAY_MS } from '#tokens/lifecycle';
import { defaultTokenSchedule, nextReminder } from '#tokens/token-schedule';
import { createTestTable, type TestTable } from '../support/table';

const quiet: LogSink = { info: () => undefined, warn: () => undefined, error: () => undefined };
const base = new Date('2026-12-01T12:00:00.000Z');
const at = (days: number) => new Date(base.getTime() + days * DAY_MS);

let table: TestTable;
let reminded: TokenReminderDetail[];
let expiredCount: number;
beforeEach(async () => {
  table = await createTestTable();
  reminded = [];
  expiredCount = 0;
});
afterEach(async () => {
  await table.drop();
});

const check = (now: Date, steps: readonly number[] = [3, 7, 14, 28]) =>
  runExpiryCheck({
    store: createDueTokenSchedule(
      createDocumentClient(table.client),
      table.tableName,
      defaultTokenSchedule,
      steps,
    ),
    publisher: {
      publishTokenExpired: (details) => {
        expiredCount += details.length;
        return Promise.resolve({ accepted: [...details], rejected: [] });
      },
      publishTokenExpiring: (details) => Promise.resolve({ accepted: [...details], rejected: [] }),
      publishTokenReminder: <Detail extends TokenReminderDetail>(details: readonly Detail[]) => {
        reminded.push(...details);
        return Promise.resolve({ accepted: [...details], rejected: [] });
      },
    },
    clock: () => now,
    lookbackDays: 7,
    log: quiet,
  });

const lose = (accountId: string) =>
  table.store.putAccount(
    {
      accountId,
      ownerUserId: 'u-owner',
      username: accountId.replace(/-/g, '_'),
      accessToken: `IGQ-${accountId}`,
      expiresAt: at(-0.5).toISOString(),
    },
    at(-0.5),
  );

const steps = () => reminded.map((detail) => `${detail.daysSince}${detail.last ? ' last' : ''}`);

describe('reminders of a lost token', () => {
  it('come 3, 7, 14 and 28 days after the announcement, each once, the last one said so', async () => {
    await lose('still-lost');
    await check(base);
    expect(expiredCount).toBe(1);
    for (let day = 1; day <= 40; day += 0.5) await check(at(day));
    expect(steps()).toEqual(['3', '7', '14', '28 last']);
    expect(reminded[0]).toEqual({
      kind: 'reminder',
      accountId: 'still-lost',
      generation: 1,
      expiresAt: at(-0.5).toISOString(),
      reason: 'expired',
      cause: 'expired',
      daysSince: 3,
      last: false,
      announcedAt: base.getTime(),
    });
    expect(expiredCount).toBe(1);
    // After the last step the token is off the index.
    expect(await table.itemsMentioning('reminder-')).toEqual([]);
  });

  it('carry the cause of an invalid token', async () => {
    await table.store.putAccount(
      {
        accountId: 'refused',
        ownerUserId: 'u-owner',
        username: 'refused',
        accessToken: 'IGQ-refused',
        expiresAt: at(20).toISOString(),
      },
      base,
    );
    await table.store.markTokenDueAsInvalid('refused', 1, base, 'password-changed');
    await check(base);
    await check(at(3.1));
    expect(reminded).toEqual([
      expect.objectContaining({ reason: 'invalid', cause: 'password-changed', daysSince: 3 }),
    ]);
  });

  it('stop at a new token', async () => {
    await lose('reconnected');
    await check(base);
    await check(at(3.1));
    await table.store.replaceToken(
      'reconnected',
      1,
      { accessToken: 'IGQ-new', expiresAt: at(64).toISOString() },
      at(4),
    );
    for (let day = 5; day <= 30; day += 1) await check(at(day));
    expect(steps()).toEqual(['3']);
  });

  it('stop when the account is removed', async () => {
    await lose('removed');
    await check(base);
    await table.store.deleteAccountItems('removed');
    for (let day = 1; day <= 30; day += 1) await check(at(day));
    expect(reminded).toEqual([]);
  });

  it('after a check that could not run for days, only the latest passed step comes', async () => {
    await lose('late');
    await check(base);
    // Days 3 and 7 passed while no check ran (within the look-back of 7 days).
    await check(at(9));
    await check(at(9.1));
    expect(steps()).toEqual(['7']);
    await check(at(16));
    await check(at(29));
    expect(steps()).toEqual(['7', '14', '28 last']);
  });

  it('a warning read late is the latest step that has come: the 1-day one, not the 7-day one first', async () => {
    await table.store.putAccount(
      {
        accountId: 'warned-late',
        ownerUserId: 'u-owner',
        username: 'warned_late',
        accessToken: 'IGQ-warned-late',
        expiresAt: at(10).toISOString(),
      },
      base,
    );
    const warnings: number[] = [];
    const store = createDueTokenSchedule(createDocumentClient(table.client), table.tableName);
    const run = (now: Date) =>
      runExpiryCheck({
        store,
        publisher: {
          publishTokenExpired: (details) =>
            Promise.resolve({ accepted: [...details], rejected: [] }),
          publishTokenExpiring: (details) => {
            warnings.push(...details.map((detail) => detail.daysLeft));
            return Promise.resolve({ accepted: [...details], rejected: [] });
          },
          publishTokenReminder: <Detail extends TokenReminderDetail>(details: readonly Detail[]) =>
            Promise.resolve({ accepted: [...details], rejected: [] }),
        },
        clock: () => now,
        lookbackDays: 7,
        log: quiet,
      });
    // The 7-day warning was due on day 3; no check ran until 12 hours before the expiry.
    await run(at(9.5));
    await run(at(9.6));
    expect(warnings).toEqual([1]);
  });

  it('are none with no steps configured: the token leaves the index once announced', async () => {
    await lose('quiet');
    await check(base, []);
    for (let day = 1; day <= 30; day += 1) await check(at(day), []);
    expect(reminded).toEqual([]);
    expect(await table.itemsMentioning('dueBucket')).toEqual([]);
  });

  it('a second mark of the same loss changes nothing', async () => {
    await lose('twice');
    const [entry] = (await collectDue(base)).filter((due) => due.accountId === 'twice');
    if (!entry || entry.kind !== 'lost') throw new Error('expected the loss to be due');
    expect(await table.store.markTokenExpired(entry, base)).toBe(true);
    expect(await table.store.markTokenExpired(entry, at(1))).toBe(false);
    const item = await table.store.getAccountWithToken('twice');
    expect(item?.tokenStatus).toBe('expired');
  });
});

describe('the next reminder', () => {
  it('is the next step, or the latest passed one, or none after the last', () => {
    const announced = base.getTime();
    const steps = [3, 7, 14, 28];
    expect(nextReminder(announced, base, steps)).toEqual({
      daysSince: 3,
      at: at(3).toISOString(),
    });
    expect(nextReminder(announced, at(10), steps, 3)).toEqual({
      daysSince: 7,
      at: at(7).toISOString(),
    });
    expect(nextReminder(announced, at(30), steps, 7)).toEqual({
      daysSince: 28,
      at: at(28).toISOString(),
    });
    expect(nextReminder(announced, at(30), steps, 28)).toBeUndefined();
  });
});

async function collectDue(now: Date) {
  const entries = [];
  for await (const page of table.store.dueTokens(now, 7)) entries.push(...page);
  return entries;
}

describe('what the check publishes', () => {
  it('puts exactly the fields of each event on the bus, whatever else the check knows', async () => {
    const { EventBridgeClient } = await import('@aws-sdk/client-eventbridge');
    const { startEventBridgeStandIn } = await import('../../local/eventbridge');
    const { createEventPublisher } = await import('#tokens/event-publisher');
    const bus = await startEventBridgeStandIn({ eventBusNames: ['tokenwatch-test'], rules: [] });
    const client = new EventBridgeClient({ endpoint: bus.endpoint, maxAttempts: 1 });
    try {
      await lose('published');
      await table.store.putAccount(
        {
          accountId: 'published-warning',
          ownerUserId: 'u-owner',
          username: 'published_warning',
          accessToken: 'IGQ-published-warning',
          expiresAt: at(10).toISOString(),
        },
        base,
      );
      const publisher = createEventPublisher({ busName: 'tokenwatch-test', client });
      for (const now of [base, at(3.1), at(9.5)]) {
        await runExpiryCheck({
          store: table.store,
          publisher,
          clock: () => now,
          lookbackDays: 7,
          log: quiet,
        });
      }
      const fields = (detailType: string) =>
        bus.accepted
          .filter((event) => event['detail-type'] === detailType)
          .map((event) => Object.keys(event.detail as object).sort());
      expect(fields('Instagram Token Expiring')).toEqual([
        ['accountId', 'daysLeft', 'expiresAt', 'generation'],
        ['accountId', 'daysLeft', 'expiresAt', 'generation'],
      ]);
      const reminderFields = [
        'accountId',
        'cause',
        'daysSince',
        'expiresAt',
        'generation',
        'last',
        'reason',
      ];
      expect(fields('Instagram Token Reminder')).toEqual([reminderFields, reminderFields]);
      expect(JSON.stringify(bus.accepted)).not.toContain('IGQ-');
    } finally {
      client.destroy();
      await bus.stop();
    }
  });
});
