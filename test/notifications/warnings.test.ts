/**
 * The warnings before a token expires (`Instagram Token Expiring`), through the notifier as the
 * queue hands them over: the same recipients, preferences and send-once ledger as the expired
 * email, one occasion per warning step, and nothing for a warning the token has outrun.
 */
import { describe, expect, it } from 'vitest';
import { useTestTable, type TestTable } from '../support/table';
import {
  createPerson,
  emailsTo,
  headerOf,
  listUnsubscribeUrl,
  present,
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
  unsubscribeTokenIn,
  unsubscribeUrl,
  useHandOnBus,
} from '../support/notifier-harness';
import { notifyExpiringToken } from '#notifications/notify';
import { notifyFromQueue } from '#notifications/queue-batch';
import { warningStaleReason } from '#tokens/lifecycle';
import { detailTypes, type TokenExpiredDetail, type TokenExpiringDetail } from '#tokens/events';

let table: TestTable;
useTestTable((created) => (table = created));

const HOUR = 3_600_000;
/** When the 7-day warning is read: 6 days and 3 hours before the expiry. */
const now = new Date('2026-11-19T09:00:00.000Z');
const expiresAt = '2026-11-25T12:00:00.000Z';
/** When the 1-day warning is read: 20 hours before the expiry. */
const dayBefore = new Date(Date.parse(expiresAt) - 20 * HOUR);
const { deps, at } = notifierDependencies(() => table, now);

const warningRecord = (detail: TokenExpiringDetail) =>
  eventRecord(detailTypes.tokenExpiring, detail, now);
const expiredRecord = (detail: TokenExpiredDetail) =>
  eventRecord(detailTypes.tokenExpired, detail, now);

const allOff = { ownerExpiredToken: false, developerExpiredToken: false };

interface Scenario {
  accountId: string;
  username: string;
  owner: Person;
  /** the 7-day step */
  week: TokenExpiringDetail;
  /** the 1-day step */
  day: TokenExpiringDetail;
}

/** An account whose active token expires at `expiresAt`, not refreshed: the warnings are due. */
async function expiringAccount(
  owner: Person,
  developers: readonly Person[] = [],
): Promise<Scenario> {
  const accountId = uniqueAccountId('warn');
  const username = `shop_${accountId.slice(-6)}`;
  await table.store.putAccount(
    {
      accountId,
      ownerUserId: owner.userId,
      username,
      accessToken: 'IGQ-not-a-real-token',
      expiresAt,
      tokenStatus: 'active',
      generation: 1,
    },
    now,
  );
  for (const developer of developers) {
    await table.store.putDeveloperRole({ accountId, userId: developer.userId }, now);
  }
  const warning = { accountId, generation: 1, expiresAt };
  return {
    accountId,
    username,
    owner,
    week: { ...warning, daysLeft: 7 },
    day: { ...warning, daysLeft: 1 },
  };
}

/** An account whose token expired an hour before `now` and is marked so: its email is due. */
async function expiredAccount(owner: Person): Promise<TokenExpiredDetail> {
  const accountId = uniqueAccountId('lost');
  const lostAt = '2026-11-19T08:00:00.000Z';
  await table.store.putAccount(
    {
      accountId,
      ownerUserId: owner.userId,
      username: 'lost.shop',
      accessToken: 'IGQ-x',
      expiresAt: lostAt,
      tokenStatus: 'expired',
      generation: 1,
    },
    now,
  );
  return { accountId, generation: 1, expiresAt: lostAt, reason: 'expired', cause: 'expired' };
}

describe('whether a warning still needs emails', () => {
  const account = { expiresAt, tokenStatus: 'active' as const, generation: 3 };
  const announced = { generation: 3 };

  it('does while the token is active at the warned generation and its expiry is ahead', () => {
    expect(warningStaleReason(announced, account, now)).toBeUndefined();
    expect(warningStaleReason(announced, account, dayBefore)).toBeUndefined();
  });

  it('does not once the account is gone, its token replaced, lost, or past its expiry', () => {
    expect(warningStaleReason(announced, undefined, now)).toBe('account-gone');
    expect(warningStaleReason(announced, { ...account, generation: 4 }, now)).toBe(
      'token-replaced',
    );
    expect(warningStaleReason(announced, { ...account, tokenStatus: 'invalid' }, now)).toBe(
      'token-lost',
    );
    expect(warningStaleReason(announced, { ...account, tokenStatus: 'expired' }, now)).toBe(
      'token-lost',
    );
    expect(warningStaleReason(announced, account, new Date(expiresAt))).toBe('expiry-passed');
  });
});

