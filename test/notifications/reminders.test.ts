/**
 * The reminders that a lost token is still lost (`Instagram Token Reminder`), through the
 * notifier as the queue hands them over: the same recipients, preferences and send-once ledger
 * as the expired email, one occasion per reminder step, and nothing once a new token, the
 * account's removal, or a recipient's preference turned off stops them.
 */
import { describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Context, SQSRecord } from 'aws-lambda';
import { useTestTable, type TestTable } from '../support/table';
import {
  createPerson,
  emailsTo,
  listUnsubscribeUrl,
  present,
  startSecretsStandIn,
  uniqueAccountId,
  type Person,
} from '../support/pipeline-services';
import {
  appUrl,
  developerOn,
  eventRecord,
  notifierDependencies,
  recordingLog,
  staleBatchReason,
  storeReplacedAfterFirstRead,
  timeFor,
  unsubscribeKey,
  unsubscribeTokenIn,
  unsubscribeUrl,
  useHandOnBus,
} from '../support/notifier-harness';
import { notifyTokenReminder } from '#notifications/notify';
import { notifyFromQueue } from '#notifications/queue-batch';
import { staleReason, type TokenCause } from '#tokens/lifecycle';
import {
  detailTypes,
  type TokenExpiredDetail,
  type TokenExpiringDetail,
  type TokenReminderDetail,
} from '#tokens/events';

let table: TestTable;
useTestTable((created) => (table = created));

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The token expired here, and the check announced it within the hour. */
const expiresAt = '2026-11-25T12:00:00.000Z';
const announcedAt = Date.parse(expiresAt) + HOUR;
/** When the reminder of a step is read: its day, an hour after the announcement's time. */
const stepTime = (daysSince: number) => new Date(announcedAt + daysSince * DAY + HOUR);
const now = stepTime(3);
const { deps, at } = notifierDependencies(() => table, now);

const reminderRecord = (detail: TokenReminderDetail) =>
  eventRecord(detailTypes.tokenReminder, detail, now);
const expiredRecord = (detail: TokenExpiredDetail) =>
  eventRecord(detailTypes.tokenExpired, detail, now);
const warningRecord = (detail: TokenExpiringDetail) =>
  eventRecord(detailTypes.tokenExpiring, detail, now);

interface Scenario {
  accountId: string;
  username: string;
  owner: Person;
  /** what the check announced when the token was lost */
  expired: TokenExpiredDetail;
  /** the reminder of a step: 3, 7, 14 or 28 days after that announcement */
  step(daysSince: number): TokenReminderDetail;
}

/**
 * An account whose token was lost and announced, and not reconnected since: by default expired
 * at `expiresAt`; with a cause, refused by Instagram before its expiry.
 */
async function lostAccount(
  owner: Person,
  developers: readonly Person[] = [],
  cause: TokenCause = 'expired',
): Promise<Scenario> {
  const accountId = uniqueAccountId('remind');
  const username = `shop_${accountId.slice(-6)}`;
  const reason = cause === 'expired' ? 'expired' : 'invalid';
  // A refused token had time left: its expiry is still ahead.
  const tokenExpiresAt = reason === 'expired' ? expiresAt : '2027-01-20T12:00:00.000Z';
  await table.store.putAccount(
    {
      accountId,
      ownerUserId: owner.userId,
      username,
      accessToken: 'IGQ-not-a-real-token',
      expiresAt: tokenExpiresAt,
      tokenStatus: reason,
      cause,
      generation: 1,
    },
    new Date(announcedAt),
  );
  for (const developer of developers) {
    await table.store.putDeveloperRole({ accountId, userId: developer.userId }, now);
  }
  const expired = { accountId, generation: 1, expiresAt: tokenExpiresAt, reason, cause } as const;
  return {
    accountId,
    username,
    owner,
    expired,
    step: (daysSince) => ({ ...expired, daysSince, last: daysSince === 28 }),
  };
}

