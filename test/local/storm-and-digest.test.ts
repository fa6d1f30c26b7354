/**
 * Issue #16's "Done when", through the local stack as a person at a terminal drives it on
 * `npm start`: seed accounts over HTTP, tell the Instagram stand-in how each refresh goes, run
 * every scheduled job with `POST /_local/run-check` (moving `now` forward to end a digest
 * window), and read the emails from the SES emulator's inbox.
 *
 * - five client accounts of one developer expiring at once: one email now, one digest an hour
 *   later naming the other four;
 * - thirty tokens refused at once: no customer email, `GET /status` reports the incident, the
 *   refresh pauses, and after `release` every held owner gets exactly one email; after a
 *   `discard`, nobody does, and each notice is recorded as discarded.
 *
 * One local system for the file (its handlers read their configuration once, when loaded), so
 * the tests run in order and each uses its own people and accounts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { startLocalSystem, type LocalSystem } from '../../local/system';
import { freePort } from '../support/services';

const DAY = 86_400_000;
const MINUTE = 60_000;
let system: LocalSystem;
const start = Date.now();
const at = (days: number) => new Date(start + days * DAY).toISOString();

beforeAll(async () => {
  system = await startLocalSystem({
    apiPort: await freePort(),
    sesPort: await freePort(),
    checkIntervalMs: 0,
    runCheckAtStart: false,
    loadDemoData: false,
    stormMinTokens: 20,
  });
}, 60_000);
afterAll(async () => {
  await system.stop();
});

const request = async (
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; token?: string } = {},
) => {
  const response = await fetch(`${system.urls.api}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const post = (path: string, body?: unknown) => request('POST', path, { body });

interface InboxEmail {
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
}
const inbox = async () =>
  ((await (await fetch(`${system.urls.inbox}/store`)).json()) as { emails: InboxEmail[] }).emails;
const emailsTo = async (address: string) =>
  (await inbox()).filter((email) => email.destination.to.includes(address));

interface RunCheck {
  refresh: { due: number; queued: number; paused: boolean };
  check: unknown;
  digests: {
    emails: number;
    digests: number;
    told: number;
    discarded: number;
    stormOn: boolean;
  };
  emailsSent: number;
}
async function runCheck(now?: Date): Promise<RunCheck> {
  const answer = await post('/_local/run-check', now ? { now: now.toISOString() } : undefined);
  expect(answer.status).toBe(200);
  return answer.body as unknown as RunCheck;
}

async function seed(document: Record<string, unknown>) {
  const seeded = await post('/_local/seed', document);
  expect(seeded.status, JSON.stringify(seeded.body)).toBe(200);
}

const serviceGet = async (path: string) =>
  request('GET', path, { token: await system.serviceToken() });
const endStorm = async (action: 'release' | 'discard') =>
  request('POST', '/service/storm', { body: { action }, token: await system.serviceToken() });

/** The ledger's record of one email, as stored. */
async function record(accountId: string, userId: string) {
  const db = createDocumentClient(new DynamoDBClient({}));
  const { Item } = await db.send(
    new GetCommand({
      TableName: system.tableName,
      Key: keys.notification(accountId, 1, 'expired', userId),
      ConsistentRead: true,
    }),
  );
  return Item;
}

/** The storm guard's state item, as stored. */
async function stormItem() {
  const db = createDocumentClient(new DynamoDBClient({}));
  const { Item } = await db.send(
    new GetCommand({ TableName: system.tableName, Key: keys.stormState(), ConsistentRead: true }),
  );
  return Item;
}

