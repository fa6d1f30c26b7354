import { describe, expect, it } from 'vitest';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { DAY_MS } from '#tokens/lifecycle';
import { defaultTokenSchedule } from '#tokens/token-schedule';
import { main, refileTokens } from '../../scripts/refile-tokens';
import { useTestTable, type TestTable } from '../support/table';

let table: TestTable;
useTestTable((created) => (table = created));
const now = new Date('2026-12-01T12:00:00.000Z');
const inDays = (days: number) => new Date(now.getTime() + days * DAY_MS).toISOString();

describe('npm run refile', () => {
  it('files tokens stored by a version without automatic refresh for their refresh and warnings', async () => {
    const db = createDocumentClient(table.client);
    // As the version before wrote it: filed for its expiry only.
    await db.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.account('acc-old'),
          accountId: 'acc-old',
          ownerUserId: 'u',
          username: 'old',
          accessToken: 'IGQ-old',
          expiresAt: inDays(30),
          tokenIssuedAt: inDays(-30),
          tokenStatus: 'active',
          generation: 3,
          dueBucket: `${inDays(30).slice(0, 10)}#0`,
          dueAt: inDays(30),
        },
      }),
    );
    await table.store.putAccount(
      {
        accountId: 'acc-lost',
        ownerUserId: 'u',
        username: 'lost',
        accessToken: 'IGQ-lost',
        expiresAt: inDays(-3),
        tokenStatus: 'expired',
      },
      now,
    );
    const summary = await refileTokens(db, table.tableName, defaultTokenSchedule, now);
    expect(summary).toEqual({ accounts: 2, refiled: 1, changedMeanwhile: 0 });
    const item = (
      await db.send(new GetCommand({ TableName: table.tableName, Key: keys.account('acc-old') }))
    ).Item;
    expect(item).toMatchObject({
      generation: 3,
      dueAt: inDays(23),
      dueReason: 'expiring-7',
      refreshAt: inDays(16),
    });
    // Once more changes nothing.
    await refileTokens(db, table.tableName, defaultTokenSchedule, now);
    expect(
      (await db.send(new GetCommand({ TableName: table.tableName, Key: keys.account('acc-old') })))
        .Item,
    ).toEqual(item);
    const lost = await table.store.getAccountWithToken('acc-lost');
    expect(lost?.refreshAt).toBeUndefined();
  });

  it('refuses bad options with its usage, and writes nothing', async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      expect(await main([])).toBe(2);
      expect(await main(['--table', table.tableName, '--warn-before-days', 'soon'])).toBe(2);
    } finally {
      console.error = original;
    }
    expect(errors.join('\n')).toMatch(/WARN_BEFORE_DAYS/);
  });
});