const notifiedKeys = async (accountId: string) =>
  (await table.itemsMentioning(accountId))
    .map((item) => String(item.sk))
    .filter((sk) => sk.startsWith('NOTIFIED#'));

describe('whether a reminder still needs emails', () => {
  const account = { expiresAt, tokenStatus: 'expired' as const, generation: 3 };
  const announced = { generation: 3, reason: 'expired' as const };

  it('does while the token stays lost at the announced generation, as the expired email does', () => {
    expect(staleReason(announced, account, stepTime(28))).toBeUndefined();
    expect(
      staleReason(
        { generation: 3, reason: 'invalid' },
        { ...account, tokenStatus: 'invalid', expiresAt: '2027-01-20T12:00:00.000Z' },
        stepTime(7),
      ),
    ).toBeUndefined();
  });

  it('does not once the account is gone, a new token is stored, or the token is active after all', () => {
    expect(staleReason(announced, undefined, now)).toBe('account-gone');
    expect(staleReason(announced, { ...account, generation: 4 }, now)).toBe('token-replaced');
    expect(
      staleReason(
        announced,
        { ...account, tokenStatus: 'active', expiresAt: '2027-01-20T12:00:00.000Z' },
        now,
      ),
    ).toBe('token-active-again');
  });
});

describe('reminding that a lost token is still lost', () => {
  it('sends the owner and each opted-in developer one reminder, recorded as its step', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const quiet = await createPerson(table.store, 'quietdev');
    const scenario = await lostAccount(owner, [developer, quiet]);

    const result = await notifyFromQueue([reminderRecord(scenario.step(3))], deps());

    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals).toMatchObject({ sent: 2, stale: 0, poison: 0 });
    expect(await emailsTo([quiet.email])).toEqual([]);

    const forOwner = present((await emailsTo([owner.email]))[0], 'the owner reminder');
    expect(forOwner.subject).toBe(
      `Reminder: @${scenario.username} is still disconnected — your widget hasn't updated for 3 days`,
    );
    expect(forOwner.body.text).toMatch(
      /is still disconnected: its access token expired on 25 November 2026 at 12:00 UTC, and your widget hasn't updated for 3 days now/,
    );
    expect(forOwner.body.text).toContain(`${appUrl}/instagram-accounts\n`);
    expect(forOwner.body.html).toContain(`href="${appUrl}/instagram-accounts"`);
    const ownerLink = listUnsubscribeUrl(forOwner);
    expect(unsubscribeTokenIn(ownerLink, now)).toMatchObject({
      userId: owner.userId,
      preference: 'ownerExpiredToken',
    });
    expect(forOwner.body.text).toContain(ownerLink.toString());

    const forDeveloper = present((await emailsTo([developer.email]))[0], 'the developer reminder');
    expect(forDeveloper.subject).toMatch(
      /^\[Developer\] Reminder: .* is still disconnected — its widgets haven't updated for 3 days$/,
    );
    expect(forDeveloper.body.text).toMatch(/ask your client to reconnect/);
    // ... or to send the client a reconnect link, made on the account's page in the app.
    expect(forDeveloper.body.text).toContain(
      `${appUrl}/instagram-accounts?account=${scenario.accountId}#reconnect-link`,
    );
    expect(forOwner.body.text).not.toMatch(/reconnect link/);
    expect(forDeveloper.body.text).toMatch(/if you can log in to Instagram as @shop_/);
    expect(forDeveloper.body.text).toContain(
      `${appUrl}/instagram-accounts?account=${scenario.accountId}`,
    );
    expect(unsubscribeTokenIn(listUnsubscribeUrl(forDeveloper), now)).toMatchObject({
      userId: developer.userId,
      preference: 'developerExpiredToken',
    });

    // Recorded as the 3-day reminder, not as the expired email.
    expect(
      await table.notificationRecord(scenario.accountId, 1, owner.userId, 'reminder-3'),
    ).toMatchObject({ status: 'sent', occasion: 'reminder-3', messageId: forOwner.messageId });
    expect(await table.notificationRecord(scenario.accountId, 1, owner.userId)).toBeUndefined();
    expect((await notifiedKeys(scenario.accountId)).sort()).toEqual(
      [`NOTIFIED#1#reminder-3#${owner.userId}`, `NOTIFIED#1#reminder-3#${developer.userId}`].sort(),
    );
  });

  it('tells of a token Instagram refused by its cause and the days it has been lost', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await lostAccount(owner, [], 'password-changed');

    const result = await notifyFromQueue([reminderRecord(scenario.step(7))], at(stepTime(7)));

    expect(result.totals).toMatchObject({ sent: 1, stale: 0 });
    const [email] = await emailsTo([owner.email]);
    expect(email?.subject).toContain("hasn't updated for 7 days");
    expect(email?.body.text).toMatch(/is still disconnected, and your widget hasn't updated/);
    expect(email?.body.text).toMatch(/The password of @shop_\w+ was changed/);
    expect(email?.body.text).toMatch(/sign in to Instagram with the new password/);
    expect(email?.body.text).not.toMatch(/expired on/);
  });

  it('sends nothing more for a duplicate reminder, in the same batch or later', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const scenario = await lostAccount(owner, [developer]);

    const first = await notifyFromQueue(
      [reminderRecord(scenario.step(3)), reminderRecord(scenario.step(3))],
      deps(),
    );
    // Published again a day later: still the 3-day reminder, already sent.
    const later = await notifyFromQueue(
      [reminderRecord(scenario.step(3))],
      at(new Date(now.getTime() + DAY)),
    );

    expect(first.batchItemFailures).toEqual([]);
    expect(first.totals).toMatchObject({ sent: 2, alreadySent: 2 });
    expect(later.totals).toMatchObject({ sent: 0, alreadySent: 2 });
    expect(await emailsTo([owner.email, developer.email])).toHaveLength(2);
  });

  it('sends the 3, 7, 14 and 28-day reminders as four occasions, each once, the last saying so', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await lostAccount(owner);
    const steps = [3, 7, 14, 28];

    for (const daysSince of steps) {
      const result = await notifyFromQueue(
        [reminderRecord(scenario.step(daysSince))],
        at(stepTime(daysSince)),
      );
      expect(result.totals, `step ${daysSince}`).toMatchObject({ sent: 1, alreadySent: 0 });
    }
    const again = await notifyFromQueue(
      steps.map((daysSince) => reminderRecord(scenario.step(daysSince))),
      at(new Date(stepTime(28).getTime() + HOUR)),
    );

    expect(again.totals).toMatchObject({ sent: 0, alreadySent: 4 });
    const emails = await emailsTo([owner.email]);
    expect(emails.map((email) => email.subject)).toEqual([
      expect.stringMatching(/^Reminder: .* for 3 days$/),
      expect.stringMatching(/^Reminder: .* for 7 days$/),
      expect.stringMatching(/^Reminder: .* for 14 days$/),
      expect.stringMatching(/^Last reminder: .* for 28 days$/),
    ]);
    expect(emails[3]?.body.text).toMatch(/This is the last reminder we'll send about it/);
    expect(emails[2]?.body.text).not.toMatch(/last reminder/);
    expect((await notifiedKeys(scenario.accountId)).sort()).toEqual(
      steps.map((daysSince) => `NOTIFIED#1#reminder-${daysSince}#${owner.userId}`).sort(),
    );
  });

  it('keeps the expired email and the reminders apart: each is its own occasion, sent once', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const scenario = await lostAccount(owner, [developer]);

    const announced = await notifyFromQueue(
      [expiredRecord(scenario.expired)],
      at(new Date(announcedAt)),
    );
    const reminded = await notifyFromQueue([reminderRecord(scenario.step(3))], deps());
    // Late duplicates of both: neither is sent again, nor mistaken for the other.
    const again = await notifyFromQueue(
      [reminderRecord(scenario.step(3)), expiredRecord(scenario.expired)],
      at(new Date(now.getTime() + HOUR)),
    );

    expect(announced.totals).toMatchObject({ sent: 2 });
    expect(reminded.totals).toMatchObject({ sent: 2, alreadySent: 0 });
    expect(again.totals).toMatchObject({ sent: 0, alreadySent: 4 });
    for (const person of [owner, developer]) {
      const subjects = (await emailsTo([person.email])).map((email) => email.subject);
      expect(subjects).toEqual([
        expect.stringMatching(/is disconnected|needs reconnecting/),
        expect.stringMatching(/Reminder: .* still disconnected/),
      ]);
      expect(await table.notificationRecord(scenario.accountId, 1, person.userId)).toMatchObject({
        status: 'sent',
        occasion: 'expired',
      });
      expect(
        await table.notificationRecord(scenario.accountId, 1, person.userId, 'reminder-3'),
      ).toMatchObject({ status: 'sent', occasion: 'reminder-3' });
    }
  });

  describe('sends nothing once the reminders are stopped', () => {
    async function staleOutcome(change: (scenario: Scenario) => Promise<void>) {
      return staleBatchReason(table, {
        account: lostAccount,
        change,
        run: (scenario, log) =>
          notifyFromQueue([reminderRecord(scenario.step(7))], at(stepTime(7), { log })),
        occasion: 'reminder-7',
      });
    }

    it('a new token: the account was reconnected (its generation moved on)', async () => {
      expect(
        await staleOutcome(async (scenario) => {
          await table.store.replaceToken(
            scenario.accountId,
            1,
            { accessToken: 'IGQ-new', expiresAt: '2027-02-01T12:00:00.000Z' },
            stepTime(5),
          );
        }),
      ).toBe('token-replaced');
    });

    it('the account was removed', async () => {
      expect(
        await staleOutcome((scenario) => table.store.deleteAccountItems(scenario.accountId)),
      ).toBe('account-gone');
    });

    it('a new token stored between reading the account and sending: the claim is given back', async () => {
      const owner = await createPerson(table.store, 'owner');
      const scenario = await lostAccount(owner);
      // The second read is the one after the claim: by then a reconnect stored generation 2.
      const store = storeReplacedAfterFirstRead(table.store);

      const outcome = await notifyTokenReminder(scenario.step(3), deps({ store }));

      expect(outcome).toMatchObject({ status: 'done', sent: 0, staleReason: 'token-replaced' });
      expect(await emailsTo([owner.email])).toEqual([]);
      expect(
        await table.notificationRecord(scenario.accountId, 1, owner.userId, 'reminder-3'),
      ).toBeUndefined();
    });
  });

  it('stops for whoever turns their preference off, while the others still get theirs', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const otherDeveloper = await createPerson(table.store, 'dev2', developerOn);
    const defaultDeveloper = await createPerson(table.store, 'defaultdev');
    const scenario = await lostAccount(owner, [developer, otherDeveloper, defaultDeveloper]);
    await notifyFromQueue([reminderRecord(scenario.step(3))], deps());

    // The owner and one developer follow "stop these emails" in the 3-day reminder.
    await table.store.turnOffPreference(owner.userId, 'ownerExpiredToken', stepTime(4));
    await table.store.turnOffPreference(developer.userId, 'developerExpiredToken', stepTime(4));
    const week = await notifyFromQueue([reminderRecord(scenario.step(7))], at(stepTime(7)));

    expect(week.batchItemFailures).toEqual([]);
    expect(week.totals).toMatchObject({ sent: 1, stale: 0, failed: 0 });
    expect((await emailsTo([owner.email])).map((email) => email.subject)).toEqual([
      expect.stringContaining('for 3 days'),
    ]);
    expect((await emailsTo([developer.email])).map((email) => email.subject)).toEqual([
      expect.stringContaining('for 3 days'),
    ]);
    expect((await emailsTo([otherDeveloper.email])).map((email) => email.subject)).toEqual([
      expect.stringContaining('for 3 days'),
      expect.stringContaining('for 7 days'),
    ]);
    // A developer who never opted in hears of no reminder at all.
    expect(await emailsTo([defaultDeveloper.email])).toEqual([]);
    expect(
      await table.notificationRecord(scenario.accountId, 1, owner.userId, 'reminder-7'),
    ).toBeUndefined();
  });
});