describe('warning that a token is about to expire', () => {
  it('sends the owner and each opted-in developer one warning, saying how long is really left', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const quiet = await createPerson(table.store, 'quietdev');
    const scenario = await expiringAccount(owner, [developer, quiet]);

    const result = await notifyFromQueue([warningRecord(scenario.week)], deps());

    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals).toMatchObject({ sent: 2, stale: 0, poison: 0 });
    expect(await emailsTo([quiet.email])).toEqual([]);

    const forOwner = present((await emailsTo([owner.email]))[0], 'the owner warning');
    expect(forOwner.subject).toBe(
      `Your Instagram account @${scenario.username} disconnects in 6 days: reconnect it to keep your widget updating`,
    );
    expect(forOwner.body.text).toMatch(/in 6 days, on 25 November 2026 at 12:00 UTC/);
    expect(forOwner.body.text).toMatch(/Instagram has not allowed it so far/);
    expect(forOwner.body.text).toContain(`${appUrl}/instagram-accounts\n`);
    expect(forOwner.body.html).toContain(`href="${appUrl}/instagram-accounts"`);
    expect(headerOf(forOwner, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    const ownerLink = listUnsubscribeUrl(forOwner);
    expect(`${ownerLink.origin}${ownerLink.pathname}`).toBe(unsubscribeUrl);
    expect(unsubscribeTokenIn(ownerLink, now)).toMatchObject({
      userId: owner.userId,
      preference: 'ownerExpiredToken',
    });
    expect(forOwner.body.text).toContain(ownerLink.toString());

    const forDeveloper = present((await emailsTo([developer.email]))[0], 'the developer warning');
    expect(forDeveloper.subject).toMatch(/^\[Developer\] .* disconnects in 6 days/);
    expect(forDeveloper.body.text).toMatch(/ask your client to reconnect/);
    expect(forDeveloper.body.text).toMatch(/if you can log in to Instagram as @shop_/);
    expect(forDeveloper.body.text).toContain(
      `${appUrl}/instagram-accounts?account=${scenario.accountId}`,
    );
    const developerLink = listUnsubscribeUrl(forDeveloper);
    expect(unsubscribeTokenIn(developerLink, now)).toMatchObject({
      userId: developer.userId,
      preference: 'developerExpiredToken',
    });

    // Recorded as the 7-day warning, not as the expired email.
    expect(
      await table.notificationRecord(scenario.accountId, 1, owner.userId, 'expiring-7'),
    ).toMatchObject({ status: 'sent', occasion: 'expiring-7', messageId: forOwner.messageId });
    expect(await table.notificationRecord(scenario.accountId, 1, owner.userId)).toBeUndefined();
    const keys = (await table.itemsMentioning(scenario.accountId)).map((item) => item.sk);
    expect(keys).toContain(`NOTIFIED#1#expiring-7#${owner.userId}`);
    expect(keys).toContain(`NOTIFIED#1#expiring-7#${developer.userId}`);
  });

  it('sends nothing more for a duplicate warning, in the same batch or later', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const scenario = await expiringAccount(owner, [developer]);

    const first = await notifyFromQueue(
      [warningRecord(scenario.week), warningRecord(scenario.week)],
      deps(),
    );
    // Published again a day later: still the 7-day warning, already sent.
    const later = await notifyFromQueue(
      [warningRecord(scenario.week)],
      at(new Date(now.getTime() + 24 * HOUR)),
    );

    expect(first.batchItemFailures).toEqual([]);
    expect(first.totals).toMatchObject({ sent: 2, alreadySent: 2 });
    expect(later.totals).toMatchObject({ sent: 0, alreadySent: 2 });
    expect(await emailsTo([owner.email, developer.email])).toHaveLength(2);
  });

  it('sends the 7-day and the 1-day warning as two occasions, each once', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await expiringAccount(owner);

    await notifyFromQueue([warningRecord(scenario.week)], deps());
    const dayStep = await notifyFromQueue([warningRecord(scenario.day)], at(dayBefore));
    const again = await notifyFromQueue(
      [warningRecord(scenario.day), warningRecord(scenario.week)],
      at(new Date(dayBefore.getTime() + HOUR)),
    );

    expect(dayStep.totals).toMatchObject({ sent: 1, alreadySent: 0 });
    expect(again.totals).toMatchObject({ sent: 0, alreadySent: 2 });
    const emails = await emailsTo([owner.email]);
    expect(emails.map((email) => email.subject)).toEqual([
      expect.stringContaining('disconnects in 6 days'),
      expect.stringContaining('disconnects in 20 hours'),
    ]);
    expect(emails[1]?.body.text).toMatch(/in 20 hours, on 25 November 2026 at 12:00 UTC/);
    for (const occasion of ['expiring-7', 'expiring-1'] as const) {
      expect(
        await table.notificationRecord(scenario.accountId, 1, owner.userId, occasion),
      ).toMatchObject({ status: 'sent', occasion });
    }
  });

  it('still sends the expired email for the same generation after its warnings', async () => {
    const owner = await createPerson(table.store, 'owner');
    const developer = await createPerson(table.store, 'dev', developerOn);
    const scenario = await expiringAccount(owner, [developer]);
    await notifyFromQueue([warningRecord(scenario.week)], deps());
    await notifyFromQueue([warningRecord(scenario.day)], at(dayBefore));

    // Nobody reconnected: the check announces the expiry and marks the token.
    const afterExpiry = new Date(Date.parse(expiresAt) + HOUR);
    await table.store.putAccount(
      {
        accountId: scenario.accountId,
        ownerUserId: owner.userId,
        username: scenario.username,
        accessToken: 'IGQ-not-a-real-token',
        expiresAt,
        tokenStatus: 'expired',
        generation: 1,
      },
      afterExpiry,
    );
    const expired = await notifyFromQueue(
      [
        expiredRecord({
          accountId: scenario.accountId,
          generation: 1,
          expiresAt,
          reason: 'expired',
          cause: 'expired',
        }),
        // A late duplicate of a warning: the expired email has overtaken it.
        warningRecord(scenario.day),
      ],
      at(afterExpiry),
    );

    expect(expired.batchItemFailures).toEqual([]);
    expect(expired.totals).toMatchObject({ sent: 2, stale: 1 });
    for (const person of [owner, developer]) {
      const subjects = (await emailsTo([person.email])).map((email) => email.subject);
      expect(subjects).toHaveLength(3);
      expect(subjects[2]).toMatch(/is disconnected|needs reconnecting/);
    }
    expect(await table.notificationRecord(scenario.accountId, 1, owner.userId)).toMatchObject({
      status: 'sent',
      occasion: 'expired',
    });
  });

  describe('sends nothing for a warning the token has outrun', () => {
    async function staleOutcome(change: (scenario: Scenario) => Promise<void>, clock = now) {
      return staleBatchReason(table, {
        account: expiringAccount,
        change,
        run: (scenario, log) => notifyFromQueue([warningRecord(scenario.week)], at(clock, { log })),
        occasion: 'expiring-7',
      });
    }

    it('refreshed: the token was replaced by its next generation', async () => {
      expect(
        await staleOutcome(async (scenario) => {
          await table.store.replaceToken(
            scenario.accountId,
            1,
            { accessToken: 'IGQ-new', expiresAt: '2027-01-24T12:00:00.000Z' },
            now,
          );
        }),
      ).toBe('token-replaced');
    });

    it('the account is gone', async () => {
      expect(
        await staleOutcome((scenario) => table.store.deleteAccountItems(scenario.accountId)),
      ).toBe('account-gone');
    });

    it('Instagram refused the token meanwhile: the expired email tells of it instead', async () => {
      expect(
        await staleOutcome(async (scenario) => {
          await table.store.putAccount(
            {
              accountId: scenario.accountId,
              ownerUserId: scenario.owner.userId,
              username: scenario.username,
              accessToken: 'IGQ-not-a-real-token',
              expiresAt,
              tokenStatus: 'invalid',
              cause: 'password-changed',
              generation: 1,
            },
            now,
          );
        }),
      ).toBe('token-lost');
    });

    it('its expiry passed before the warning was read', async () => {
      expect(
        await staleOutcome(() => Promise.resolve(), new Date(Date.parse(expiresAt) + 60_000)),
      ).toBe('expiry-passed');
    });

    it('refreshed between reading the account and sending: the claim is given back', async () => {
      const owner = await createPerson(table.store, 'owner');
      const scenario = await expiringAccount(owner);
      // The second read is the one after the claim: by then a refresh stored generation 2.
      const store = storeReplacedAfterFirstRead(table.store);

      const outcome = await notifyExpiringToken(scenario.week, deps({ store }));

      expect(outcome).toMatchObject({ status: 'done', sent: 0, staleReason: 'token-replaced' });
      expect(await emailsTo([owner.email])).toEqual([]);
      expect(
        await table.notificationRecord(scenario.accountId, 1, owner.userId, 'expiring-7'),
      ).toBeUndefined();
    });
  });

  it('sends nobody a warning whose preference is off, the same one as for the expired email', async () => {
    const owner = await createPerson(table.store, 'owner', allOff);
    const defaultDeveloper = await createPerson(table.store, 'dev');
    const optedOut = await createPerson(table.store, 'outdev', {
      ownerExpiredToken: true,
      developerExpiredToken: false,
    });
    const scenario = await expiringAccount(owner, [defaultDeveloper, optedOut]);

    const result = await notifyFromQueue([warningRecord(scenario.week)], deps());

    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals).toMatchObject({ sent: 0, stale: 0, failed: 0 });
    expect(await emailsTo([owner.email, defaultDeveloper.email, optedOut.email])).toEqual([]);
    expect(
      (await table.itemsMentioning(scenario.accountId)).filter((item) =>
        String(item.sk).startsWith('NOTIFIED#'),
      ),
    ).toEqual([]);
  });
});