describe('an agency’s clients expiring at once', () => {
  const developer = 'agency-dev';
  const developerEmail = 'agency-dev@example.test';
  const clients = [1, 2, 3, 4, 5].map((index) => ({
    accountId: `1784140000016000${index}`,
    username: `agency_client_${index}`,
    owner: `agency-client-owner-${index}`,
  }));

  it('give their developer one email now and one digest an hour later naming the other four', async () => {
    await seed({
      users: [
        { userId: developer, email: developerEmail, name: 'Agency' },
        ...clients.map(({ owner }) => ({
          userId: owner,
          email: `${owner}@example.test`,
          name: owner,
        })),
      ],
      instagramAccounts: clients.map(({ accountId, username, owner }) => ({
        accountId,
        ownerUserId: owner,
        username,
        accessToken: `IGQ-agency-${accountId}`,
        issuedAt: at(-60.1),
        expiresAt: at(-0.1),
      })),
      developerRoles: clients.map(({ accountId }) => ({ accountId, userId: developer })),
      preferences: [{ userId: developer, ownerExpiredToken: true, developerExpiredToken: true }],
    });

    const first = await runCheck(new Date(start));
    // The developer's first notice opened their window and went at once; each client, who owns
    // one account, gets theirs at once too.
    const toDeveloper = await emailsTo(developerEmail);
    expect(toDeveloper).toHaveLength(1);
    for (const { owner } of clients)
      expect(await emailsTo(`${owner}@example.test`)).toHaveLength(1);
    expect(first.emailsSent).toBe(1 + clients.length);
    const [now] = toDeveloper;
    const named = (email: InboxEmail | undefined) =>
      clients
        .filter(({ username }) => email?.body.text?.includes(`@${username}`))
        .map(({ username }) => username);
    expect(named(now)).toHaveLength(1);

    // Nothing more while the window is open.
    expect((await runCheck(new Date(start + 30 * MINUTE))).emailsSent).toBe(0);

    const later = await runCheck(new Date(start + 61 * MINUTE));
    expect(later.emailsSent).toBe(1);
    expect(later.digests).toMatchObject({ emails: 1, digests: 1, told: 4 });
    const all = await emailsTo(developerEmail);
    expect(all).toHaveLength(2);
    const digest = all[1];
    expect(digest?.subject).toMatch(/4 of your clients/);
    const inDigest = named(digest);
    expect(inDigest).toHaveLength(4);
    expect([...inDigest, ...named(now)].sort()).toEqual(clients.map(({ username }) => username));
    expect(digest?.body.html).toContain('agency_client_');

    // Nothing else: no second email to a client, nothing more to the developer.
    expect((await runCheck(new Date(start + 125 * MINUTE))).emailsSent).toBe(0);
    for (const { owner } of clients)
      expect(await emailsTo(`${owner}@example.test`)).toHaveLength(1);
    expect(await emailsTo(developerEmail)).toHaveLength(2);
  }, 120_000);
});

/** `count` accounts due for refresh (10 days left, issued 50 days ago), each its own owner. */
async function refusedAtOnce(prefix: string, count: number, outcomeOf: (index: number) => string) {
  const accounts = Array.from({ length: count }, (_, index) => ({
    accountId: `${prefix}${String(index).padStart(4, '0')}`,
    owner: `storm-owner-${prefix}-${index}`,
    refresh: outcomeOf(index),
  }));
  await seed({
    users: accounts.map(({ owner }) => ({
      userId: owner,
      email: `${owner}@example.test`,
      name: owner,
    })),
    instagramAccounts: accounts.map(({ accountId, owner }) => ({
      accountId,
      ownerUserId: owner,
      username: `shop_${accountId}`,
      accessToken: `IGQ-storm-${accountId}`,
      issuedAt: at(-50),
      expiresAt: at(10),
    })),
  });
  for (const { accountId, refresh } of accounts) {
    expect((await post('/_local/instagram/outcomes', { accountId, refresh })).status).toBe(200);
  }
  return accounts;
}

const ownersEmails = async (accounts: readonly { owner: string }[]) =>
  Promise.all(accounts.map(async ({ owner }) => (await emailsTo(`${owner}@example.test`)).length));

interface StormAnswer {
  status: 'storm' | 'calm';
  incident: {
    since: string;
    summary: string;
    tokens: number;
    causes: Record<string, number>;
  } | null;
  held: number;
  lastEnded: { since: string; action: string; at: string } | null;
}