describe('reminders in the queue batch', () => {
  it('fails a malformed reminder alone, naming what it lacks, and goes on with the rest', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await lostAccount(owner);
    const other = await createPerson(table.store, 'other');
    const otherScenario = await lostAccount(other);
    const good = reminderRecord(scenario.step(3));
    const withoutStep = {
      messageId: 'no-days-since',
      body: reminderRecord({ ...scenario.step(3), daysSince: 0 }).body,
    };
    const causeless = Object.fromEntries(
      Object.entries(scenario.step(7)).filter(([field]) => field !== 'cause'),
    );
    const withoutCause = {
      messageId: 'no-cause',
      body: reminderRecord(causeless as TokenReminderDetail).body,
    };
    const extraField = {
      messageId: 'extra-field',
      body: reminderRecord({
        ...scenario.step(14),
        accessToken: 'IGQ-should-never-be-here',
      } as unknown as TokenReminderDetail).body,
    };
    const log = recordingLog();

    const result = await notifyFromQueue(
      [withoutStep, good, withoutCause, extraField, expiredRecord(otherScenario.expired)],
      deps({ log }),
    );

    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([
      'no-days-since',
      'no-cause',
      'extra-field',
    ]);
    expect(result.totals).toMatchObject({ poison: 3, sent: 2 });
    expect(await emailsTo([owner.email])).toHaveLength(1);
    expect(await emailsTo([other.email])).toHaveLength(1);
    const warnings = log.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(3);
    const problems = warnings.map((line) => JSON.stringify(line.attributes));
    expect(problems[0]).toContain('detail.daysSince');
    expect(problems[1]).toContain('detail.cause');
    expect(problems[2]).toContain('1 unknown field(s)');
    expect(JSON.stringify(log.lines)).not.toContain('IGQ-should-never-be-here');
  });

  describe('handing on what one receive could not send', () => {
    const busName = 'tokenwatch-reminder-hand-on-test';
    const bus = useHandOnBus(busName);
    const { publisher, handedOn } = bus;

    it('puts a reminder back on the bus as a reminder, and the fresh one sends only to whoever waits', async () => {
      const owner = await createPerson(table.store, 'owner');
      const developer = await createPerson(table.store, 'dev', developerOn);
      const scenario = await lostAccount(owner, [developer], 'checkpoint');

      const result = await notifyFromQueue(
        [reminderRecord(scenario.step(14))],
        at(stepTime(14), { ...timeFor(1), publisher: publisher() }),
      );

      expect(result.batchItemFailures).toEqual([]);
      expect(result.totals).toMatchObject({ sent: 1, handedOn: 1 });
      expect(
        handedOn(scenario.accountId).map((event) => [event['detail-type'], event.detail]),
      ).toEqual([['Instagram Token Reminder', scenario.step(14)]]);

      // The fresh message the rule delivers: the event the bus took, as it took it.
      const taken = present(handedOn(scenario.accountId)[0], 'the handed-on event');
      const next = await notifyFromQueue(
        [{ messageId: randomUUID(), body: JSON.stringify(taken) }],
        at(stepTime(14)),
      );
      expect(next.totals).toMatchObject({ sent: 1, alreadySent: 1 });
      expect(await emailsTo([owner.email, developer.email])).toHaveLength(2);
    });

    it('hands on each unread event of a batch that made progress as its own detail type', async () => {
      // The first tells its owner, then runs out of time before its developer.
      const first = await lostAccount(await createPerson(table.store, 'owner'), [
        await createPerson(table.store, 'dev', developerOn),
      ]);
      const second = await lostAccount(await createPerson(table.store, 'owner'));
      const third = await lostAccount(await createPerson(table.store, 'owner'));
      const warned = uniqueAccountId('warned');
      const warning: TokenExpiringDetail = {
        accountId: warned,
        generation: 1,
        expiresAt: '2027-01-20T12:00:00.000Z',
        daysLeft: 7,
      };

      const result = await notifyFromQueue(
        [
          reminderRecord(first.step(7)),
          expiredRecord(second.expired),
          reminderRecord(third.step(7)),
          warningRecord(warning),
        ],
        at(stepTime(7), { ...timeFor(1), publisher: publisher() }),
      );

      expect(result.batchItemFailures).toEqual([]);
      expect(result.totals).toMatchObject({ sent: 1, handedOn: 4 });
      expect(
        handedOn(first.accountId).map((event) => [event['detail-type'], event.detail]),
      ).toEqual([['Instagram Token Reminder', first.step(7)]]);
      expect(handedOn(second.accountId).map((event) => event['detail-type'])).toEqual([
        'Instagram Token Expired',
      ]);
      expect(
        handedOn(third.accountId).map((event) => [event['detail-type'], event.detail]),
      ).toEqual([['Instagram Token Reminder', third.step(7)]]);
      expect(handedOn(warned).map((event) => event['detail-type'])).toEqual([
        'Instagram Token Expiring',
      ]);
    });

    it('the notifier handler hands a reminder on through the bus it names, as a reminder', async () => {
      const secrets = await startSecretsStandIn({ 'tokenwatch/unsubscribe-key': unsubscribeKey });
      const environment = {
        TABLE_NAME: table.tableName,
        EVENT_BUS_NAME: busName,
        SENDER_ADDRESS: 'notifications@tokenwatch.example',
        APP_URL: appUrl,
        UNSUBSCRIBE_URL: unsubscribeUrl,
        UNSUBSCRIBE_KEY_SECRET_ID: 'tokenwatch/unsubscribe-key',
        SES_MAX_SEND_RATE: '50',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint(),
      };
      const before = Object.fromEntries(
        Object.keys(environment).map((name) => [name, process.env[name]]),
      );
      Object.assign(process.env, environment);
      const output = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        vi.resetModules();
        const { handler } = await import('../../functions/notify-expired-token');
        const owner = await createPerson(table.store, 'owner');
        const developer = await createPerson(table.store, 'dev', developerOn);
        const scenario = await lostAccount(owner, [developer]);
        // The real clock: the token is lost, and stays so however late this runs.
        const record = reminderRecord(scenario.step(3));
        let calls = 0;
        // Time for the owner's email, then below the notifier's reserve.
        const context = {
          getRemainingTimeInMillis: () => (calls++ === 0 ? 60_000 : 5_000),
        } as Context;

        const response = await handler(
          { Records: [{ ...record, attributes: {} } as unknown as SQSRecord] },
          context,
        );

        expect(response.batchItemFailures).toEqual([]);
        expect(await emailsTo([owner.email, developer.email])).toHaveLength(1);
        expect(
          handedOn(scenario.accountId).map((event) => [event['detail-type'], event.detail]),
        ).toEqual([['Instagram Token Reminder', scenario.step(3)]]);
      } finally {
        output.mockRestore();
        for (const [name, value] of Object.entries(before)) {
          if (value === undefined) Reflect.deleteProperty(process.env, name);
          else process.env[name] = value;
        }
        await secrets.stop();
      }
    });
  });
});
