import { describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { createWaitingNoticeStore } from '#notifications/waiting-notices';
import { useTestTable, type TestTable } from '../support/table';

let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');

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

const claim = { claimId: 'claim-a', now, leaseSeconds: 60 };

/** The event a waiting notice tells of: generation 1 of the account, lost. */
const expiredEvent = (accountId: string) => ({
  kind: 'expired' as const,
  detail: {
    accountId,
    generation: 1,
    expiresAt: now.toISOString(),
    reason: 'invalid' as const,
    cause: 'session-invalidated' as const,
  },
});

describe('the send-once ledger', () => {
  const lease = { now, leaseSeconds: 60 };
  const before = (accountId: string, generation: number) =>
    table.store
      .readNoticeAccount({ accountId, generation, occasion: 'expired' }, lease)
      .then((read) => read.earlier);

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
    expect(await before('acc-l1', 2)).toEqual({
      sent: new Set(['u']),
      waiting: new Set(),
      sending: new Set(),
    });
    // Another generation is another token: its emails are still to send.
    expect(await before('acc-l1', 3)).toEqual({
      sent: new Set(),
      waiting: new Set(),
      sending: new Set(),
    });
  });

  it('respects what the version before occasions recorded: sent is sent, a live claim is in progress', async () => {
    const db = createDocumentClient(table.client);
    const legacy: [string, 'sent' | 'sending', Date][] = [
      ['u-sent', 'sent', now],
      ['u-sending', 'sending', new Date(now.getTime() - 30_000)],
      ['u-abandoned', 'sending', new Date(now.getTime() - 61_000)],
    ];
    for (const [userId, status, claimedAt] of legacy) {
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
            claimId: 'old-claim',
            claimedAt: claimedAt.toISOString(),
            ...(status === 'sent' ? { messageId: 'old' } : {}),
            ttl: 0,
          },
        }),
      );
    }
    // A claim whose lease ran out is taken over, as the previous version would have.
    expect(await before('acc-l2', 1)).toEqual({
      sent: new Set(['u-sent']),
      waiting: new Set(),
      sending: new Set(['u-sending']),
    });
  });

  it('leaves a notice waiting for a digest or held in a storm to the flush: neither claimed nor sent', async () => {
    const notices = createWaitingNoticeStore(createDocumentClient(table.client), table.tableName);
    const event = expiredEvent('acc-l3');
    const waiting = [
      ['u-pending', 'pending'],
      ['u-held', 'held'],
    ] as const;
    for (const [userId, waitingAs] of waiting) {
      const email = { accountId: 'acc-l3', generation: 1, occasion: 'expired' as const, userId };
      expect(
        await notices.fileWaitingNotice(
          { ...email, audience: 'owner', event },
          {
            waitingAs,
            dueAt: new Date(now.getTime() + 3_600_000),
            ...(waitingAs === 'held' ? { heldIn: now.toISOString() } : {}),
            now,
          },
        ),
      ).toBe('written');
      // The notifier's claim must not take it: the flush sends it, in one email per recipient.
      expect(await table.store.claimNotification(email, claim), waitingAs).toBe('waiting');
      // ...however late it comes: a waiting record has no lease to run out.
      const muchLater = new Date(now.getTime() + 86_400_000);
      expect(
        await table.store.claimNotification(email, { ...claim, claimId: 'late', now: muchLater }),
        waitingAs,
      ).toBe('waiting');
      expect(await table.notificationRecord('acc-l3', 1, userId)).toMatchObject({
        status: waitingAs,
      });
    }
    await table.store.claimNotification(
      { accountId: 'acc-l3', generation: 1, occasion: 'expired', userId: 'u-sent' },
      claim,
    );
    await table.store.completeNotification(
      { accountId: 'acc-l3', generation: 1, occasion: 'expired', userId: 'u-sent' },
      'claim-a',
      { messageId: 'm-l3', sentAt: now },
    );
    expect(await before('acc-l3', 1)).toEqual({
      sent: new Set(['u-sent']),
      waiting: new Set(['u-pending', 'u-held']),
      sending: new Set(),
    });
    // Another occasion of the same generation is another email: nothing of it waits.
    expect(
      (
        await table.store.readNoticeAccount(
          { accountId: 'acc-l3', generation: 1, occasion: 'reminder-3' },
          lease,
        )
      ).earlier,
    ).toEqual({ sent: new Set(), waiting: new Set(), sending: new Set() });
  });

  it('counts a notice the flush dropped or an operator discarded as settled: sent, never sent again', async () => {
    const notices = createWaitingNoticeStore(createDocumentClient(table.client), table.tableName);
    const ends = [
      ['u-dropped', 'pending', { status: 'dropped', reason: 'preference-off', at: now }],
      ['u-discarded', 'held', { status: 'discarded', reason: 'storm discarded', at: now }],
    ] as const;
    for (const [userId, waitingAs, end] of ends) {
      const email = { accountId: 'acc-l4', generation: 1, occasion: 'expired' as const, userId };
      await notices.fileWaitingNotice(
        { ...email, audience: 'owner', event: expiredEvent('acc-l4') },
        {
          waitingAs,
          dueAt: now,
          heldIn: waitingAs === 'held' ? now.toISOString() : undefined,
          now,
        },
      );
      // As the flush ends it: claimed, then settled without an email.
      expect(await notices.claimWaitingNotice(email, { ...claim, claimId: 'flush' })).toMatchObject(
        { kind: 'claimed' },
      );
      await notices.settleWaitingNotice(email, 'flush', end);
      expect(await table.notificationRecord('acc-l4', 1, userId)).toMatchObject({
        status: end.status,
      });
      expect(await table.store.claimNotification(email, claim), end.status).toBe('sent');
    }
    expect(await before('acc-l4', 1)).toEqual({
      sent: new Set(['u-dropped', 'u-discarded']),
      waiting: new Set(),
      sending: new Set(),
    });
  });
});