describe('a storm: thirty tokens refused at once', () => {
  let first: Awaited<ReturnType<typeof refusedAtOnce>>;
  let since: string;

  it('sends no customer email, reports the incident, and pauses the refresh', async () => {
    expect(await request('GET', '/status')).toEqual({ status: 200, body: { incident: null } });
    first = await refusedAtOnce('17841400000170', 30, (index) =>
      index % 6 === 5 ? 'password-changed' : 'expired',
    );
    const emailsBefore = (await inbox()).length;

    const run = await runCheck();
    expect(run.refresh).toMatchObject({ due: 30, queued: 30, paused: false });
    expect(run.emailsSent).toBe(0);
    expect(run.digests.stormOn).toBe(true);
    expect(await ownersEmails(first)).toEqual(first.map(() => 0));

    const status = await request('GET', '/status');
    expect(status.status).toBe(200);
    const incident = status.body.incident as { since: string; summary: string };
    expect(Object.keys(incident).sort()).toEqual(['since', 'summary']);
    expect(Date.parse(incident.since)).toBeGreaterThanOrEqual(start);
    expect(incident.summary).toMatch(/^Instagram refused or failed to refresh \d+ tokens /);
    expect(incident.summary).toContain('session ended');
    expect(incident.summary).toMatch(/not with the accounts/);
    since = incident.since;

    const storm = await serviceGet('/service/storm');
    expect(storm.status).toBe(200);
    const report = storm.body as unknown as StormAnswer;
    expect(report.status).toBe('storm');
    expect(report.incident).toMatchObject({ since, summary: incident.summary });
    expect(report.incident?.tokens).toBeGreaterThanOrEqual(20);
    expect(Object.keys(report.incident?.causes ?? {}).sort()).toEqual(
      expect.arrayContaining(['session-invalidated']),
    );
    expect(
      Object.keys(report.incident?.causes ?? {}).every((cause) =>
        ['session-invalidated', 'password-changed'].includes(cause),
      ),
    ).toBe(true);
    // Every refused token's owner has a notice held: thirty.
    expect(report.held).toBeGreaterThanOrEqual(30);
    expect(report.lastEnded).toBeNull();

    // The widget service only: a person's token is refused (the service authorizer's audience
    // is the service client), and cannot end the storm.
    const { token } = (await (
      await fetch(`${system.urls.api}/_local/token?sub=${first[0]?.owner ?? ''}`)
    ).json()) as { token: string };
    expect((await request('GET', '/service/storm', { token })).status).toBe(401);
    expect(
      (await request('POST', '/service/storm', { token, body: { action: 'release' } })).status,
    ).toBe(401);
    expect((await request('POST', '/service/storm', { body: { action: 'release' } })).status).toBe(
      401,
    );
    expect(((await serviceGet('/service/storm')).body as unknown as StormAnswer).status).toBe(
      'storm',
    );

    // The next run queues no refresh, and still sends nothing.
    const paused = await runCheck();
    expect(paused.refresh).toMatchObject({ paused: true, queued: 0 });
    expect(paused.emailsSent).toBe(0);

    // Nobody ends it: the digest flush reports it to the operators again an hour on, once.
    const hourOn = new Date(Date.parse(since) + 61 * MINUTE);
    expect((await runCheck(hourOn)).emailsSent).toBe(0);
    // The jobs' clock runs on from the instant given.
    const reportedAt = (await stormItem())?.reportedAt as string;
    expect(Date.parse(reportedAt) - hourOn.getTime()).toBeGreaterThanOrEqual(0);
    expect(Date.parse(reportedAt) - hourOn.getTime()).toBeLessThan(MINUTE);
    expect((await runCheck(new Date(hourOn.getTime() + 30 * MINUTE))).emailsSent).toBe(0);
    expect((await stormItem())?.reportedAt).toBe(reportedAt);
    expect((await inbox()).length).toBe(emailsBefore);
  }, 120_000);

  it('after release, every held owner gets exactly one email, once', async () => {
    const released = await endStorm('release');
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({
      status: 'calm',
      incident: null,
      lastEnded: { since, action: 'release' },
    });
    expect(await request('GET', '/status')).toEqual({ status: 200, body: { incident: null } });

    const run = await runCheck();
    expect(run.refresh.paused).toBe(false);
    expect(run.emailsSent).toBe(30);
    expect(run.digests).toMatchObject({ emails: 30, told: 30, discarded: 0, stormOn: false });
    expect(await ownersEmails(first)).toEqual(first.map(() => 1));
    const [sample] = await emailsTo(`${first[5]?.owner ?? ''}@example.test`);
    expect(sample?.body.text).toMatch(/password/i);

    expect(((await serviceGet('/service/storm')).body as unknown as StormAnswer).held).toBe(0);
    expect((await runCheck()).emailsSent).toBe(0);
    expect(await ownersEmails(first)).toEqual(first.map(() => 1));

    const again = await endStorm('release');
    expect(again.status).toBe(409);
  }, 120_000);

  it('after discard, nobody is told, and each held notice is recorded as discarded', async () => {
    const second = await refusedAtOnce('17841400000270', 30, (index) =>
      index % 2 === 0 ? 'app-removed' : 'checkpoint',
    );
    const run = await runCheck();
    expect(run.emailsSent).toBe(0);
    const report = (await serviceGet('/service/storm')).body as unknown as StormAnswer;
    expect(report.status).toBe('storm');
    expect(report.incident?.since).not.toBe(since);
    expect(report.held).toBeGreaterThanOrEqual(30);

    const discarded = await endStorm('discard');
    expect(discarded.status).toBe(200);
    expect(discarded.body).toMatchObject({ status: 'calm', lastEnded: { action: 'discard' } });

    const after = await runCheck();
    expect(after.emailsSent).toBe(0);
    expect(after.digests).toMatchObject({ emails: 0, discarded: 30 });
    expect(await ownersEmails(second)).toEqual(second.map(() => 0));
    for (const { accountId, owner } of second) {
      expect(await record(accountId, owner)).toMatchObject({ status: 'discarded' });
    }
    expect(((await serviceGet('/service/storm')).body as unknown as StormAnswer).held).toBe(0);
    expect((await runCheck()).emailsSent).toBe(0);
    expect((await endStorm('discard')).status).toBe(409);
  }, 120_000);
});
