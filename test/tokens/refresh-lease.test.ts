import { describe, expect, it } from 'vitest';
import { refreshLeaseSeconds } from '#tokens/refresh';
import { useTestTable, type TestTable } from '../support/table';

let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');
const after = (seconds: number) => new Date(now.getTime() + seconds * 1000);

async function account(accountId: string) {
  await table.store.putAccount(
    {
      accountId,
      ownerUserId: 'u-owner',
      username: 'lease.shop',
      accessToken: 'IGQ-lease',
      expiresAt: after(20 * 86_400).toISOString(),
    },
    now,
  );
}

describe('the refresh lease', () => {
  it('lets one refresh of a generation call Instagram at a time, and the next once it runs out', async () => {
    await account('acc-lease-1');
    const take = (at: Date) => table.store.takeRefreshLease('acc-lease-1', 1, at, 30);
    const results = await Promise.all(Array.from({ length: 10 }, () => take(now)));
    expect(results.filter((leaseId) => leaseId !== undefined)).toHaveLength(1);
    expect(await take(after(29))).toBeUndefined();
    expect(await take(after(30))).toEqual(expect.any(String));
  });

  it('is given back by its holder only, and ended by the next generation', async () => {
    await account('acc-lease-2');
    const first = await table.store.takeRefreshLease('acc-lease-2', 1, now, 30);
    if (!first) throw new Error('expected the lease');
    await table.store.releaseRefreshLease('acc-lease-2', first);
    const second = await table.store.takeRefreshLease('acc-lease-2', 1, now, 30);
    if (!second) throw new Error('expected the lease again once given back');
    // A refresh that outlived its lease cannot end the one that holds it now.
    await table.store.releaseRefreshLease('acc-lease-2', first);
    expect(await table.store.takeRefreshLease('acc-lease-2', 1, now, 30)).toBeUndefined();

    await table.store.replaceToken(
      'acc-lease-2',
      1,
      { accessToken: 'IGQ-next', expiresAt: after(60 * 86_400).toISOString() },
      now,
    );
    // The old generation can no longer be leased; the new one can, at once.
    expect(await table.store.takeRefreshLease('acc-lease-2', 1, now, 30)).toBeUndefined();
    const third = await table.store.takeRefreshLease('acc-lease-2', 2, now, 30);
    expect(third).toEqual(expect.any(String));
    // A late release by the holder of a lease the new generation ended does nothing.
    await table.store.releaseRefreshLease('acc-lease-2', second);
    expect(await table.store.takeRefreshLease('acc-lease-2', 2, now, 30)).toBeUndefined();
  });

  it('outlasts a call to Instagram, whose client gives up after 4 seconds', () => {
    expect(refreshLeaseSeconds).toBeGreaterThan(4);
  });
});
