import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { useTestTable, type TestTable } from '../support/table';
import {
  createPerson,
  emailsTo,
  headerOf,
  listUnsubscribeUrl,
  present,
  startThrottlingSesProxy,
  uniqueAccountId,
  type Person,
} from '../support/pipeline-services';
import {
  appUrl,
  developerOn,
  eventRecord,
  noWait,
  notifierDependencies,
  recordingLog,
  timeFor,
  unsubscribeTokenIn,
  unsubscribeUrl,
  useHandOnBus,
} from '../support/notifier-harness';
import { createPacer, createSesMailer, type Mailer } from '#platform/ses';
import { notifyExpiredToken, type NotifierDependencies } from '#notifications/notify';
import { notifyFromQueue, type QueueRecord } from '#notifications/queue-batch';
import { chooseRecipients } from '#notifications/recipients';
import { staleReason } from '#tokens/lifecycle';
import { type TokenExpiredDetail } from '#tokens/events';

let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');
const expiredAt = '2026-11-25T09:30:00.000Z';
const { deps } = notifierDependencies(() => table, now);

const queueRecord = (detail: TokenExpiredDetail): QueueRecord =>
  eventRecord('Instagram Token Expired', detail, now);

interface Scenario {
  accountId: string;
  username: string;
  owner: Person;
  detail: TokenExpiredDetail;
}

/** An account whose token expired (already marked, as after the check), with its owner. */
async function expiredAccount(
  owner: Person,
  options: { generation?: number; accessToken?: string } = {},
): Promise<Scenario> {
  const accountId = uniqueAccountId('acc');
  const username = `shop_${accountId.slice(-6)}`;
  const generation = options.generation ?? 1;
  await table.store.putAccount(
    {
      accountId,
      ownerUserId: owner.userId,
      username,
      accessToken: options.accessToken ?? 'IGQ-not-a-real-token',
      expiresAt: expiredAt,
      tokenStatus: 'expired',
      generation,
    },
    now,
  );
  return {
    accountId,
    username,
    owner,
    detail: { accountId, generation, expiresAt: expiredAt, reason: 'expired', cause: 'expired' },
  };
}

const ownerOff = { ownerExpiredToken: false, developerExpiredToken: false };

describe('the recipients rule', () => {
  const prefs =
    (map: Record<string, { ownerExpiredToken: boolean; developerExpiredToken: boolean }>) =>
    (userId: string) =>
      map[userId] ?? { ownerExpiredToken: true, developerExpiredToken: false };

  it('tells the owner by default and no developer by default', () => {
    expect(
      chooseRecipients({
        kind: 'expired',
        ownerUserId: 'o',
        developerIds: ['d'],
        preferencesOf: prefs({}),
      }),
    ).toEqual([{ userId: 'o', audience: 'owner' }]);
  });

  it('tells each developer who opted in, and not the owner who opted out', () => {
    expect(
      chooseRecipients({
        kind: 'expired',
        ownerUserId: 'o',
        developerIds: ['d1', 'd2', 'd3'],
        preferencesOf: prefs({
          o: ownerOff,
          d1: developerOn,
          d2: { ownerExpiredToken: true, developerExpiredToken: false },
          d3: { ownerExpiredToken: false, developerExpiredToken: true },
        }),
      }),
    ).toEqual([
      { userId: 'd1', audience: 'developer' },
      { userId: 'd3', audience: 'developer' },
    ]);
  });

  it('gives an owner who is also a developer one email, as the owner', () => {
    expect(
      chooseRecipients({
        kind: 'expired',
        ownerUserId: 'o',
        developerIds: ['o', 'o'],
        preferencesOf: prefs({ o: developerOn }),
      }),
    ).toEqual([{ userId: 'o', audience: 'owner' }]);
    // Owning beats developing: opting out as owner is not undone by the developer setting.
    expect(
      chooseRecipients({
        kind: 'expired',
        ownerUserId: 'o',
        developerIds: ['o'],
        preferencesOf: prefs({ o: { ownerExpiredToken: false, developerExpiredToken: true } }),
      }),
    ).toEqual([]);
  });
});

