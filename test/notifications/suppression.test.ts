/**
 * Suppressed addresses through every path that sends (DESIGN.md "Notices"): the notifier, the
 * answer to a reconnect link's use, and the digest flush. An address SES reported as bounced or
 * complained gets nothing, counted and recorded as settled so no retry tries again; everybody
 * else gets theirs; and a user whose address changes hears of the next notice at the new one.
 */
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { upsertUser } from '#people/users';
import { flushDigests, type DigestFlushDependencies } from '#notifications/digest-flush';
import { createEmailRenderer } from '#notifications/emails';
import { notifyFromQueue } from '#notifications/queue-batch';
import { detailTypes, type TokenExpiredDetail } from '#tokens/events';
import { useTestTable, type TestTable } from '../support/table';
import { createPerson, emailsTo, uniqueAccountId, type Person } from '../support/pipeline-services';
import {
  appUrl,
  developerOn,
  eventRecord,
  notifierDependencies,
  recordingLog,
  sesMailer,
  unsubscribeKey,
  unsubscribeUrl,
} from '../support/notifier-harness';

let table: TestTable;
useTestTable((created) => (table = created));

const MINUTE = 60_000;
const now = new Date('2026-11-30T10:00:00.000Z');
const expiresAt = new Date(now.getTime() - 60 * MINUTE).toISOString();
const { deps, at } = notifierDependencies(() => table, now);

/** SES's verdict on a person's address, as record-email-feedback stores it. */
const report = (person: Person, kind: 'hard-bounce' | 'complaint') =>
  table.store.recordEmailFeedback(person.email, { kind, feedbackId: randomUUID(), at: now });

async function lostAccount(owner: Person, developers: readonly Person[] = []) {
  const accountId = uniqueAccountId('suppressed');
  await table.store.putAccount(
    {
      accountId,
      ownerUserId: owner.userId,
      username: `shop_${accountId.slice(-6)}`,
      accessToken: 'IGQ-not-a-real-token',
      expiresAt,
      tokenStatus: 'expired',
      generation: 1,
    },
    now,
  );
  for (const developer of developers) {
    await table.store.putDeveloperRole({ accountId, userId: developer.userId }, now);
  }
  const detail: TokenExpiredDetail = {
    accountId,
    generation: 1,
    expiresAt,
    reason: 'expired',
    cause: 'expired',
  };
  return { accountId, detail };
}

const expired = (detail: TokenExpiredDetail) => eventRecord(detailTypes.tokenExpired, detail, now);

