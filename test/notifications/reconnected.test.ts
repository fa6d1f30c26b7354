/**
 * The reconnect link creator's email (`Instagram Token Refreshed` by `link:<linkId>`), through
 * the notifier as the queue hands it over, on DynamoDB Local and the SES emulator: the creator
 * hears once per generation that the client reconnected; nobody hears of a refresh by a user or
 * the automatic refresh; a link or creator that cannot be found leaves nobody to tell.
 */
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { eventEnvelope, matches } from '../../local/eventbridge';
import { useTestTable, type TestTable } from '../support/table';
import {
  createPerson,
  emailsTo,
  headerOf,
  present,
  uniqueAccountId,
  type Person,
} from '../support/pipeline-services';
import { createSesMailer } from '#platform/ses';
import { createEmailRenderer } from '#notifications/emails';
import {
  notifyFromQueue,
  type QueueBatchDependencies,
  type QueueRecord,
} from '#notifications/queue-batch';
import type { LogSink } from '#platform/observability';
import {
  detailTypes,
  linkUsedRulePattern,
  noticeRulePattern,
  type TokenRefreshedDetail,
} from '#tokens/events';
import { newLinkSecret } from '#tokens/reconnect-links';
import { keys } from '#storage/keys';

let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-26T15:45:00.000Z');
const usedAt = '2026-11-26T15:42:00.000Z';
const appUrl = 'https://app.example.com';

interface LogLine {
  level: string;
  message: string;
}
function recordingLog(): LogSink & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (message: string) => lines.push({ level, message });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

function deps(overrides: Partial<QueueBatchDependencies> = {}): QueueBatchDependencies {
  return {
    store: table.store,
    mailer: createSesMailer({
      client: new SESv2Client({ maxAttempts: 1 }),
      from: 'notifications@example.com',
      sleep: () => Promise.resolve(),
    }),
    renderer: createEmailRenderer(),
    appUrl,
    unsubscribeUrl: 'https://api.example.com/unsubscribe',
    unsubscribeKey: () => Promise.resolve('test-unsubscribe-key-'.repeat(3)),
    clock: () => now,
    leaseSeconds: 120,
    log: recordingLog(),
    ...overrides,
  };
}

const envelopeOf = (detail: TokenRefreshedDetail) =>
  eventEnvelope({
    detailType: detailTypes.tokenRefreshed,
    source: 'tokenwatch',
    detail,
    time: now,
  });
const recordOf = (detail: TokenRefreshedDetail): QueueRecord => ({
  messageId: randomUUID(),
  body: JSON.stringify(envelopeOf(detail)),
});

interface Scenario {
  accountId: string;
  username: string;
  owner: Person;
  creator: Person;
  linkId: string;
  /** what the link's use published */
  used: TokenRefreshedDetail;
}

/**
 * An account whose developer made a reconnect link that the client used: generation 2 stored
 * by the link. `developerExpiredToken` is off for the creator (the default): this email is not
 * governed by it.
 */
async function linkUsed(options: { withLink?: boolean } = {}): Promise<Scenario> {
  const owner = await createPerson(table.store, 'owner');
  const creator = await createPerson(table.store, 'dev');
  const accountId = uniqueAccountId('linked');
  const username = `shop_${accountId.slice(-6)}`;
  await table.store.putAccount(
    {
      accountId,
      ownerUserId: owner.userId,
      username,
      accessToken: 'IGQ-not-a-real-token',
      expiresAt: '2027-01-25T15:42:00.000Z',
      tokenStatus: 'active',
      generation: 2,
    },
    now,
  );
  await table.store.putDeveloperRole({ accountId, userId: creator.userId }, now);
  const { linkId, secretHash } = newLinkSecret();
  if (options.withLink ?? true) {
    await table.store.putReconnectLink({
      accountId,
      linkId,
      createdBy: creator.userId,
      createdAt: '2026-11-25T13:00:00.000Z',
      expiresAt: '2026-11-28T13:00:00.000Z',
      secretHash,
      generation: 1,
      usedAt,
    });
  }
  return {
    accountId,
    username,
    owner,
    creator,
    linkId,
    used: {
      accountId,
      generation: 2,
      expiresAt: '2027-01-25T15:42:00.000Z',
      by: `link:${linkId}`,
    },
  };
}

/** Deletes one item, and only it (a user's erasure or an account's removal would take more). */
const deleteItem = (key: { pk: string; sk: string }) =>
  table.client.send(new DeleteItemCommand({ TableName: table.tableName, Key: marshall(key) }));

const notifiedKeys = async (accountId: string) =>
  (await table.itemsMentioning(accountId))
    .map((item) => String(item.sk))
    .filter((sk) => sk.startsWith('NOTIFIED#'));

describe('the link-used rule', () => {
  it('routes a Refreshed event by a reconnect link, and no other refresh, to the notification queue', () => {
    const detail = { accountId: 'a1', generation: 2, expiresAt: usedAt };
    const byLink = envelopeOf({ ...detail, by: 'link:AAAAAAAAAAAAAAAAAAAAAA' });
    const asRecord = (envelope: object) => envelope as unknown as Record<string, unknown>;
    expect(matches(linkUsedRulePattern, asRecord(byLink))).toBe(true);
    for (const by of ['u-someone', 'auto']) {
      const refreshed = asRecord(envelopeOf({ ...detail, by }));
      expect(matches(linkUsedRulePattern, refreshed)).toBe(false);
      expect(matches(noticeRulePattern, refreshed)).toBe(false);
    }
    // Nor does another detail type whose `by` happens to start so.
    expect(
      matches(linkUsedRulePattern, {
        ...asRecord(byLink),
        'detail-type': detailTypes.tokenExpired,
      }),
    ).toBe(false);
  });
});

