/**
 * Digests and held notices, through the notifier (what goes at once, what waits) and the digest
 * flush (what a window's end or a released storm sends): one email per recipient per window,
 * every notice in exactly one email or recorded as why none, across crashes, duplicate flushes
 * and a notice arriving mid-flush; in a storm nothing leaves until an operator decides.
 */
import { describe, expect, it } from 'vitest';
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
import { flushDigests, type DigestFlushDependencies } from '#notifications/digest-flush';
import { createEmailRenderer } from '#notifications/emails';
import { notifyFromQueue } from '#notifications/queue-batch';
import type { NoticeGate } from '#notifications/digest';
import type { Mailer } from '#platform/ses';
import { endStorm } from '#storm/storm-guard';
import { detailTypes, type TokenExpiredDetail } from '#tokens/events';

let table: TestTable;
useTestTable((created) => (table = created));

const MINUTE = 60_000;
const now = new Date('2026-11-30T10:00:00.000Z');
const { deps } = notifierDependencies(() => table, now);
const gate = (windowMinutes = 60): NoticeGate => ({ store: table.store, windowMinutes });

const flushDeps = (
  at: Date,
  overrides: Partial<DigestFlushDependencies> = {},
): DigestFlushDependencies => ({
  store: table.store,
  mailer: sesMailer(),
  renderer: createEmailRenderer(),
  appUrl,
  unsubscribeUrl,
  unsubscribeKey: () => Promise.resolve(unsubscribeKey),
  clock: () => at,
  leaseSeconds: 120,
  windowMinutes: 60,
  lookbackDays: 7,
  log: recordingLog(),
  ...overrides,
});

const expiredRecord = (detail: TokenExpiredDetail) =>
  eventRecord(detailTypes.tokenExpired, detail, now);

/** `count` accounts of one owner each, all with `developer` on them, expired an hour ago. */
async function agency(count: number, developer: Person, label: string) {
  const accounts: { accountId: string; username: string; owner: Person }[] = [];
  for (let index = 0; index < count; index += 1) {
    const owner = await createPerson(table.store, `${label}-owner`);
    const accountId = uniqueAccountId(label);
    const username = `client_${String(index)}_${accountId.slice(-6)}`;
    await table.store.putAccount(
      {
        accountId,
        ownerUserId: owner.userId,
        username,
        accessToken: 'IGQ-not-a-real-token',
        expiresAt: new Date(now.getTime() - 60 * MINUTE).toISOString(),
        tokenStatus: 'expired',
        generation: 1,
      },
      now,
    );
    await table.store.putDeveloperRole({ accountId, userId: developer.userId }, now);
    accounts.push({ accountId, username, owner });
  }
  return accounts;
}

const lostDetail = (accountId: string): TokenExpiredDetail => ({
  accountId,
  generation: 1,
  expiresAt: new Date(now.getTime() - 60 * MINUTE).toISOString(),
  reason: 'expired',
  cause: 'expired',
});

/** Every account named in `emails`' subjects and text, each counted once per email. */
const mentions = (
  emails: readonly { subject: string; body: { text?: string } }[],
  username: string,
) =>
  emails.filter((email) => `${email.subject}\n${email.body.text ?? ''}`.includes(`@${username}`))
    .length;

describe('a developer with five clients whose tokens expire at once', () => {
  it('gets one email now and one digest at the window’s end naming the other four', async () => {
    const developer = await createPerson(table.store, 'agency', developerOn);
    const accounts = await agency(5, developer, 'five');
    const result = await notifyFromQueue(
      accounts.map(({ accountId }) => expiredRecord(lostDetail(accountId))),
      deps({ notices: gate() }),
    );
    expect(result.batchItemFailures).toEqual([]);
    // Each owner's own first notice goes at once; the developer's first one too.
    expect(result.totals).toMatchObject({ sent: 6, waiting: 4, held: 0 });
    expect(await emailsTo([developer.email])).toHaveLength(1);

    // Before the window ends the flush sends nothing.
    const early = await flushDigests(flushDeps(new Date(now.getTime() + 30 * MINUTE)));
    expect(early).toMatchObject({ emails: 0 });
    expect(await emailsTo([developer.email])).toHaveLength(1);

    const late = await flushDigests(flushDeps(new Date(now.getTime() + 61 * MINUTE)));
    expect(late).toMatchObject({ emails: 1, digests: 1, told: 4, dropped: 0 });
    const emails = await emailsTo([developer.email]);
    expect(emails).toHaveLength(2);
    const [digest] = emails.slice(1);
    expect(digest?.subject).toContain('4');
    // Every account in exactly one of the developer's emails.
    for (const { username } of accounts) expect(mentions(emails, username), username).toBe(1);
    // And every notice recorded as sent, once.
    for (const { accountId } of accounts) {
      expect((await table.notificationRecord(accountId, 1, developer.userId))?.status).toBe('sent');
    }
    // A second flush finds nothing left.
    expect(await flushDigests(flushDeps(new Date(now.getTime() + 62 * MINUTE)))).toMatchObject({
      due: 0,
      emails: 0,
    });
  });

  it('sends each notice at once when digests are off (digestWindowMinutes 0)', async () => {
    const developer = await createPerson(table.store, 'nodigest', developerOn);
    const accounts = await agency(3, developer, 'off');
    await notifyFromQueue(
      accounts.map(({ accountId }) => expiredRecord(lostDetail(accountId))),
      deps({ notices: gate(0) }),
    );
    expect(await emailsTo([developer.email])).toHaveLength(3);
  });
});

