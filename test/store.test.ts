import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { createTestTable, type TestTable } from './support/table';
import { dueBuckets, type DueToken } from '#tokens/due-tokens';
import { requireAccess } from '#tokens/access';
import { AccountNotFoundError, GenerationConflictError } from '#tokens/errors';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table.drop();
});

const now = new Date('2026-11-25T12:00:00.000Z');
const hoursFromNow = (hours: number) => new Date(now.getTime() + hours * 3_600_000).toISOString();

async function collect(generator: AsyncGenerator<DueToken[]>): Promise<DueToken[]> {
  const all: DueToken[] = [];
  for await (const page of generator) all.push(...page);
  return all;
}

describe('user profiles', () => {
  it('round-trips profiles and reads many at once', async () => {
    await table.store.putProfile({ userId: 'u-ann', email: 'ann@example.com', name: 'Ann' });
    await table.store.putProfile({ userId: 'u-bob', email: 'bob@example.com', name: 'Bob' });
    const profiles = await table.store.getProfiles(['u-ann', 'u-bob', 'u-nobody', 'u-ann']);
    expect(profiles.size).toBe(2);
    expect(profiles.get('u-ann')).toEqual({
      userId: 'u-ann',
      email: 'ann@example.com',
      name: 'Ann',
    });
  });

  it('rejects a profile without a valid email and writes nothing', async () => {
    await expect(
      table.store.putProfile({ userId: 'u-bad', email: 'not-an-email', name: 'Bad' }),
    ).rejects.toThrow();
    expect((await table.store.getProfiles(['u-bad'])).size).toBe(0);
  });
});

describe('notification preferences', () => {
  it('are the defaults when none were stored: owner emails on, developer emails off', async () => {
    expect(await table.store.getPreferences('u-fresh')).toEqual({
      ownerExpiredToken: true,
      developerExpiredToken: false,
      updatedAt: null,
    });
  });

  it('round-trip with the time they were updated', async () => {
    const stored = await table.store.putPreferences(
      'u-dev',
      { ownerExpiredToken: false, developerExpiredToken: true },
      now,
    );
    expect(stored).toEqual({
      ownerExpiredToken: false,
      developerExpiredToken: true,
      updatedAt: now.toISOString(),
    });
    expect(await table.store.getPreferences('u-dev')).toEqual(stored);
  });

  it('are read in a batch, with defaults for users who never saved any', async () => {
    await table.store.putPreferences(
      'u-batch',
      { ownerExpiredToken: true, developerExpiredToken: true },
      now,
    );
    const many = await table.store.getPreferencesOf(['u-batch', 'u-never']);
    expect(many.get('u-batch')?.developerExpiredToken).toBe(true);
    expect(many.get('u-never')).toEqual({
      ownerExpiredToken: true,
      developerExpiredToken: false,
      updatedAt: null,
    });
  });

  it('turning one off keeps the other as stored, or at its default', async () => {
    await table.store.putPreferences(
      'u-both',
      { ownerExpiredToken: true, developerExpiredToken: true },
      now,
    );
    expect(await table.store.turnOffPreference('u-both', 'developerExpiredToken', now)).toEqual({
      ownerExpiredToken: true,
      developerExpiredToken: false,
      updatedAt: now.toISOString(),
    });
    expect(await table.store.turnOffPreference('u-none', 'ownerExpiredToken', now)).toEqual({
      ownerExpiredToken: false,
      developerExpiredToken: false,
      updatedAt: now.toISOString(),
    });
  });
});

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

      const due = await collect(dueTable.store.dueTokens(now, 2));
      expect(due.map((token) => token.accountId).sort()).toEqual(['due-1', 'due-old']);
      expect(due.find((token) => token.accountId === 'due-1')).toEqual({
        accountId: 'due-1',
        generation: 1,
        expiresAt: hoursFromNow(-2),
        reason: 'expired',
      });

      // Marking takes the token off the index; a second mark of the same generation is a no-op.
      const first = due.find((token) => token.accountId === 'due-1');
      if (!first) throw new Error('unreachable');
      expect(await dueTable.store.markTokenExpired(first)).toBe(true);
      expect(await dueTable.store.markTokenExpired(first)).toBe(false);
      expect((await dueTable.store.getAccount('due-1'))?.tokenStatus).toBe('expired');
      expect((await collect(dueTable.store.dueTokens(now, 2))).map((t) => t.accountId)).toEqual([
        'due-old',
      ]);
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
    const [stale] = (await collect(table.store.dueTokens(now, 1))).filter(
      (t) => t.accountId === 'acc-refreshed',
    );
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
    expect(await table.store.markTokenDueAsInvalid('acc-revoked', 1, now)).toBe(true);
    const due = (await collect(table.store.dueTokens(now, 0))).find(
      (t) => t.accountId === 'acc-revoked',
    );
    expect(due?.reason).toBe('invalid');
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

