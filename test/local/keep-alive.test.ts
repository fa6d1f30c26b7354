/**
 * "Keep tokens alive", done as a person at a terminal would do it on `npm start`: seed accounts
 * over HTTP, tell the Instagram stand-in how each refresh goes, and run every scheduled job with
 * `POST /_local/run-check`, moving `now` forward to watch warnings and expiry happen. The emails
 * are read from the SES emulator's inbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSystem, type LocalSystem } from '../../local/system';
import { freePort } from '../support/services';

const DAY = 86_400_000;
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
  });
}, 60_000);
afterAll(async () => {
  await system.stop();
});

const post = async (path: string, body?: unknown) => {
  const response = await fetch(`${system.urls.api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

interface InboxEmail {
  destination: { to: string[] };
  subject: string;
  body: { text?: string };
}
const inbox = async () =>
  ((await (await fetch(`${system.urls.inbox}/store`)).json()) as { emails: InboxEmail[] }).emails;
const emailsTo = async (address: string) =>
  (await inbox()).filter((email) => email.destination.to.includes(address));

const runCheck = (now?: string) => post('/_local/run-check', now ? { now } : undefined);

async function seedAccount(accountId: string, daysLeft: number, owner: string) {
  const seeded = await post('/_local/seed', {
    users: [{ userId: owner, email: `${owner}@example.test`, name: owner }],
    instagramAccounts: [
      {
        accountId,
        ownerUserId: owner,
        username: `shop.${accountId.slice(-3)}`,
        accessToken: `IGQ-keep-alive-${accountId}`,
        issuedAt: at(daysLeft - 60),
        expiresAt: at(daysLeft),
      },
    ],
  });
  expect(seeded.status).toBe(200);
}

const account = async (accountId: string, owner: string) => {
  const { token } = (await (
    await fetch(`${system.urls.api}/_local/token?sub=${owner}`)
  ).json()) as { token: string };
  const answer = (await (
    await fetch(`${system.urls.api}/me/instagram-accounts`, {
      headers: { authorization: `Bearer ${token}` },
    })
  ).json()) as { accounts: Record<string, unknown>[] };
  return answer.accounts.find((entry) => entry.accountId === accountId);
};

describe('keeping tokens alive on the local stack', () => {
  it('refreshes a token 10 days from expiry on the next run, and nobody hears of it', async () => {
    await seedAccount('17841400000070001', 10, 'keep-owner-a');
    const summary = await runCheck();
    expect(summary.status).toBe(200);
    expect(summary.body.refresh).toMatchObject({ due: 1, queued: 1 });
    expect(await account('17841400000070001', 'keep-owner-a')).toMatchObject({
      tokenStatus: 'active',
      cause: null,
    });
    const expiresAt = (await account('17841400000070001', 'keep-owner-a'))?.expiresAt as string;
    expect(Date.parse(expiresAt)).toBeGreaterThan(start + 59 * DAY);
    expect(await emailsTo('keep-owner-a@example.test')).toEqual([]);
  });

  it('makes a token Instagram rejects invalid at once, and its owner gets one email naming the cause', async () => {
    await seedAccount('17841400000070002', 10, 'keep-owner-b');
    expect(
      (
        await post('/_local/instagram/outcomes', {
          accountId: '17841400000070002',
          refresh: 'password-changed',
        })
      ).status,
    ).toBe(200);
    await runCheck();
    await runCheck();
    expect(await account('17841400000070002', 'keep-owner-b')).toMatchObject({
      tokenStatus: 'invalid',
      cause: 'password-changed',
    });
    const emails = await emailsTo('keep-owner-b@example.test');
    expect(emails).toHaveLength(1);
    expect(emails[0]?.body.text).toMatch(/password/i);
  });

  it('warns 7 and 1 days before a token that keeps failing, then says it expired, each once', async () => {
    await seedAccount('17841400000070003', 12, 'keep-owner-c');
    await post('/_local/instagram/outcomes', {
      accountId: '17841400000070003',
      refresh: 'server-error',
    });
    const subjects = async () =>
      (await emailsTo('keep-owner-c@example.test')).map((email) => email.subject);
    await runCheck();
    expect(await subjects()).toEqual([]);
    await runCheck(at(5.1));
    await runCheck(at(5.2));
    expect(await subjects()).toHaveLength(1);
    await runCheck(at(11.1));
    await runCheck(at(11.2));
    expect(await subjects()).toHaveLength(2);
    await runCheck(at(12.1));
    await runCheck(at(12.2));
    const all = await subjects();
    expect(all).toHaveLength(3);
    expect(all[0]).toMatch(/disconnects in 6 days/);
    expect(all[1]).toMatch(/disconnects in 2[0-3] hours/);
    expect(all[2]).not.toMatch(/disconnects in/);
    expect(await account('17841400000070003', 'keep-owner-c')).toMatchObject({
      tokenStatus: 'expired',
      cause: 'expired',
    });
  }, 120_000);

  it('refuses a run-check body it cannot read, and runs nothing', async () => {
    for (const body of ['{"now": "tomorrow"}', '{"when": "2026-12-01T00:00:00Z"}', '[]', 'x']) {
      const answer = await post('/_local/run-check', body);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ status: 400, title: 'Bad run-check body' });
    }
  });
});

describe('reminders on the local stack', () => {
  it('come 3 and 7 days after the expiry email, and stop when the owner opts out', async () => {
    await seedAccount('17841400000070004', -0.1, 'keep-owner-d');
    const subjects = async () =>
      (await emailsTo('keep-owner-d@example.test')).map((email) => email.subject);
    await runCheck();
    expect(await subjects()).toHaveLength(1);
    await runCheck(at(3.1));
    await runCheck(at(3.2));
    const afterThree = await subjects();
    expect(afterThree).toHaveLength(2);
    expect(afterThree[1]).toMatch(/^Reminder: .*still disconnected.*3 days/);
    await runCheck(at(7.1));
    expect(await subjects()).toHaveLength(3);

    const { token } = (await (
      await fetch(`${system.urls.api}/_local/token?sub=keep-owner-d`)
    ).json()) as { token: string };
    const opted = await fetch(`${system.urls.api}/me/notification-preferences`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ownerExpiredToken: false, developerExpiredToken: false }),
    });
    expect(opted.status).toBe(200);
    await runCheck(at(14.1));
    await runCheck(at(28.1));
    expect(await subjects()).toHaveLength(3);
  }, 120_000);
});
