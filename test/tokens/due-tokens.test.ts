import { describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { collect, createTestTable, useTestTable, type TestTable } from '../support/table';
import { dueBuckets, isLoss } from '#tokens/due-tokens';
let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');
const hoursFromNow = (hours: number) => new Date(now.getTime() + hours * 3_600_000).toISOString();

describe('the due-token index', () => {
  it('returns only tokens that are due, and none that were marked or are not active', async () => {
    const dueTable = await createTestTable();
    try {
      const base = { ownerUserId: 'u-owner', accessToken: 'IGQ-x' };
      await dueTable.store.putAccount(
        { ...base, accountId: 'due-1', username: 'due1', expiresAt: hoursFromNow(-2) },
        now,
      );
      // Stored long after it expired: filed under today, so the check still sees it.
      await dueTable.store.putAccount(
        { ...base, accountId: 'due-old', username: 'dueold', expiresAt: hoursFromNow(-24 * 40) },
        now,
      );
      await dueTable.store.putAccount(
        { ...base, accountId: 'later-today', username: 'later', expiresAt: hoursFromNow(3) },
        now,
      );
      await dueTable.store.putAccount(
        {
          ...base,
          accountId: 'next-month',
          username: 'nextmonth',
          expiresAt: hoursFromNow(24 * 30),
        },
        now,
      );
      await dueTable.store.putAccount(
        {
          ...base,
          accountId: 'already-expired',
          username: 'gone',
          expiresAt: hoursFromNow(-5),
          tokenStatus: 'expired',
        },
        now,
      );

      const entries = await collect(dueTable.store.dueTokens(now, 2));
      const due = entries.filter(isLoss);
      expect(due.map((token) => token.accountId).sort()).toEqual(['due-1', 'due-old']);
      // A token expiring in three hours is not lost yet, but its last warning is due.
      expect(entries.find((entry) => entry.accountId === 'later-today')).toMatchObject({
        kind: 'warning',
        daysLeft: 1,
      });
      expect(entries.map((entry) => entry.accountId)).not.toContain('next-month');
      expect(due.find((token) => token.accountId === 'due-1')).toEqual({
        kind: 'lost',
        accountId: 'due-1',
        generation: 1,
        expiresAt: hoursFromNow(-2),
        reason: 'expired',
        cause: 'expired',
      });

      // Marking takes the token off the index; a second mark of the same generation is a no-op.
      const first = due.find((token) => token.accountId === 'due-1');
      if (!first) throw new Error('unreachable');
      expect(await dueTable.store.markTokenExpired(first)).toBe(true);
      expect(await dueTable.store.markTokenExpired(first)).toBe(false);
      expect((await dueTable.store.getAccount('due-1'))?.tokenStatus).toBe('expired');
      expect(
        (await collect(dueTable.store.dueTokens(now, 2))).map((t) => `${t.accountId} ${t.kind}`),
      ).toEqual(['later-today warning', 'due-old lost']);
    } finally {
      await dueTable.drop();
    }
  });

  it('does not mark a token whose generation moved on since it was found due', async () => {
    await table.store.putAccount(
      {
        accountId: 'acc-refreshed',
        ownerUserId: 'u-owner',
        username: 'refreshed',
        accessToken: 'IGQ-old',
        expiresAt: hoursFromNow(-1),
      },
      now,
    );
    const [stale] = (await collect(table.store.dueTokens(now, 1)))
      .filter(isLoss)
      .filter((t) => t.accountId === 'acc-refreshed');
    if (!stale) throw new Error('expected the token to be due');
    await table.store.replaceToken(
      'acc-refreshed',
      1,
      { accessToken: 'IGQ-new', expiresAt: hoursFromNow(24 * 60) },
      now,
    );
    expect(await table.store.markTokenExpired(stale)).toBe(false);
    expect((await table.store.getAccount('acc-refreshed'))?.tokenStatus).toBe('active');
  });

  it('files a token Instagram rejected as due now, with the reason invalid', async () => {
    await table.store.putAccount(
      {
        accountId: 'acc-revoked',
        ownerUserId: 'u-owner',
        username: 'revoked',
        accessToken: 'IGQ-revoked',
        expiresAt: hoursFromNow(24 * 20),
      },
      now,
    );
    expect(await table.store.markTokenDueAsInvalid('acc-revoked', 1, now, 'checkpoint')).toBe(true);
    const due = (await collect(table.store.dueTokens(now, 0)))
      .filter(isLoss)
      .find((t) => t.accountId === 'acc-revoked');
    expect(due?.reason).toBe('invalid');
    expect(due?.cause).toBe('checkpoint');
  });

  it('never projects the access token into an index', async () => {
    const scanned = await table.client.send(
      new ScanCommand({ TableName: table.tableName, IndexName: 'due-tokens' }),
    );
    expect(scanned.Items?.length).toBeGreaterThan(0);
    for (const item of scanned.Items ?? []) expect(item).not.toHaveProperty('accessToken');
  });

  it('covers each day of the look-back and every shard', () => {
    const buckets = dueBuckets(now, 1);
    expect(buckets[0]).toBe('2026-11-24#0');
    expect(buckets.at(-1)).toMatch(/^2026-11-25#\d$/);
    expect(new Set(buckets).size).toBe(buckets.length);
  });
});
