import { describe, expect, it } from 'vitest';
import { useTestTable, type TestTable } from '../support/table';
import { requireAccess } from '#tokens/access';
import { AccountNotFoundError } from '#tokens/errors';
let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');
const hoursFromNow = (hours: number) => new Date(now.getTime() + hours * 3_600_000).toISOString();

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