describe('the notifier and a suppressed address', () => {
  it('skips an owner whose address bounced, still emails the opted-in developer, and records why', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    await report(owner, 'hard-bounce');
    const { accountId, detail } = await lostAccount(owner, [developer]);
    const log = recordingLog();

    const result = await notifyFromQueue([expired(detail)], deps({ log }));

    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals).toMatchObject({ sent: 1, suppressed: 1, failed: 0 });
    expect(await emailsTo([owner.email])).toEqual([]);
    expect(await emailsTo([developer.email])).toHaveLength(1);
    expect(await table.notificationRecord(accountId, 1, owner.userId)).toMatchObject({
      status: 'dropped',
      settledReason: 'address-bounced',
    });
    // The log says which domain, never the address.
    const logged = JSON.stringify(log.lines);
    expect(logged).toContain('example.com');
    expect(logged).not.toContain(owner.email);

    // A redelivery finds the owner settled: still nothing to them, nothing to retry.
    const again = await notifyFromQueue([expired(detail)], deps());
    expect(again.batchItemFailures).toEqual([]);
    expect(again.totals).toMatchObject({ sent: 0, alreadySent: 2 });
    expect(await emailsTo([owner.email])).toEqual([]);
  });

  it('skips a developer who complained, and opens no digest window for them', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    await report(developer, 'complaint');
    const { accountId, detail } = await lostAccount(owner, [developer]);

    const result = await notifyFromQueue(
      [expired(detail)],
      deps({ notices: { store: table.store, windowMinutes: 60 } }),
    );

    expect(result.totals).toMatchObject({ sent: 1, suppressed: 1, waiting: 0 });
    expect(await emailsTo([developer.email])).toEqual([]);
    expect(await table.notificationRecord(accountId, 1, developer.userId)).toMatchObject({
      status: 'dropped',
      settledReason: 'address-complained',
    });
    // Their profile and preferences; no digest window.
    const theirs = await table.itemsMentioning(`USER#${developer.userId}`);
    expect(theirs.map((item) => item.sk).sort()).toEqual(['PREFS#NOTIFICATIONS', 'PROFILE']);
  });

  it('tells a reconnect link’s creator nothing once their address bounced', async () => {
    const owner = await createPerson(table.store, 'owner');
    const creator = await createPerson(table.store, 'creator');
    await report(creator, 'hard-bounce');
    const { accountId } = await lostAccount(owner, [creator]);
    const linkId = 'AAAAAAAAAAAAAAAAAAAAAA';
    await table.store.putReconnectLink({
      accountId,
      linkId,
      createdBy: creator.userId,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 72 * 60 * MINUTE).toISOString(),
      secretHash: 'not-a-real-hash',
      generation: 1,
      usedAt: now.toISOString(),
    });
    const used = { accountId, generation: 2, expiresAt, by: `link:${linkId}` };

    const result = await notifyFromQueue(
      [eventRecord(detailTypes.tokenRefreshed, used, now)],
      deps(),
    );

    expect(result.totals).toMatchObject({ sent: 0, suppressed: 1 });
    expect(result.batchItemFailures).toEqual([]);
    expect(await emailsTo([creator.email])).toEqual([]);
  });

  it('sends the next notice to a new address: the new address starts clean', async () => {
    const owner = await createPerson(table.store, 'owner');
    await report(owner, 'hard-bounce');
    const { detail } = await lostAccount(owner);
    await notifyFromQueue([expired(detail)], deps());
    expect(await emailsTo([owner.email])).toEqual([]);

    // The widget service stores the address the user fixed.
    const fixed = `fixed-${randomUUID().slice(0, 8)}@example.net`;
    await upsertUser(table.store, owner.userId, { email: fixed, name: owner.name });
    expect(await table.store.emailStatusOf(fixed)).toBe('ok');
    const reminderAt = new Date(now.getTime() + 3 * 24 * 60 * MINUTE);
    const result = await notifyFromQueue(
      [
        eventRecord(
          detailTypes.tokenReminder,
          { ...detail, daysSince: 3, last: false },
          reminderAt,
        ),
      ],
      at(reminderAt),
    );

    expect(result.totals).toMatchObject({ sent: 1, suppressed: 0 });
    expect((await emailsTo([fixed])).map((email) => email.destination.to)).toEqual([[fixed]]);
    // The old address stays suppressed, for whoever still has it.
    expect(await table.store.emailStatusOf(owner.email)).toBe('bounced');
  });
});

describe('the digest flush and a suppressed address', () => {
  const flushAt = (instant: Date): DigestFlushDependencies => ({
    store: table.store,
    mailer: sesMailer(),
    renderer: createEmailRenderer(),
    appUrl,
    unsubscribeUrl,
    unsubscribeKey: () => Promise.resolve(unsubscribeKey),
    clock: () => instant,
    leaseSeconds: 120,
    windowMinutes: 60,
    lookbackDays: 7,
    log: recordingLog(),
  });

  it('sends no digest to an address that bounced meanwhile, and settles its notices as suppressed', async () => {
    const developer = await createPerson(table.store, 'agency', developerOn);
    const accounts = [];
    for (let index = 0; index < 3; index += 1) {
      accounts.push(await lostAccount(await createPerson(table.store, 'client'), [developer]));
    }
    const sent = await notifyFromQueue(
      accounts.map(({ detail }) => expired(detail)),
      deps({ notices: { store: table.store, windowMinutes: 60 } }),
    );
    expect(sent.totals).toMatchObject({ waiting: 2 });
    expect(await emailsTo([developer.email])).toHaveLength(1);

    // The first email bounced: SES says so before the window ends.
    await report(developer, 'hard-bounce');
    const summary = await flushDigests(flushAt(new Date(now.getTime() + 61 * MINUTE)));

    expect(summary).toMatchObject({ due: 2, emails: 0, suppressed: 2, dropped: 0, failed: 0 });
    expect(await emailsTo([developer.email])).toHaveLength(1);
    for (const { accountId } of accounts.slice(1)) {
      expect(await table.notificationRecord(accountId, 1, developer.userId)).toMatchObject({
        status: 'dropped',
        settledReason: 'address-bounced',
      });
    }
    // Settled: the next flush finds nothing due.
    expect(await flushDigests(flushAt(new Date(now.getTime() + 62 * MINUTE)))).toMatchObject({
      due: 0,
    });
  });
});
