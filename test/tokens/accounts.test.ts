import { describe, expect, it } from 'vitest';
import { collect, useTestTable, type TestTable } from '../support/table';
import { GenerationConflictError } from '#tokens/errors';
import { isLoss } from '#tokens/due-tokens';
let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');
const hoursFromNow = (hours: number) => new Date(now.getTime() + hours * 3_600_000).toISOString();

describe('accounts and tokens', () => {
  it('never returns the access token from an ordinary read', async () => {
    await table.store.putAccount(
      {
        accountId: 'acc-plain',
        ownerUserId: 'u-owner',
        username: 'plain.shop',
        accessToken: 'IGQ-secret-plain',
        expiresAt: hoursFromNow(24 * 30),
      },
      now,
    );
    const account = await table.store.getAccount('acc-plain');
    expect(account).toEqual({
      accountId: 'acc-plain',
      ownerUserId: 'u-owner',
      username: 'plain.shop',
      expiresAt: hoursFromNow(24 * 30),
      tokenStatus: 'active',
      generation: 1,
    });
    expect(JSON.stringify(account)).not.toContain('IGQ-secret-plain');
    expect((await table.store.getAccountWithToken('acc-plain'))?.accessToken).toBe(
      'IGQ-secret-plain',
    );
  });

  it('replaces a token as the next generation, and refuses a write from a stale generation', async () => {
    await table.store.putAccount(
      {
        accountId: 'acc-race',
        ownerUserId: 'u-owner',
        username: 'race.shop',
        accessToken: 'IGQ-first',
        expiresAt: hoursFromNow(1),
      },
      now,
    );
    const replaced = await table.store.replaceToken(
      'acc-race',
      1,
      { accessToken: 'IGQ-second', expiresAt: hoursFromNow(24 * 60) },
      now,
    );
    expect(replaced.generation).toBe(2);
    expect(replaced).not.toHaveProperty('accessToken');

    await expect(
      table.store.replaceToken(
        'acc-race',
        1,
        { accessToken: 'IGQ-lost', expiresAt: hoursFromNow(24 * 60) },
        now,
      ),
    ).rejects.toBeInstanceOf(GenerationConflictError);
    expect((await table.store.getAccountWithToken('acc-race'))?.accessToken).toBe('IGQ-second');
  });
});

describe('a connected token without a known issue time', () => {
  it('counts as issued 60 days before it expires, and never later than now', async () => {
    await table.store.putAccount(
      {
        accountId: 'acc-issued',
        ownerUserId: 'u-owner',
        username: 'issued',
        accessToken: 'IGQ-issued',
        expiresAt: hoursFromNow(24 * 40),
      },
      now,
    );
    expect((await table.store.getAccountWithToken('acc-issued'))?.tokenIssuedAt).toBe(
      hoursFromNow(-24 * 20),
    );
    await table.store.putAccount(
      {
        accountId: 'acc-fresh',
        ownerUserId: 'u-owner',
        username: 'fresh',
        accessToken: 'IGQ-fresh',
        expiresAt: hoursFromNow(24 * 90),
      },
      now,
    );
    expect((await table.store.getAccountWithToken('acc-fresh'))?.tokenIssuedAt).toBe(
      now.toISOString(),
    );
  });
});