describe('whether an expired-token event still needs emails', () => {
  const account = {
    accountId: 'acc',
    ownerUserId: 'o',
    username: 'shop',
    expiresAt: expiredAt,
    tokenStatus: 'expired' as const,
    generation: 3,
  };
  const detail = {
    accountId: 'acc',
    generation: 3,
    expiresAt: expiredAt,
    reason: 'expired' as const,
  };

  it('does while the account is at the event generation and its token is lost', () => {
    expect(staleReason(detail, account, now)).toBeUndefined();
    // Published but not marked yet: still `active`, but past its expiry.
    expect(staleReason(detail, { ...account, tokenStatus: 'active' }, now)).toBeUndefined();
    // Instagram rejected it before its expiry: due as invalid while still `active`.
    const later = '2027-01-01T00:00:00.000Z';
    expect(
      staleReason(
        { ...detail, reason: 'invalid' },
        { ...account, tokenStatus: 'active', expiresAt: later },
        now,
      ),
    ).toBeUndefined();
  });

  it('does not once the token was replaced, is active again, or the account is gone', () => {
    expect(staleReason(detail, { ...account, generation: 4 }, now)).toBe('token-replaced');
    expect(
      staleReason(
        detail,
        { ...account, tokenStatus: 'active', expiresAt: '2027-01-01T00:00:00.000Z' },
        now,
      ),
    ).toBe('token-active-again');
    expect(staleReason(detail, undefined, now)).toBe('account-gone');
  });
});