describe('developer roles', () => {
  /** How a user relates to an account, by the access rule; undefined when not at all. */
  const relationTo = (accountId: string, userId: string) =>
    requireAccess(table.store, accountId, userId).catch((error: unknown) => {
      if (error instanceof AccountNotFoundError) return undefined;
      throw error;
    });

  it('lists the accounts a user owns and develops for, owner first when both', async () => {
    const own = { ownerUserId: 'u-carla', accessToken: 'IGQ-y', expiresAt: hoursFromNow(100) };
    await table.store.putAccount({ ...own, accountId: 'carla-1', username: 'carla.one' }, now);
    await table.store.putAccount(
      { ...own, ownerUserId: 'u-client', accountId: 'client-1', username: 'client.bakery' },
      now,
    );
    await table.store.putDeveloperRole({ accountId: 'client-1', userId: 'u-carla' }, now);
    // Carla is also a developer on her own account: she still sees it once, as owner.
    await table.store.putDeveloperRole({ accountId: 'carla-1', userId: 'u-carla' }, now);

    const accounts = await table.store.listAccountsOf('u-carla');
    expect(accounts.map((a) => [a.accountId, a.relation])).toEqual([
      ['carla-1', 'owner'],
      ['client-1', 'developer'],
    ]);
    expect(JSON.stringify(accounts)).not.toContain('IGQ-');

    expect(await relationTo('client-1', 'u-carla')).toMatchObject({
      relation: 'developer',
    });
    expect(await relationTo('client-1', 'u-client')).toMatchObject({
      relation: 'owner',
    });
    expect(await relationTo('client-1', 'u-stranger')).toBeUndefined();
    expect(await relationTo('no-such-account', 'u-carla')).toBeUndefined();
    expect((await table.store.listDeveloperIds('client-1')).sort()).toEqual(['u-carla']);

    await table.store.deleteDeveloperRole('client-1', 'u-carla');
    expect(await relationTo('client-1', 'u-carla')).toBeUndefined();
  });
});

