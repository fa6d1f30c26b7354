import { describe, expect, it } from 'vitest';
import { useTestTable, type TestTable } from '../support/table';
let table: TestTable;
useTestTable((created) => (table = created));

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
