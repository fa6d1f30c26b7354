import { describe, expect, it } from 'vitest';
import { connectAccount, disconnectAccount } from '#tokens/connect';
import { collect, useTestTable, type TestTable } from '../support/table';
let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');
const later = new Date('2026-11-26T12:00:00.000Z');
const inDays = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString();

const connection = (accessToken: string, expiresAt = inDays(30)) => ({
  ownerUserId: 'u-owner',
  username: 'shop',
  accessToken,
  expiresAt,
});

const stored = async (accountId: string) =>
  (await table.scanAll()).find(
    (item) => item.pk === `IGACCOUNT#${accountId}` && item.sk === 'TOKEN',
  );

describe('connecting an account from the widget service', () => {
  it('stores a new account as generation 1, watched from now on', async () => {
    const answer = await connectAccount(table.store, 'acc-new', connection('IGQ-new-1'), now);
    expect(answer).toEqual({
      accountId: 'acc-new',
      generation: 1,
      tokenStatus: 'active',
      expiresAt: inDays(30),
    });
    expect(JSON.stringify(answer)).not.toContain('IGQ-new-1');
    expect(await stored('acc-new')).toMatchObject({
      accessToken: 'IGQ-new-1',
      memberUserId: 'u-owner',
      memberRelation: 'OWNER#acc-new',
      // Watched: filed for its first warning (7 days before its expiry), and for its refresh
      // (14 days before).
      dueAt: inDays(23),
      dueReason: 'expiring-7',
      refreshAt: inDays(16),
      tokenIssuedAt: inDays(-30),
    });
    expect((await table.store.listAccountsOf('u-owner')).map((a) => a.accountId)).toContain(
      'acc-new',
    );
  });

  it('changes nothing when the same token comes again', async () => {
    await connectAccount(table.store, 'acc-same', connection('IGQ-same'), now);
    const before = await stored('acc-same');
    const again = await connectAccount(
      table.store,
      'acc-same',
      connection('IGQ-same', inDays(45)),
      later,
    );
    expect(again.generation).toBe(1);
    expect(again.expiresAt).toBe(inDays(30));
    expect(await stored('acc-same')).toEqual(before);
  });

  it('updates only the owner and the name when the same token comes with new ones', async () => {
    await connectAccount(table.store, 'acc-moved', connection('IGQ-moved'), now);
    const answer = await connectAccount(
      table.store,
      'acc-moved',
      { ...connection('IGQ-moved'), ownerUserId: 'u-heir', username: 'renamed' },
      later,
    );
    expect(answer.generation).toBe(1);
    expect(await table.store.getAccount('acc-moved')).toMatchObject({
      ownerUserId: 'u-heir',
      username: 'renamed',
      generation: 1,
    });
    expect((await table.store.listAccountsOf('u-heir')).map((a) => a.accountId)).toEqual([
      'acc-moved',
    ]);
    expect((await table.store.listAccountsOf('u-owner')).map((a) => a.accountId)).not.toContain(
      'acc-moved',
    );
  });

  it('stores another token as the next generation, active and filed for watching', async () => {
    await connectAccount(table.store, 'acc-next', connection('IGQ-next-1'), now);
    await table.store.markTokenDueAsInvalid('acc-next', 1, now, 'password-changed');
    const answer = await connectAccount(
      table.store,
      'acc-next',
      { ...connection('IGQ-next-2', inDays(60)), issuedAt: now.toISOString() },
      later,
    );
    expect(answer).toEqual({
      accountId: 'acc-next',
      generation: 2,
      tokenStatus: 'active',
      expiresAt: inDays(60),
    });
    const item = await stored('acc-next');
    expect(item).toMatchObject({ accessToken: 'IGQ-next-2', tokenIssuedAt: now.toISOString() });
    // Filed afresh for the new token: its first warning, not what the old one was due for.
    expect(item).toMatchObject({ dueAt: inDays(53), dueReason: 'expiring-7' });
    expect(item).not.toHaveProperty('cause');
  });

  it('files a token that arrives already expired as due, so the next check announces it', async () => {
    await connectAccount(table.store, 'acc-late', connection('IGQ-late', inDays(-2)), now);
    const due = await collect(table.store.dueTokens(now, 1));
    expect(due).toContainEqual({
      kind: 'lost',
      accountId: 'acc-late',
      generation: 1,
      expiresAt: inDays(-2),
      reason: 'expired',
      cause: 'expired',
    });
    // Past its expiry, it can only be reconnected: it is not filed for a refresh.
    expect(await stored('acc-late')).not.toHaveProperty('refreshAt');
  });

  it('makes one generation of two concurrent connects of the same token', async () => {
    await connectAccount(table.store, 'acc-race', connection('IGQ-race-1'), now);
    const answers = await Promise.all(
      [1, 2, 3].map(() => connectAccount(table.store, 'acc-race', connection('IGQ-race-2'), now)),
    );
    expect(answers.map((a) => a.generation)).toEqual([2, 2, 2]);
  });
});

describe('disconnecting an account', () => {
  it('deletes its token, roles and records, and nothing else', async () => {
    await connectAccount(table.store, 'acc-gone', connection('IGQ-gone'), now);
    await connectAccount(table.store, 'acc-kept', connection('IGQ-kept'), now);
    await table.store.putDeveloperRole({ accountId: 'acc-gone', userId: 'u-dev' }, now);
    for (let i = 0; i < 30; i += 1) {
      const email = {
        accountId: 'acc-gone',
        generation: 1,
        occasion: 'expired',
        userId: `u-${i}`,
      } as const;
      await table.store.claimNotification(email, { claimId: 'c', now, leaseSeconds: 60 });
    }
    expect((await table.itemsMentioning('acc-gone')).length).toBe(32);

    await disconnectAccount(table.store, 'acc-gone');
    await disconnectAccount(table.store, 'acc-gone');

    expect(await table.itemsMentioning('acc-gone')).toEqual([]);
    expect(await table.store.getAccount('acc-kept')).toBeDefined();
    expect(await table.store.listAccountsOf('u-dev')).toEqual([]);
  });
});