describe('a notice that turned stale while it waited', () => {
  it('is left out (token replaced, account gone, preference off), and an empty digest is not sent', async () => {
    const developer = await createPerson(table.store, 'stale', developerOn);
    const accounts = await agency(4, developer, 'stale');
    await notifyFromQueue(
      accounts.map(({ accountId }) => expiredRecord(lostDetail(accountId))),
      deps({ notices: gate() }),
    );
    const [, replaced, removed, kept] = accounts;
    if (!replaced || !removed || !kept) throw new Error('four accounts');
    // A reconnect replaced one token; another account is removed.
    await table.store.putAccount(
      {
        accountId: replaced.accountId,
        ownerUserId: replaced.owner.userId,
        username: replaced.username,
        accessToken: 'IGQ-the-next-token',
        expiresAt: new Date(now.getTime() + 60 * 86_400_000).toISOString(),
        tokenStatus: 'active',
        generation: 2,
      },
      now,
    );
    await table.store.deleteAccountItems(removed.accountId);
    const summary = await flushDigests(flushDeps(new Date(now.getTime() + 61 * MINUTE)));
    // The one left goes as its own email, not a digest of one.
    expect(summary).toMatchObject({ emails: 1, digests: 0, told: 1, dropped: 1 });
    const emails = await emailsTo([developer.email]);
    expect(emails).toHaveLength(2);
    expect(mentions(emails.slice(1), kept.username)).toBe(1);
    expect(mentions(emails, replaced.username)).toBe(0);
    const record = await table.notificationRecord(replaced.accountId, 1, developer.userId);
    expect(record?.status).toBe('dropped');

    // Everything left turns stale: the preference goes off before the next window ends.
    const more = await agency(3, developer, 'stale2');
    await notifyFromQueue(
      more.map(({ accountId }) => expiredRecord(lostDetail(accountId))),
      deps({ notices: gate() }),
    );
    await table.store.putPreferences(
      developer.userId,
      { ownerExpiredToken: true, developerExpiredToken: false },
      now,
    );
    const empty = await flushDigests(flushDeps(new Date(now.getTime() + 125 * MINUTE)));
    expect(empty).toMatchObject({ emails: 0, dropped: 3 });
    expect(await emailsTo([developer.email])).toHaveLength(2);
  });
});

