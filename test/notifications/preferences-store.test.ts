import { describe, expect, it } from 'vitest';
import { useTestTable, type TestTable } from '../support/table';
let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');

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