describe('notification records', () => {
  const email = (accountId: string, generation: number, userId: string) => ({
    accountId,
    generation,
    occasion: 'expired' as const,
    userId,
  });
  const claimAt = (at: Date, claimId = 'claim-a') => ({ claimId, now: at, leaseSeconds: 60 });
  /** Past the 60-second lease of a claim made `now`. */
  const later = new Date(now.getTime() + 61_000);
  /** `slow` claimed the email `now` and is still sending; `next` took the claim over `later`. */
  async function takenOver(accountId: string) {
    const key = email(accountId, 1, 'u-dev');
    await table.store.claimNotification(key, claimAt(now, 'slow'));
    await table.store.claimNotification(key, claimAt(later, 'next'));
    return key;
  }
  const complete = (key: ReturnType<typeof email>, claimId: string, messageId: string) =>
    table.store.completeNotification(key, claimId, { messageId, sentAt: later });

  it('let exactly one sender claim a recipient for a generation', async () => {
    const owner = email('acc-n', 3, 'u-owner');
    const claims = await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        table.store.claimNotification(owner, claimAt(now, `claim-${index}`)),
      ),
    );
    expect(claims.filter((claim) => claim === 'claimed')).toHaveLength(1);
    expect(claims.filter((claim) => claim === 'in-progress')).toHaveLength(4);

    const holder = `claim-${claims.indexOf('claimed')}`;
    expect(
      await table.store.completeNotification(owner, holder, { messageId: 'm-1', sentAt: now }),
    ).toBe('recorded');
    expect(await table.store.claimNotification(owner, claimAt(now, 'claim-late'))).toBe('sent');
    const record = await table.notificationRecord('acc-n', 3, 'u-owner');
    expect(record).toMatchObject({ status: 'sent', messageId: 'm-1', sentAt: now.toISOString() });
    expect(record?.ttl).toBeGreaterThan(now.getTime() / 1000);
  });

  it('hand over a claim whose sender died once its lease ran out', async () => {
    const developer = email('acc-d', 1, 'u-dev');
    expect(await table.store.claimNotification(developer, claimAt(now))).toBe('claimed');
    const soon = new Date(now.getTime() + 30_000);
    expect(await table.store.claimNotification(developer, claimAt(soon, 'claim-b'))).toBe(
      'in-progress',
    );
    expect(await table.store.claimNotification(developer, claimAt(later, 'claim-b'))).toBe(
      'claimed',
    );
  });

  it('can be released after a failed send, and a sent record is never released', async () => {
    const developer = email('acc-r', 1, 'u-dev');
    expect(await table.store.claimNotification(developer, claimAt(now))).toBe('claimed');
    await table.store.releaseNotification(developer, 'claim-a');
    expect(await table.store.claimNotification(developer, claimAt(now, 'claim-b'))).toBe('claimed');
    await table.store.completeNotification(developer, 'claim-b', { messageId: 'm', sentAt: now });
    await table.store.releaseNotification(developer, 'claim-b');
    expect(await table.store.claimNotification(developer, claimAt(now, 'claim-c'))).toBe('sent');
  });

  it('let only the holder release a claim: a sender that outlived its lease cannot give away the next one', async () => {
    const developer = email('acc-o', 1, 'u-dev');
    expect(await table.store.claimNotification(developer, claimAt(now, 'slow'))).toBe('claimed');
    expect(await table.store.claimNotification(developer, claimAt(later, 'next'))).toBe('claimed');

    // The slow sender's send fails after all, and it gives back what it thinks is its claim.
    await table.store.releaseNotification(developer, 'slow');
    expect(await table.notificationRecord('acc-o', 1, 'u-dev')).toMatchObject({
      status: 'sending',
    });
    expect(await table.store.claimNotification(developer, claimAt(later, 'third'))).toBe(
      'in-progress',
    );
  });

  it('record an email that went out even after a takeover, so the new holder cannot release it for a third send', async () => {
    const developer = await takenOver('acc-t');

    expect(await complete(developer, 'slow', 'm-slow')).toBe('recorded');
    await table.store.releaseNotification(developer, 'next');
    expect(await table.store.claimNotification(developer, claimAt(later, 'third'))).toBe('sent');

    // The new holder's own send went out too: the second email is reported, the first record kept.
    expect(await complete(developer, 'next', 'm-next')).toBe('already-recorded');
    expect(await table.notificationRecord('acc-t', 1, 'u-dev')).toMatchObject({
      status: 'sent',
      messageId: 'm-slow',
    });
  });

  it('report the slower of two sends after a takeover, whichever order they finish in', async () => {
    const developer = await takenOver('acc-t2');
    expect(await complete(developer, 'next', 'm-next')).toBe('recorded');
    expect(await complete(developer, 'slow', 'm-slow')).toBe('already-recorded');
    // A completion repeated after a lost answer changes nothing and is not a second email.
    expect(await complete(developer, 'next', 'm-next')).toBe('recorded');
    expect(await table.notificationRecord('acc-t2', 1, 'u-dev')).toMatchObject({
      status: 'sent',
      messageId: 'm-next',
    });
  });

  it('record an email that went out after the new holder released the claim, so no retry sends it again', async () => {
    const developer = await takenOver('acc-t3');
    // SES refused the new holder's send, so it gave its claim back...
    await table.store.releaseNotification(developer, 'next');
    expect(await table.notificationRecord('acc-t3', 1, 'u-dev')).toBeUndefined();
    // ...but the slow send had gone out.
    expect(await complete(developer, 'slow', 'm-slow')).toBe('recorded');
    const record = await table.notificationRecord('acc-t3', 1, 'u-dev');
    expect(record).toMatchObject({ status: 'sent', messageId: 'm-slow' });
    expect(record?.ttl).toBeGreaterThan(later.getTime() / 1000);
    expect(await table.store.claimNotification(developer, claimAt(later, 'retry'))).toBe('sent');
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
    const [due] = (await collect(table.store.dueTokens(now, 1))).filter(
      (t) => t.accountId === 'acc-again',
    );
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
    const dueAgain = (await collect(table.store.dueTokens(now, 1))).filter(
      (t) => t.accountId === 'acc-again',
    );
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
});