describe('the digest flush under faults', () => {
  it('two flushes at once put each notice in exactly one email', async () => {
    const developer = await createPerson(table.store, 'twice', developerOn);
    const accounts = await agency(6, developer, 'twice');
    await notifyFromQueue(
      accounts.map(({ accountId }) => expiredRecord(lostDetail(accountId))),
      deps({ notices: gate() }),
    );
    const at = new Date(now.getTime() + 61 * MINUTE);
    await Promise.all([flushDigests(flushDeps(at)), flushDigests(flushDeps(at))]);
    const emails = await emailsTo([developer.email]);
    for (const { username } of accounts) expect(mentions(emails, username), username).toBe(1);
  });

  it('a crash after the send and before the records: the lease decides, and only then is it sent again', async () => {
    const developer = await createPerson(table.store, 'crash', developerOn);
    const accounts = await agency(3, developer, 'crash');
    await notifyFromQueue(
      accounts.map(({ accountId }) => expiredRecord(lostDetail(accountId))),
      deps({ notices: gate() }),
    );
    const at = new Date(now.getTime() + 61 * MINUTE);
    const crashing = flushDeps(at, {
      store: {
        ...table.store,
        completeWaitingNotice: () => Promise.reject(new Error('process died')),
      },
    });
    // The run carries on past the recipient it could not finish (as it would past a process that
    // died there): the claims stay, and their lease decides.
    // (SES took the digest, so the inbox has it; the run could not record it, so counts it failed.)
    expect(await flushDigests(crashing)).toMatchObject({ emails: 0, failed: 1 });
    expect(await emailsTo([developer.email])).toHaveLength(2);
    // Within the lease the next run leaves the claim alone: no second email.
    const within = await flushDigests(flushDeps(new Date(at.getTime() + 60_000)));
    expect(within).toMatchObject({ emails: 0, busy: 2 });
    expect(await emailsTo([developer.email])).toHaveLength(2);
    // After it, the notices are sent again (the documented crash window) and then recorded.
    const after = await flushDigests(flushDeps(new Date(at.getTime() + 180_000)));
    expect(after).toMatchObject({ emails: 1, told: 2 });
    for (const { accountId } of accounts) {
      expect((await table.notificationRecord(accountId, 1, developer.userId))?.status).toBe('sent');
    }
  });

  it('SES refusing the digest loses nothing: the notices wait for the next run', async () => {
    const developer = await createPerson(table.store, 'refused', developerOn);
    const accounts = await agency(3, developer, 'refused');
    await notifyFromQueue(
      accounts.map(({ accountId }) => expiredRecord(lostDetail(accountId))),
      deps({ notices: gate() }),
    );
    const { MailNotSentError } = await import('#platform/ses');
    const refusing: Mailer = {
      send: () => Promise.reject(new MailNotSentError('throttled', 'Throttling', 1)),
    };
    const at = new Date(now.getTime() + 61 * MINUTE);
    expect(await flushDigests(flushDeps(at, { mailer: refusing }))).toMatchObject({
      emails: 0,
      failed: 1,
    });
    expect(await flushDigests(flushDeps(at))).toMatchObject({ emails: 1, told: 2 });
    expect(await emailsTo([developer.email])).toHaveLength(2);
  });

  it('a notice arriving during the flush is in the next email, never in none', async () => {
    const developer = await createPerson(table.store, 'arrive', developerOn);
    const accounts = await agency(3, developer, 'arrive');
    await notifyFromQueue(
      accounts.map(({ accountId }) => expiredRecord(lostDetail(accountId))),
      deps({ notices: gate() }),
    );
    const late = await agency(1, developer, 'arrive-late');
    const at = new Date(now.getTime() + 61 * MINUTE);
    const real = sesMailer();
    let arrived = false;
    const arriving: Mailer = {
      async send(email) {
        if (!arrived) {
          arrived = true;
          // While the digest is being sent, another of the developer's tokens is announced.
          const [account] = late;
          if (!account) throw new Error('one account');
          await notifyFromQueue(
            [expiredRecord(lostDetail(account.accountId))],
            deps({ notices: gate(), clock: () => at }),
          );
        }
        return real.send(email);
      },
    };
    await flushDigests(flushDeps(at, { mailer: arriving }));
    await flushDigests(flushDeps(new Date(at.getTime() + 61 * MINUTE)));
    const emails = await emailsTo([developer.email]);
    for (const { username } of [...accounts, ...late]) {
      expect(mentions(emails, username), username).toBe(1);
    }
  });
});

