import { describe, expect, it } from 'vitest';
import { addressHash } from '#people/suppression';
import { eraseUser, upsertUser } from '#people/users';
import { useTestTable, type TestTable } from '../support/table';
let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');
const inDays = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString();

async function connect(accountId: string, ownerUserId: string) {
  await table.store.putAccount(
    {
      accountId,
      ownerUserId,
      username: `${accountId.replaceAll('-', '_')}.shop`,
      accessToken: `IGQ-${accountId}`,
      expiresAt: inDays(30),
    },
    now,
  );
}

/** An email recorded as sent to `userId` about `accountId`, as the notifier leaves it. */
async function recordEmail(accountId: string, userId: string, generation = 1) {
  const email = { accountId, generation, occasion: 'expired', userId } as const;
  await table.store.claimNotification(email, { claimId: 'c', now, leaseSeconds: 60 });
  await table.store.completeNotification(email, 'c', { messageId: `m-${userId}`, sentAt: now });
}

describe('users from the widget service', () => {
  it('stores a profile, and a repeat leaves it as it was', async () => {
    const first = await upsertUser(table.store, 'u-ann', { email: 'ann@example.com', name: 'Ann' });
    const again = await upsertUser(table.store, 'u-ann', { email: 'ann@example.com', name: 'Ann' });
    expect(first).toEqual({ userId: 'u-ann', email: 'ann@example.com', name: 'Ann' });
    expect(again).toEqual(first);
    expect((await table.store.getProfiles(['u-ann'])).get('u-ann')).toEqual(first);
    expect(await table.itemsMentioning('u-ann')).toHaveLength(1);
  });

  it('replaces the email and the name', async () => {
    await upsertUser(table.store, 'u-cid', { email: 'cid@example.com', name: 'Cid' });
    await upsertUser(table.store, 'u-cid', { email: 'cid@new.example', name: 'Cid B.' });
    expect((await table.store.getProfiles(['u-cid'])).get('u-cid')).toEqual({
      userId: 'u-cid',
      email: 'cid@new.example',
      name: 'Cid B.',
    });
  });
});

describe('the member index', () => {
  it("files a person's email records under them, yet lists only the accounts they belong to", async () => {
    await connect('acc-listed', 'u-listed');
    await connect('acc-left', 'u-client');
    await recordEmail('acc-left', 'u-listed');
    await recordEmail('acc-listed', 'u-listed');
    expect(await table.store.itemsNaming('u-listed')).toHaveLength(3);
    expect((await table.store.listAccountsOf('u-listed')).map((a) => a.accountId)).toEqual([
      'acc-listed',
    ]);
  });
});

describe('erasing a user', () => {
  it('leaves nothing anywhere in the table that holds their id', async () => {
    const userId = 'u-erased-dev';
    await upsertUser(table.store, userId, { email: 'dev@example.com', name: 'Dev' });
    await table.store.putPreferences(
      userId,
      { ownerExpiredToken: true, developerExpiredToken: true },
      now,
    );
    for (const accountId of ['acc-e1', 'acc-e2']) {
      await connect(accountId, 'u-client');
      await table.store.putDeveloperRole({ accountId, userId }, now);
      await recordEmail(accountId, userId, 1);
      await recordEmail(accountId, userId, 2);
      await recordEmail(accountId, 'u-client');
    }
    // A record of an account the user no longer develops for still holds their id.
    await table.store.deleteDeveloperRole('acc-e2', userId);
    expect((await table.itemsMentioning(userId)).length).toBe(2 + 1 + 4);

    await eraseUser(table.store, userId);

    expect(await table.itemsMentioning(userId)).toEqual([]);
    // Nobody else's items went with them.
    expect(await table.store.getAccount('acc-e1')).toBeDefined();
    expect(await table.notificationRecord('acc-e1', 1, 'u-client')).toMatchObject({
      status: 'sent',
    });
  });

  it('keeps the accounts they own (the widget service deletes those itself), and is idempotent', async () => {
    const userId = 'u-erased-owner';
    await upsertUser(table.store, userId, { email: 'own@example.com', name: 'Own' });
    await connect('acc-owned', userId);
    await recordEmail('acc-owned', userId);

    await eraseUser(table.store, userId);
    await eraseUser(table.store, userId);

    const left = await table.itemsMentioning(userId);
    expect(left.map((item) => [item.pk, item.sk])).toEqual([['IGACCOUNT#acc-owned', 'TOKEN']]);
  });

  it('takes what SES said about their address with them, and leaves other addresses be', async () => {
    const userId = 'u-erased-bounced';
    await upsertUser(table.store, userId, { email: 'Gone@Example.com', name: 'Gone' });
    const feedback = { kind: 'hard-bounce', at: now } as const;
    await table.store.recordEmailFeedback('gone@example.com', { ...feedback, feedbackId: 'f-1' });
    await table.store.recordEmailFeedback('other@example.com', { ...feedback, feedbackId: 'f-2' });

    await eraseUser(table.store, userId);

    expect(await table.itemsMentioning(addressHash('gone@example.com'))).toEqual([]);
    expect(await table.store.emailStatusOf('gone@example.com')).toBe('ok');
    expect(await table.store.emailStatusOf('other@example.com')).toBe('bounced');
  });

  it('erasing a user nobody knows does nothing', async () => {
    const before = await table.scanAll();
    await eraseUser(table.store, 'u-never-seen');
    expect(await table.scanAll()).toEqual(before);
  });
});