describe('an account stored again', () => {
  it('gets the next generation, so its new token is watched and notified afresh', async () => {
    const account = {
      accountId: 'acc-again',
      ownerUserId: 'u-owner',
      username: 'again',
      accessToken: 'IGQ-first-token',
      expiresAt: hoursFromNow(-1),
    };
    expect((await table.store.putAccount(account, now)).generation).toBe(1);
    const [due] = (await collect(table.store.dueTokens(now, 1)))
      .filter(isLoss)
      .filter((t) => t.accountId === 'acc-again');
    if (!due) throw new Error('expected the first token to be due');
    await table.store.markTokenExpired(due);
    const claim = { claimId: 'claim-a', now, leaseSeconds: 60 };
    await table.store.claimNotification(
      { accountId: 'acc-again', generation: 1, occasion: 'expired', userId: 'u-owner' },
      claim,
    );

    const again = await table.store.putAccount(
      { ...account, accessToken: 'IGQ-second-token' },
      now,
    );
    expect(again).toMatchObject({ generation: 2, tokenStatus: 'active' });
    const dueAgain = (await collect(table.store.dueTokens(now, 1)))
      .filter(isLoss)
      .filter((t) => t.accountId === 'acc-again');
    expect(dueAgain.map((t) => t.generation)).toEqual([2]);
    expect(
      await table.store.claimNotification(
        { accountId: 'acc-again', generation: 2, occasion: 'expired', userId: 'u-owner' },
        claim,
      ),
    ).toBe('claimed');
  });

  it('keeps an explicit generation, and takes a token that is not active off the due index', async () => {
    const account = {
      accountId: 'acc-explicit',
      ownerUserId: 'u-owner',
      username: 'explicit',
      accessToken: 'IGQ-explicit',
      expiresAt: hoursFromNow(-1),
    };
    await table.store.putAccount(account, now);
    await table.store.putAccount({ ...account, tokenStatus: 'invalid' }, now);
    expect(await table.store.getAccount('acc-explicit')).toMatchObject({
      generation: 2,
      tokenStatus: 'invalid',
    });
    expect(
      (await collect(table.store.dueTokens(now, 1))).some((t) => t.accountId === 'acc-explicit'),
    ).toBe(false);
    expect((await table.store.putAccount({ ...account, generation: 7 }, now)).generation).toBe(7);
  });

  it('keeps the cause of a token that is not active, and drops it with the next active token', async () => {
    const account = {
      accountId: 'acc-cause',
      ownerUserId: 'u-owner',
      username: 'cause.shop',
      accessToken: 'IGQ-cause-1',
      expiresAt: hoursFromNow(24 * 30),
    };
    await table.store.putAccount(
      { ...account, tokenStatus: 'invalid', cause: 'password-changed' },
      now,
    );
    expect(await table.store.getAccount('acc-cause')).toMatchObject({
      tokenStatus: 'invalid',
      cause: 'password-changed',
    });
    // A token stored lost without a cause gets its status' default.
    await table.store.putAccount({ ...account, tokenStatus: 'invalid' }, now);
    expect((await table.store.getAccount('acc-cause'))?.cause).toBe('session-invalidated');

    // A new active token, by the widget service or a reconnect, has no cause.
    await table.store.putAccount({ ...account, accessToken: 'IGQ-cause-2' }, now);
    expect(await table.store.getAccount('acc-cause')).not.toHaveProperty('cause');
    const { generation } = (await table.store.getAccount('acc-cause')) ?? { generation: 0 };
    expect(
      await table.store.markTokenDueAsInvalid('acc-cause', generation, now, 'app-removed'),
    ).toBe(true);
    const [due] = (await collect(table.store.dueTokens(now, 0)))
      .filter(isLoss)
      .filter((token) => token.accountId === 'acc-cause');
    expect(due).toMatchObject({ reason: 'invalid', cause: 'app-removed' });
    if (!due) throw new Error('unreachable');
    expect(await table.store.markTokenExpired(due)).toBe(true);
    expect((await table.store.getAccount('acc-cause'))?.cause).toBe('app-removed');
    await table.store.replaceToken(
      'acc-cause',
      generation,
      { accessToken: 'IGQ-cause-3', expiresAt: hoursFromNow(24 * 60) },
      now,
    );
    expect(await table.store.getAccount('acc-cause')).not.toHaveProperty('cause');
  });

  it('refuses a cause that does not go with the status', async () => {
    const account = {
      accountId: 'acc-bad-cause',
      ownerUserId: 'u-owner',
      username: 'bad.cause',
      accessToken: 'IGQ-bad',
      expiresAt: hoursFromNow(24),
    };
    await expect(table.store.putAccount({ ...account, cause: 'checkpoint' }, now)).rejects.toThrow(
      /cause goes only with a token that is not active/,
    );
    await expect(
      table.store.putAccount({ ...account, tokenStatus: 'expired', cause: 'checkpoint' }, now),
    ).rejects.toThrow(/cause goes only/);
  });
});