describe('warnings in the queue batch', () => {
  it('fails a malformed warning alone, naming what it lacks, and goes on with the rest', async () => {
    const owner = await createPerson(table.store, 'owner');
    const scenario = await expiringAccount(owner);
    const lost = await createPerson(table.store, 'lost');
    const lostAccount = await expiredAccount(lost);
    const good = warningRecord(scenario.week);
    const withoutStep = {
      messageId: 'no-days-left',
      body: warningRecord({ ...scenario.week, daysLeft: 0 }).body,
    };
    const extraField = {
      messageId: 'extra-field',
      body: warningRecord({
        ...scenario.week,
        accessToken: 'IGQ-should-never-be-here',
      } as unknown as TokenExpiringDetail).body,
    };
    const log = recordingLog();

    const result = await notifyFromQueue(
      [withoutStep, good, extraField, expiredRecord(lostAccount)],
      deps({ log }),
    );

    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([
      'no-days-left',
      'extra-field',
    ]);
    expect(result.totals).toMatchObject({ poison: 2, sent: 2 });
    expect(await emailsTo([owner.email])).toHaveLength(1);
    expect(await emailsTo([lost.email])).toHaveLength(1);
    const warnings = log.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(2);
    const problems = warnings.map((line) => JSON.stringify(line.attributes));
    expect(problems[0]).toContain('detail.daysLeft');
    expect(problems[1]).toContain('1 unknown field(s)');
    expect(JSON.stringify(log.lines)).not.toContain('IGQ-should-never-be-here');
  });

  describe('handing on what one receive could not send', () => {
    const { publisher, handedOn } = useHandOnBus('tokenwatch-warning-hand-on-test');

    it('puts a warning back on the bus as a warning, and the fresh one sends only to whoever waits', async () => {
      const owner = await createPerson(table.store, 'owner');
      const developer = await createPerson(table.store, 'dev', developerOn);
      const scenario = await expiringAccount(owner, [developer]);

      const result = await notifyFromQueue(
        [warningRecord(scenario.week)],
        deps({ ...timeFor(1), publisher: publisher() }),
      );

      expect(result.batchItemFailures).toEqual([]);
      expect(result.totals).toMatchObject({ sent: 1, handedOn: 1 });
      expect(
        handedOn(scenario.accountId).map((event) => [event['detail-type'], event.detail]),
      ).toEqual([['Instagram Token Expiring', scenario.week]]);

      const next = await notifyFromQueue([warningRecord(scenario.week)], deps());
      expect(next.totals).toMatchObject({ sent: 1, alreadySent: 1 });
      expect(await emailsTo([owner.email, developer.email])).toHaveLength(2);
    });

    it('hands on each unread event of a batch that made progress as its own detail type', async () => {
      // The first tells its owner, then runs out of time before its developer.
      const first = await expiringAccount(await createPerson(table.store, 'owner'), [
        await createPerson(table.store, 'dev', developerOn),
      ]);
      const second = await expiringAccount(await createPerson(table.store, 'owner'));
      const expired = await expiredAccount(await createPerson(table.store, 'owner'));

      const result = await notifyFromQueue(
        [warningRecord(first.week), expiredRecord(expired), warningRecord(second.day)],
        deps({ ...timeFor(1), publisher: publisher() }),
      );

      expect(result.batchItemFailures).toEqual([]);
      expect(result.totals).toMatchObject({ sent: 1, handedOn: 3 });
      expect(handedOn(expired.accountId).map((event) => event['detail-type'])).toEqual([
        'Instagram Token Expired',
      ]);
      expect(
        handedOn(second.accountId).map((event) => [event['detail-type'], event.detail]),
      ).toEqual([['Instagram Token Expiring', second.day]]);
      expect(
        handedOn(first.accountId).map((event) => [event['detail-type'], event.detail]),
      ).toEqual([['Instagram Token Expiring', first.week]]);
    });
  });
});