describe('in a storm', () => {
  it('holds every notice, sends nothing, and after release each recipient gets exactly one email', async () => {
    const developer = await createPerson(table.store, 'storm', developerOn);
    await table.store.declareStorm({ tokens: 30, causes: { 'session-invalidated': 30 } }, now);
    try {
      const accounts = await agency(4, developer, 'storm');
      const result = await notifyFromQueue(
        accounts.map(({ accountId }) => expiredRecord(lostDetail(accountId))),
        deps({ notices: gate() }),
      );
      expect(result.totals).toMatchObject({ sent: 0, held: 8 });
      const everyone = [developer.email, ...accounts.map(({ owner }) => owner.email)];
      expect(await emailsTo(everyone)).toEqual([]);
      expect(await flushDigests(flushDeps(new Date(now.getTime() + 61 * MINUTE)))).toMatchObject({
        stormOn: true,
        emails: 0,
      });
      expect(await table.store.countHeldNotices()).toBeGreaterThanOrEqual(8);

      await endStorm({ store: table.store, clock: () => now, log: recordingLog() }, 'release');
      const released = await flushDigests(flushDeps(new Date(now.getTime() + 62 * MINUTE)));
      expect(released).toMatchObject({ emails: 5, digests: 1, told: 8 });
      expect(await emailsTo([developer.email])).toHaveLength(1);
      for (const { owner } of accounts) expect(await emailsTo([owner.email])).toHaveLength(1);
    } finally {
      await table.store
        .endStorm(await table.store.getStormState(), 'release', now)
        .catch(() => undefined);
    }
  });

  it('a storm declared while a notifier is mid-batch holds every announcement it has not started', async () => {
    const developer = await createPerson(table.store, 'midbatch', developerOn);
    const accounts = await agency(3, developer, 'midbatch');
    const real = sesMailer();
    let sends = 0;
    const declaring: Mailer = {
      async send(email) {
        const sent = await real.send(email);
        sends += 1;
        if (sends === 1) {
          await table.store.declareStorm({ tokens: 25, causes: { unavailable: 25 } }, now);
        }
        return sent;
      },
    };
    try {
      const result = await notifyFromQueue(
        accounts.map(({ accountId }) => expiredRecord(lostDetail(accountId))),
        deps({ notices: gate(0), mailer: declaring }),
      );
      // The storm is read once per announcement, before its first send (notice-reads.ts): the
      // announcement being sent when it was declared finishes (its owner and the developer),
      // the two after it are held whole.
      expect(sends).toBe(2);
      expect(result.totals).toMatchObject({ sent: 2, held: 4 });
      const state = await table.store.getStormState();
      await endStorm({ store: table.store, clock: () => now, log: recordingLog() }, 'discard');
      const discarded = await flushDigests(flushDeps(new Date(now.getTime() + MINUTE)));
      expect(discarded).toMatchObject({ emails: 0, discarded: 4 });
      expect(state.status).toBe('storm');
      const everyone = [developer.email, ...accounts.map(({ owner }) => owner.email)];
      expect(await emailsTo(everyone)).toHaveLength(2);
    } finally {
      await table.store
        .endStorm(await table.store.getStormState(), 'discard', now)
        .catch(() => undefined);
    }
  });
});

describe('a crash between the claim and the send, with digests on', () => {
  it('loses nothing: the retry finds the window this notice opened, and sends it once the lease ran out', async () => {
    const developer = await createPerson(table.store, 'claimcrash', developerOn);
    const [account] = await agency(1, developer, 'claimcrash');
    if (!account) throw new Error('one account');
    const record = expiredRecord(lostDetail(account.accountId));
    const dying: Mailer = { send: () => Promise.reject(new Error('process died before SES')) };
    // The first delivery opens the windows, claims, and dies before SES took anything.
    await notifyFromQueue([record], deps({ notices: gate(), mailer: dying }));
    const everyone = [developer.email, account.owner.email];
    expect(await emailsTo(everyone)).toEqual([]);
    // Within the lease the retry leaves the claim alone; after it, it sends, once each.
    const within = await notifyFromQueue([record], deps({ notices: gate() }));
    expect(within.totals).toMatchObject({ sent: 0, inProgress: 2 });
    const later = new Date(now.getTime() + 5 * MINUTE);
    const after = await notifyFromQueue([record], deps({ notices: gate(), clock: () => later }));
    expect(after.totals).toMatchObject({ sent: 2, waiting: 0 });
    expect(await emailsTo([developer.email])).toHaveLength(1);
    expect(await emailsTo([account.owner.email])).toHaveLength(1);
  });
});

describe('SES refusing the first notice of a window', () => {
  it('sends it on the retry, at once: the window remembers which notice opened it', async () => {
    const developer = await createPerson(table.store, 'firstrefused', developerOn);
    const accounts = await agency(2, developer, 'firstrefused');
    const [first, second] = accounts;
    if (!first || !second) throw new Error('two accounts');
    const { MailNotSentError } = await import('#platform/ses');
    const refusing: Mailer = {
      send: () => Promise.reject(new MailNotSentError('throttled', 'Throttling', 1)),
    };
    const record = expiredRecord(lostDetail(first.accountId));
    expect(
      (await notifyFromQueue([record], deps({ notices: gate(), mailer: refusing }))).totals,
    ).toMatchObject({ sent: 0, failed: 2 });
    // Meanwhile the developer's next notice arrives: it waits for the digest.
    await notifyFromQueue([expiredRecord(lostDetail(second.accountId))], deps({ notices: gate() }));
    const retry = await notifyFromQueue([record], deps({ notices: gate() }));
    expect(retry.totals).toMatchObject({ sent: 2, waiting: 0 });
    const emails = await emailsTo([developer.email]);
    expect(emails).toHaveLength(1);
    expect(mentions(emails, first.username)).toBe(1);
    expect(mentions(emails, second.username)).toBe(0);
  });
});