describe('notifying about an expired token', () => {
  it('sends the owner the owner email, with reconnect, preferences and one-click unsubscribe', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await expiredAccount(owner);

    const result = await notifyFromQueue([queueRecord(scenario.detail)], deps());

    expect(result.batchItemFailures).toEqual([]);
    const emails = await emailsTo([owner.email]);
    expect(emails).toHaveLength(1);
    const email = present(emails[0], 'the owner email');
    expect(email.from).toBe('notifications@example.com');
    expect(email.subject).toContain(`@${scenario.username}`);
    expect(email.subject).toMatch(/^Your Instagram account/);
    expect(email.body.text).toContain(`${appUrl}/instagram-accounts`);
    expect(email.body.text).toContain(`${appUrl}/settings#notifications`);
    expect(email.body.html).toContain(`href="${appUrl}/instagram-accounts"`);
    expect(email.body.text).toMatch(/widget stops updating/);
    expect(email.body.text).toMatch(/images .* may stop loading/);

    expect(headerOf(email, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    const url = listUnsubscribeUrl(email);
    expect(`${url.origin}${url.pathname}`).toBe(unsubscribeUrl);
    expect(unsubscribeTokenIn(url, now)).toMatchObject({
      userId: owner.userId,
      preference: 'ownerExpiredToken',
    });
    expect(email.body.text).toContain(url.toString());
    // Handlebars escapes `=` in the HTML as `&#x3D;`, which a mail client reads back as `=`.
    expect(email.body.html?.replaceAll('&#x3D;', '=')).toContain(`href="${url.toString()}"`);

    expect(await table.notificationRecord(scenario.accountId, 1, owner.userId)).toMatchObject({
      status: 'sent',
      messageId: email.messageId,
    });
  });

  it('sends opted-in developers the developer email, and nobody else', async () => {
    const owner = await createPerson(table.store, 'owner', ownerOff);
    const optedIn = await createPerson(table.store, 'dev', developerOn);
    const withoutPreference = await createPerson(table.store, 'quietdev');
    const optedOut = await createPerson(table.store, 'outdev', {
      ownerExpiredToken: true,
      developerExpiredToken: false,
    });
    const withoutRole = await createPerson(table.store, 'norole', developerOn);
    const scenario = await expiredAccount(owner);
    for (const developer of [optedIn, withoutPreference, optedOut]) {
      await table.store.putDeveloperRole(
        { accountId: scenario.accountId, userId: developer.userId },
        now,
      );
    }

    const result = await notifyFromQueue([queueRecord(scenario.detail)], deps());

    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals.sent).toBe(1);
    const everyone = [owner, optedIn, withoutPreference, optedOut, withoutRole];
    const emails = await emailsTo(everyone.map((person) => person.email));
    expect(emails.map((email) => email.destination.to)).toEqual([[optedIn.email]]);
    const email = present(emails[0], 'the developer email');
    expect(email.subject).toMatch(/^\[Developer\]/);
    expect(email.subject).toContain(`@${scenario.username}`);
    expect(email.body.text).toMatch(/opted in to expired token notifications as a developer/);
    expect(email.body.text).toContain(`${appUrl}/instagram-accounts?account=${scenario.accountId}`);
    expect(email.body.text).toMatch(/Refresh token/);
    expect(email.body.text).toMatch(/Instagram\s+credentials, or a role on the Facebook page/);
    const link = listUnsubscribeUrl(email);
    expect(unsubscribeTokenIn(link, now)).toMatchObject({
      userId: optedIn.userId,
      preference: 'developerExpiredToken',
    });
  });

  it('sends the owner and opted-in developers one email each, and an owner-developer once', async () => {
    const owner = await createPerson(table.store, 'owner', developerOn);
    const developer = await createPerson(table.store, 'dev', developerOn);
    const scenario = await expiredAccount(owner);
    await table.store.putDeveloperRole(
      { accountId: scenario.accountId, userId: owner.userId },
      now,
    );
    await table.store.putDeveloperRole(
      { accountId: scenario.accountId, userId: developer.userId },
      now,
    );

    await notifyFromQueue([queueRecord(scenario.detail)], deps());

    const emails = await emailsTo([owner.email, developer.email]);
    expect(
      emails.map((email) => [email.destination.to[0], email.subject.startsWith('[Developer]')]),
    ).toEqual(
      expect.arrayContaining([
        [owner.email, false],
        [developer.email, true],
      ]),
    );
    expect(emails).toHaveLength(2);
  });

  it('sends nothing more for a duplicate event, in the same batch or later', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const scenario = await expiredAccount(owner);
    await table.store.putDeveloperRole(
      { accountId: scenario.accountId, userId: developer.userId },
      now,
    );

    const first = await notifyFromQueue(
      [queueRecord(scenario.detail), queueRecord(scenario.detail)],
      deps(),
    );
    const later = await notifyFromQueue(
      [queueRecord(scenario.detail)],
      deps({ clock: () => new Date(now.getTime() + 3_600_000) }),
    );

    expect(first.batchItemFailures).toEqual([]);
    expect(first.totals).toMatchObject({ sent: 2, alreadySent: 2 });
    expect(later.totals).toMatchObject({ sent: 0, alreadySent: 2 });
    expect(await emailsTo([owner.email, developer.email])).toHaveLength(2);
  });

  it('sends nothing again across the upgrade to occasions: an old record counts, an old live claim is waited for', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const scenario = await expiredAccount(owner);
    await table.store.putDeveloperRole(
      { accountId: scenario.accountId, userId: developer.userId },
      now,
    );
    // As the version before occasions left them: the owner's email sent, the developer's still
    // being sent by a notifier whose claim's lease (120 s) runs for another 90 s.
    const db = createDocumentClient(table.client);
    for (const [person, status] of [
      [owner, 'sent'],
      [developer, 'sending'],
    ] as const) {
      await db.send(
        new PutCommand({
          TableName: table.tableName,
          Item: {
            ...keys.legacyNotification(scenario.accountId, 1, person.userId),
            accountId: scenario.accountId,
            generation: 1,
            userId: person.userId,
            status,
            claimId: 'old-version',
            claimedAt: new Date(now.getTime() - 30_000).toISOString(),
            ttl: 0,
          },
        }),
      );
    }

    const outcome = await notifyExpiredToken(scenario.detail, deps());

    expect(outcome).toMatchObject({ status: 'retry', sent: 0, alreadySent: 1, inProgress: 1 });
    expect(await emailsTo([owner.email, developer.email])).toHaveLength(0);
  });

  it('sends nothing when the token was replaced before the notifier ran', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await expiredAccount(owner);
    await table.store.replaceToken(
      scenario.accountId,
      1,
      { accessToken: 'IGQ-new', expiresAt: '2027-01-24T12:00:00.000Z' },
      now,
    );

    const result = await notifyFromQueue([queueRecord(scenario.detail)], deps());

    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals.stale).toBe(1);
    expect(await emailsTo([owner.email])).toEqual([]);
  });

  it('sends for a due token the check has published but not marked yet', async () => {
    const owner = await createPerson(table.store, 'owner');
    const accountId = uniqueAccountId('unmarked');
    await table.store.putAccount(
      {
        accountId,
        ownerUserId: owner.userId,
        username: 'unmarked.shop',
        accessToken: 'IGQ-x',
        expiresAt: expiredAt,
      },
      now,
    );
    const result = await notifyFromQueue(
      [
        queueRecord({
          accountId,
          generation: 1,
          expiresAt: expiredAt,
          reason: 'expired',
          cause: 'expired',
        }),
      ],
      deps(),
    );
    expect(result.totals.sent).toBe(1);
    expect(await emailsTo([owner.email])).toHaveLength(1);
  });

  it('names the cause the event carries in the email', async () => {
    const owner = await createPerson(table.store, 'owner');
    const accountId = uniqueAccountId('pwd');
    await table.store.putAccount(
      {
        accountId,
        ownerUserId: owner.userId,
        username: 'pwd.shop',
        accessToken: 'IGQ-x',
        expiresAt: expiredAt,
        tokenStatus: 'invalid',
        cause: 'password-changed',
      },
      now,
    );
    const result = await notifyFromQueue(
      [
        queueRecord({
          accountId,
          generation: 1,
          expiresAt: expiredAt,
          reason: 'invalid',
          cause: 'password-changed',
        }),
      ],
      deps(),
    );
    expect(result.totals.sent).toBe(1);
    const [email] = await emailsTo([owner.email]);
    expect(email?.subject).toMatch(/password of @pwd\.shop was changed/);
    expect(email?.body.text).toMatch(/sign in to Instagram with the new password/);
  });

  it('delivers an event queued before causes existed, reading its cause from its reason', async () => {
    const owner = await createPerson(table.store, 'owner');
    const accountId = uniqueAccountId('old');
    await table.store.putAccount(
      {
        accountId,
        ownerUserId: owner.userId,
        username: 'old.event',
        accessToken: 'IGQ-x',
        expiresAt: expiredAt,
        tokenStatus: 'invalid',
      },
      now,
    );
    // The detail exactly as the version before published it: no cause.
    const oldDetail = { accountId, generation: 1, expiresAt: expiredAt, reason: 'invalid' };
    const result = await notifyFromQueue(
      [queueRecord(oldDetail as unknown as TokenExpiredDetail)],
      deps(),
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals.sent).toBe(1);
    const [email] = await emailsTo([owner.email]);
    expect(email?.body.text).toMatch(/no longer accepts its access token/);
  });

  it('says so when its email went out but another delivery had already recorded one', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await expiredAccount(owner);
    const log = recordingLog();
    const store: NotifierDependencies['store'] = {
      ...table.store,
      // A delivery that took the claim over (this one outlived its lease) records its email
      // while this one is sending.
      completeNotification: async (email, claimId, sent) => {
        await table.store.completeNotification(email, 'the-other-delivery', {
          messageId: 'm-other',
          sentAt: now,
        });
        return table.store.completeNotification(email, claimId, sent);
      },
    };

    const outcome = await notifyExpiredToken(scenario.detail, deps({ store, log }));

    expect(outcome).toMatchObject({ status: 'done', sent: 1, sentTwice: 1, failed: 0 });
    expect(await emailsTo([owner.email])).toHaveLength(1);
    expect(log.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      'Email sent, but another delivery had already sent and recorded it',
    ]);
    expect(await table.notificationRecord(scenario.accountId, 1, owner.userId)).toMatchObject({
      status: 'sent',
      messageId: 'm-other',
    });
  });

  it('fails a poison message alone and goes on with the rest of the batch', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await expiredAccount(owner);
    const poison: [QueueRecord, QueueRecord, QueueRecord] = [
      { messageId: 'not-json', body: '{"version":' },
      { messageId: 'wrong-type', body: JSON.stringify({ 'detail-type': 'Something Else' }) },
      {
        messageId: 'bad-detail',
        body: queueRecord({ ...scenario.detail, generation: -1 }).body,
      },
    ];
    const log = recordingLog();

    const result = await notifyFromQueue(
      [poison[0], queueRecord(scenario.detail), poison[1], poison[2]],
      deps({ log }),
    );

    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([
      'not-json',
      'wrong-type',
      'bad-detail',
    ]);
    expect(result.totals).toMatchObject({ poison: 3, sent: 1 });
    expect(await emailsTo([owner.email])).toHaveLength(1);
    expect(log.lines.filter((line) => line.level === 'warn')).toHaveLength(3);
  });

  it('counts a poison message on its first receive even when the batch runs out of time before it', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await expiredAccount(owner);
    const poison = { messageId: 'poison-after-timeout', body: '{"version":' };

    const result = await notifyFromQueue(
      [
        queueRecord(scenario.detail),
        poison,
        { ...poison, messageId: 'poison-again', attributes: { ApproximateReceiveCount: '2' } },
      ],
      deps({ remainingMs: () => 1_000 }),
    );

    expect(result.batchItemFailures).toHaveLength(3);
    expect(result.totals).toMatchObject({ poison: 1, sent: 0 });
    expect(await emailsTo([owner.email])).toHaveLength(0);
  });

  it('retries an SES throttle in the middle of a batch with backoff, and sends everything once', async () => {
    const proxy = await startThrottlingSesProxy((send) => send === 2 || send === 3);
    try {
      const people = await Promise.all(
        [1, 2, 3].map((n) => createPerson(table.store, `owner${n}`)),
      );
      const scenarios = await Promise.all(people.map((person) => expiredAccount(person)));
      const waits: number[] = [];
      const mailer = createSesMailer({
        client: new SESv2Client({ maxAttempts: 1, endpoint: proxy.endpoint }),
        from: 'notifications@example.com',
        sleep: (ms) => {
          waits.push(ms);
          return Promise.resolve();
        },
      });

      const result = await notifyFromQueue(
        scenarios.map((scenario) => queueRecord(scenario.detail)),
        deps({ mailer }),
      );

      expect(proxy.throttled).toEqual([2, 3]);
      // The default backoff: 100–200 ms before the first retry, 200–400 ms before the second.
      expect(waits).toHaveLength(2);
      const [firstWait, secondWait] = waits as [number, number];
      expect(firstWait).toBeGreaterThanOrEqual(100);
      expect(firstWait).toBeLessThanOrEqual(200);
      expect(secondWait).toBeGreaterThanOrEqual(200);
      expect(secondWait).toBeLessThanOrEqual(400);
      expect(result.batchItemFailures).toEqual([]);
      for (const person of people) expect(await emailsTo([person.email])).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });

  it('reports a message whose recipients were not all sent, and its retry sends only to them', async () => {
    // SES keeps throttling the second send for longer than the mailer retries.
    let throttling = true;
    const proxy = await startThrottlingSesProxy((send) => throttling && send >= 2);
    try {
      const owner = await createPerson(table.store, 'owner');
      const developer = await createPerson(table.store, 'dev', developerOn);
      const scenario = await expiredAccount(owner);
      await table.store.putDeveloperRole(
        { accountId: scenario.accountId, userId: developer.userId },
        now,
      );
      const mailer = createSesMailer({
        client: new SESv2Client({ maxAttempts: 1, endpoint: proxy.endpoint }),
        from: 'notifications@example.com',
        maxAttempts: 3,
        sleep: noWait,
      });
      const record = queueRecord(scenario.detail);

      const first = await notifyFromQueue([record], deps({ mailer }));

      expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(first.totals).toMatchObject({ sent: 1, failed: 1 });
      expect(proxy.throttled).toEqual([2, 3, 4]);
      expect(await emailsTo([owner.email])).toHaveLength(1);
      expect(await emailsTo([developer.email])).toHaveLength(0);
      // SES refused it, so the claim was given back: the retry need not wait for the lease.
      expect(
        await table.notificationRecord(scenario.accountId, 1, developer.userId),
      ).toBeUndefined();

      throttling = false;
      const retry = await notifyFromQueue([record], deps({ mailer }));

      expect(retry.batchItemFailures).toEqual([]);
      expect(retry.totals).toMatchObject({ sent: 1, alreadySent: 1 });
      expect(await emailsTo([owner.email])).toHaveLength(1);
      expect(await emailsTo([developer.email])).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });

  it('sends again after a crash between the send and the record, once the lease ran out', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await expiredAccount(owner);
    const record = queueRecord(scenario.detail);
    // The process "dies" right after SES accepted the email: the record is never completed.
    const crashingStore = {
      ...table.store,
      completeNotification: () => Promise.reject(new Error('process died')),
    };

    const crashed = await notifyFromQueue([record], deps({ store: crashingStore }));
    expect(crashed.batchItemFailures).toHaveLength(1);
    expect(await emailsTo([owner.email])).toHaveLength(1);
    expect(await table.notificationRecord(scenario.accountId, 1, owner.userId)).toMatchObject({
      status: 'sending',
    });

    // A redelivery while the lease still runs must not send: the first sender may be alive.
    const during = await notifyFromQueue(
      [record],
      deps({ clock: () => new Date(now.getTime() + 60_000) }),
    );
    expect(during.batchItemFailures).toHaveLength(1);
    expect(during.totals.inProgress).toBe(1);
    expect(await emailsTo([owner.email])).toHaveLength(1);

    // After the lease the claim is taken over: the owner gets the email a second time.
    const after = await notifyFromQueue(
      [record],
      deps({ clock: () => new Date(now.getTime() + 121_000) }),
    );
    expect(after.batchItemFailures).toEqual([]);
    expect(await emailsTo([owner.email])).toHaveLength(2);
    expect(await table.notificationRecord(scenario.accountId, 1, owner.userId)).toMatchObject({
      status: 'sent',
    });
  });

  it('keeps the claim when SES gave no answer, since the email may have gone out', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await expiredAccount(owner);
    const silent = createSesMailer({
      client: new SESv2Client({ maxAttempts: 1, endpoint: 'http://127.0.0.1:9' }),
      from: 'notifications@example.com',
      sleep: noWait,
    });

    const result = await notifyFromQueue([queueRecord(scenario.detail)], deps({ mailer: silent }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(await table.notificationRecord(scenario.accountId, 1, owner.userId)).toMatchObject({
      status: 'sending',
    });
  });

  it('stops before running out of time and leaves the rest of the batch for a retry', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await expiredAccount(owner);
    const records = [queueRecord(scenario.detail), queueRecord(scenario.detail)];
    const result = await notifyFromQueue(records, deps({ remainingMs: () => 5_000 }));
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(
      records.map((record) => record.messageId),
    );
    expect(await emailsTo([owner.email])).toEqual([]);
  });

  it('never puts the access token in an email or a log line', async () => {
    const canary = `IGQ-CANARY-${randomUUID()}`;
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const scenario = await expiredAccount(owner, { accessToken: canary });
    await table.store.putDeveloperRole(
      { accountId: scenario.accountId, userId: developer.userId },
      now,
    );
    const log = recordingLog();

    await notifyFromQueue([queueRecord(scenario.detail)], deps({ log }));

    const emails = await emailsTo([owner.email, developer.email]);
    expect(emails).toHaveLength(2);
    expect(JSON.stringify(emails)).not.toContain(canary);
    expect(JSON.stringify(log.lines)).not.toContain(canary);
    expect(log.lines.length).toBeGreaterThan(0);
  });
});

