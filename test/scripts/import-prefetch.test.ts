import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '#platform/dynamodb';
import { connectAccount } from '#tokens/connect';
import { prefetchingConnector } from '../../scripts/import-prefetch';
import { useTestTable, type TestTable } from '../support/table';

let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');
const connection = (token: string) => ({
  ownerUserId: 'user-owner',
  username: 'petal.florist',
  accessToken: `IGQ-${token}`,
  expiresAt: '2027-01-20T00:00:00Z',
});

describe("the import's batched reads", () => {
  it('answers each first read from one batch, and a later read from the table', async () => {
    const ids = Array.from({ length: 250 }, (_, index) => `30${index}`);
    for (const id of ids.slice(0, 3)) await connectAccount(table.store, id, connection(id), now);
    const reads: string[] = [];
    const counted = {
      ...table.store,
      getAccountWithToken: (id: string) => {
        reads.push(id);
        return table.store.getAccountWithToken(id);
      },
    };
    const reader = prefetchingConnector(
      createDocumentClient(table.client),
      table.tableName,
      counted,
      ids,
    );
    expect((await reader.getAccountWithToken('300'))?.accessToken).toBe('IGQ-300');
    expect(await reader.getAccountWithToken('30249')).toBeUndefined();
    expect(reads).toEqual([]);
    // A second read of the same account is a retry: it must see the table as it is now.
    expect((await reader.getAccountWithToken('300'))?.generation).toBe(1);
    expect(reads).toEqual(['300']);
  });

  it('a token changed after the batch read is not overwritten blindly: connect reads again', async () => {
    const ids = ['4001', '4002'];
    for (const id of ids) await connectAccount(table.store, id, connection(`${id}-old`), now);
    const reader = prefetchingConnector(
      createDocumentClient(table.client),
      table.tableName,
      table.store,
      ids,
    );
    // The batch holding 4002 is read now, with its old token...
    await reader.getAccountWithToken('4001');
    // ...then the token changes (a refresh, say), before the import writes 4002.
    await connectAccount(table.store, '4002', connection('4002-refreshed'), now);
    const store = {
      ...table.store,
      getAccountWithToken: (id: string) => reader.getAccountWithToken(id),
    };
    const connected = await connectAccount(store, '4002', connection('4002-refreshed'), now);
    // The import's token is the one stored meanwhile: no new generation, nothing lost.
    expect(connected.generation).toBe(2);
    expect((await table.store.getAccountWithToken('4002'))?.generation).toBe(2);
  });
});