describe("telling a reconnect link's creator that the client used it", () => {
  it('emails the creator once, with no unsubscribe header, recorded as reconnected; a duplicate sends nothing more', async () => {
    const scenario = await linkUsed();

    const first = await notifyFromQueue([recordOf(scenario.used)], deps());

    expect(first.batchItemFailures).toEqual([]);
    expect(first.totals).toMatchObject({ sent: 1, poison: 0, stale: 0, unreachable: 0 });
    const emails = await emailsTo([scenario.creator.email]);
    expect(emails).toHaveLength(1);
    const email = present(emails[0], "the creator's email");
    expect(email.subject).toBe(
      `Your client reconnected @${scenario.username}: its widget updates again`,
    );
    expect(email.body.text).toContain('Hi Dev,');
    expect(email.body.text).toContain('on 26 November 2026 at 15:42 UTC');
    expect(email.body.text).toMatch(/Nothing else is needed/);
    expect(email.body.text).toContain(
      `${appUrl}/instagram-accounts?account=${scenario.accountId}\n`,
    );
    expect(email.body.text).toMatch(/whatever your notification preferences/);
    expect(headerOf(email, 'List-Unsubscribe')).toBeUndefined();
    // Nobody else hears of it: not the owner, whose own settings are on.
    expect(await emailsTo([scenario.owner.email])).toEqual([]);
    expect(await notifiedKeys(scenario.accountId)).toEqual([
      `NOTIFIED#2#reconnected#${scenario.creator.userId}`,
    ]);

    // Delivery is at least once: the same event twice more finds the email sent.
    const again = await notifyFromQueue([recordOf(scenario.used), recordOf(scenario.used)], deps());
    expect(again.batchItemFailures).toEqual([]);
    expect(again.totals).toMatchObject({ sent: 0, alreadySent: 2 });
    expect(await emailsTo([scenario.creator.email])).toHaveLength(1);
  });

  it('still tells the creator when a newer token was stored since, or the account was removed', async () => {
    const replaced = await linkUsed();
    await table.store.putAccount(
      {
        accountId: replaced.accountId,
        ownerUserId: replaced.owner.userId,
        username: replaced.username,
        accessToken: 'IGQ-another',
        expiresAt: '2027-01-26T10:00:00.000Z',
        tokenStatus: 'active',
        generation: 3,
      },
      now,
    );
    const gone = await linkUsed();
    // Only the account's item: its link stays (removing the account takes its links too, and
    // then there is nobody to tell, as below).
    await deleteItem(keys.account(gone.accountId));

    const result = await notifyFromQueue([recordOf(replaced.used), recordOf(gone.used)], deps());

    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals).toMatchObject({ stale: 0 });
    expect(result.totals).toMatchObject({ sent: 2 });
    expect(await emailsTo([replaced.creator.email])).toHaveLength(1);
    const forGone = present(
      (await emailsTo([gone.creator.email]))[0],
      'the email of a gone account',
    );
    expect(forGone.subject).toBe(
      'Your client reconnected their Instagram account: its widget updates again',
    );
    expect(forGone.body.text).toMatch(/removed from tokenwatch since/);
  });

  it('sends nothing for a refresh by a user or the automatic refresh that reached it anyway', async () => {
    const scenario = await linkUsed();
    const log = recordingLog();

    const result = await notifyFromQueue(
      [
        recordOf({ ...scenario.used, by: scenario.owner.userId }),
        recordOf({ ...scenario.used, by: 'auto' }),
      ],
      deps({ log }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals).toMatchObject({ sent: 0, poison: 0, unreachable: 0 });
    expect(await emailsTo([scenario.creator.email, scenario.owner.email])).toEqual([]);
    expect(await notifiedKeys(scenario.accountId)).toEqual([]);
    expect(log.lines.filter((line) => /nobody to tell/.test(line.message))).toHaveLength(2);
  });

  it('acknowledges, logs and sends nothing when the link or the creator cannot be found', async () => {
    const noLink = await linkUsed({ withLink: false });
    const noProfile = await linkUsed();
    await deleteItem(keys.profile(noProfile.creator.userId));
    const log = recordingLog();

    const result = await notifyFromQueue(
      [recordOf(noLink.used), recordOf(noProfile.used)],
      deps({ log }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(result.totals).toMatchObject({ sent: 0, poison: 0, unreachable: 2 });
    expect(await emailsTo([noLink.creator.email, noProfile.creator.email])).toEqual([]);
    expect(await notifiedKeys(noLink.accountId)).toEqual([]);
    expect(await notifiedKeys(noProfile.accountId)).toEqual([]);
    expect(log.lines.map((line) => `${line.level}: ${line.message}`)).toEqual(
      expect.arrayContaining([
        'warn: The reconnect link is gone, so its creator is unknown: not notified',
        'warn: The link creator has no profile, so no address: not notified',
      ]),
    );
  });
});