describe('the send pacer', () => {
  it('spaces sends so one process stays within its share of the SES rate', async () => {
    let clock = 1_000;
    const slept: number[] = [];
    const pacer = createPacer(4, {
      now: () => clock,
      sleep: (ms) => {
        slept.push(ms);
        clock += ms;
        return Promise.resolve();
      },
    });
    for (let send = 0; send < 5; send += 1) await pacer.wait();
    expect(slept).toEqual([250, 250, 250, 250]);
    expect(clock).toBe(2_000);

    // After a quiet spell there is nothing to wait for.
    clock += 10_000;
    await pacer.wait();
    expect(slept).toHaveLength(4);
  });

  it('is used by the mailer before every attempt, retries included', async () => {
    let waits = 0;
    const proxy = await startThrottlingSesProxy((send) => send === 1);
    try {
      const mailer: Mailer = createSesMailer({
        client: new SESv2Client({ maxAttempts: 1, endpoint: proxy.endpoint }),
        from: 'notifications@example.com',
        sleep: noWait,
        pacer: {
          wait: () => {
            waits += 1;
            return Promise.resolve();
          },
        },
      });
      const to = `paced-${randomUUID()}@example.com`;
      await mailer.send({ to, subject: 's', html: '<p>h</p>', text: 't', headers: [] });
      expect(waits).toBe(2);
      expect(await emailsTo([to])).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });
});

describe('handing on what one receive could not send', () => {
  const busName = 'tokenwatch-hand-on-test';
  const bus = useHandOnBus(busName);
  const publisherTo = (name: string) => bus.publisher(name);
  const handedOn = (accountId: string) =>
    bus.handedOn(accountId).filter((event) => event['detail-type'] === 'Instagram Token Expired');

  async function accountWithDeveloper() {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const scenario = await expiredAccount(owner);
    await table.store.putDeveloperRole(
      { accountId: scenario.accountId, userId: developer.userId },
      now,
    );
    return { scenario, owner, developer };
  }

  it('puts the event of a message that made progress back on the bus, then acknowledges it', async () => {
    const { scenario, owner, developer } = await accountWithDeveloper();
    const log = recordingLog();

    const result = await notifyFromQueue(
      [queueRecord(scenario.detail)],
      deps({ ...timeFor(1), publisher: publisherTo(busName), log }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals).toMatchObject({ sent: 1, handedOn: 1 });
    expect(handedOn(scenario.accountId).map((event) => event.detail)).toEqual([scenario.detail]);
    expect(await emailsTo([owner.email])).toHaveLength(1);
    expect(await emailsTo([developer.email])).toHaveLength(0);
    expect(log.lines.map((line) => line.message)).toContain(
      'Handed the recipients still waiting on, as a fresh event',
    );

    // The fresh message sends only to whoever still waits.
    const next = await notifyFromQueue([queueRecord(scenario.detail)], deps());
    expect(next.totals).toMatchObject({ sent: 1, alreadySent: 1, handedOn: 0 });
    expect(await emailsTo([owner.email, developer.email])).toHaveLength(2);
  });

  it('hands on a message whose sends partly failed, for the people still waiting', async () => {
    const proxy = await startThrottlingSesProxy((send) => send >= 2);
    try {
      const mailer = createSesMailer({
        client: new SESv2Client({ maxAttempts: 1, endpoint: proxy.endpoint }),
        from: 'notifications@example.com',
        maxAttempts: 2,
        sleep: noWait,
      });
      const { scenario, owner, developer } = await accountWithDeveloper();

      const result = await notifyFromQueue(
        [queueRecord(scenario.detail)],
        deps({ mailer, publisher: publisherTo(busName) }),
      );

      expect(result.batchItemFailures).toEqual([]);
      expect(result.totals).toMatchObject({ sent: 1, failed: 1, handedOn: 1 });
      expect(handedOn(scenario.accountId)).toHaveLength(1);
      expect(await emailsTo([owner.email])).toHaveLength(1);
      expect(await emailsTo([developer.email])).toHaveLength(0);
    } finally {
      await proxy.stop();
    }
  });

  it('fails a message the bus would not take back after it made progress, so it comes back whole', async () => {
    const { scenario } = await accountWithDeveloper();
    const record = queueRecord(scenario.detail);
    const log = recordingLog();

    const result = await notifyFromQueue(
      [record],
      deps({ ...timeFor(1), publisher: publisherTo('no-such-bus'), log }),
    );

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(result.totals).toMatchObject({ sent: 1, handedOn: 0 });
    expect(log.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toContain(
      'Could not hand the recipients still waiting on; the event will be retried',
    );
  });

  it('fails a message that made no progress, as before, even with somewhere to hand it on', async () => {
    const { scenario } = await accountWithDeveloper();
    const record = queueRecord(scenario.detail);

    const result = await notifyFromQueue(
      [record],
      deps({ ...timeFor(0), publisher: publisherTo(busName) }),
    );

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(result.totals.handedOn).toBe(0);
    expect(handedOn(scenario.accountId)).toEqual([]);
  });

  it('hands on the events time ran out before when the invocation made progress, never a poison message', async () => {
    const first = await accountWithDeveloper();
    const second = await accountWithDeveloper();
    const poison = { messageId: 'poison-behind', body: '{"version":' };
    const records = [
      queueRecord(first.scenario.detail),
      poison,
      queueRecord(second.scenario.detail),
    ];

    const result = await notifyFromQueue(
      records,
      deps({ ...timeFor(1), publisher: publisherTo(busName) }),
    );

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'poison-behind' }]);
    expect(result.totals).toMatchObject({ sent: 1, handedOn: 2, poison: 1 });
    expect(handedOn(first.scenario.accountId)).toHaveLength(1);
    expect(handedOn(second.scenario.accountId)).toHaveLength(1);
    expect(await emailsTo([second.owner.email, second.developer.email])).toHaveLength(0);

    // An invocation that told nobody gives them back unread, as before.
    const third = await accountWithDeveloper();
    const idle = [queueRecord(third.scenario.detail), queueRecord(third.scenario.detail)];
    const none = await notifyFromQueue(
      idle,
      deps({ ...timeFor(0), publisher: publisherTo(busName) }),
    );
    expect(none.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(
      idle.map((record) => record.messageId),
    );
    expect(handedOn(third.scenario.accountId)).toEqual([]);
  });
});
