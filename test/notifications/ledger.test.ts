import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { createTestTable, type TestTable } from '../support/table';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table.drop();
});

const now = new Date('2026-11-25T12:00:00.000Z');
const claim = { claimId: 'claim-a', now, leaseSeconds: 60 };

describe('the send-once ledger', () => {
  it('keeps one record per occasion, so each occasion of a generation reaches a person once', async () => {
    const email = { accountId: 'acc-l1', generation: 2, occasion: 'expired' as const, userId: 'u' };
    expect(await table.store.claimNotification(email, claim)).toBe('claimed');
    await table.store.completeNotification(email, 'claim-a', { messageId: 'm-1', sentAt: now });
    expect(await table.notificationRecord('acc-l1', 2, 'u')).toMatchObject({
      status: 'sent',
      occasion: 'expired',
      messageId: 'm-1',
    });
    expect(await table.store.claimNotification(email, { ...claim, claimId: 'b' })).toBe('sent');
    expect(await table.store.sentBefore('acc-l1', 2, 'expired')).toEqual(new Set(['u']));
    // Another generation is another token: its emails are still to send.
    expect(await table.store.sentBefore('acc-l1', 3, 'expired')).toEqual(new Set());
  });

  it('counts an email recorded before occasions existed as the expired email, so it is not sent again', async () => {
    const db = createDocumentClient(table.client);
    for (const [userId, status] of [
      ['u-sent', 'sent'],
      ['u-sending', 'sending'],
    ] as const) {
      await db.send(
        new PutCommand({
          TableName: table.tableName,
          // The record exactly as the previous version wrote it: no occasion, in key or item.
          Item: {
            ...keys.legacyNotification('acc-l2', 1, userId),
            accountId: 'acc-l2',
            generation: 1,
            userId,
            status,
            messageId: 'old',
            ttl: 0,
          },
        }),
      );
    }
    expect(await table.store.sentBefore('acc-l2', 1, 'expired')).toEqual(new Set(['u-sent']));
  });
});
