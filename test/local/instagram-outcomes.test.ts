/**
 * The local system's `POST /_local/instagram/outcomes` and `POST /_local/seed`, driven over HTTP
 * as a person at a terminal would, with each refresh read back through the real Instagram
 * client, so the stand-in's wire format is what the product parses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstagramClient, InstagramError, type InstagramClient } from '#platform/instagram';
import { startLocalSystem, type LocalSystem } from '../../local/system';
import { freePort } from '../support/services';

const DAY = 86_400_000;
let system: LocalSystem;
let client: InstagramClient;

beforeAll(async () => {
  system = await startLocalSystem({
    apiPort: await freePort(),
    sesPort: await freePort(),
    checkIntervalMs: 0,
    runCheckAtStart: false,
    loadDemoData: false,
  });
  client = createInstagramClient(
    {
      graphUrl: system.instagram.endpoint,
      apiUrl: system.instagram.endpoint,
      authorizeUrl: system.instagram.authorizeUrl,
      redirectUri: `${system.urls.api}/instagram-accounts/reconnect`,
      appSecretId: 'unused',
    },
    { credentials: () => Promise.resolve({ appId: '1234567890', appSecret: 'local-app-secret' }) },
  );
}, 60_000);
afterAll(async () => {
  await system.stop();
});

const post = async (path: string, body: unknown) => {
  const response = await fetch(`${system.urls.api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    text: await response.text(),
  };
};
const setOutcome = (body: unknown) => post('/_local/instagram/outcomes', body);

/** How a refresh of `token` went: the new token, or the client's error. */
const refresh = (token: string) =>
  client.refreshToken(token).then(
    (next) => ({ ok: true as const, next }),
    (error: unknown) => {
      if (!(error instanceof InstagramError)) throw error;
      return { ok: false as const, failure: error.failure, details: error.details };
    },
  );

let serial = 0;
async function seedAccount(fields: Record<string, unknown> = {}) {
  serial += 1;
  const accountId = `1784149000000${String(serial).padStart(4, '0')}`;
  const account = {
    accountId,
    ownerUserId: 'user-outcomes',
    username: `outcomes.${String(serial)}`,
    accessToken: `IGAA-outcomes-secret-${accountId}`,
    expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
    ...fields,
  };
  const seeded = await post('/_local/seed', { instagramAccounts: [account] });
  expect(seeded.status).toBe(200);
  return account;
}

describe('POST /_local/instagram/outcomes', () => {
  it.each([
    ['password-changed', { failure: 'token-rejected', details: { code: 190, subcode: 460 } }],
    ['app-removed', { failure: 'token-rejected', details: { code: 190, subcode: 458 } }],
    ['checkpoint', { failure: 'token-rejected', details: { code: 190, subcode: 459 } }],
    ['expired', { failure: 'token-rejected', details: { code: 190, subcode: 463 } }],
    ['server-error', { failure: 'unavailable', details: { status: 500, code: 1 } }],
    ['rate-limit', { failure: 'rate-limited', details: { status: 400, code: 4 } }],
  ])('makes every refresh of the token answer %s', async (outcome, expected) => {
    const { accessToken } = await seedAccount();
    const answer = await setOutcome({ accessToken, refresh: outcome });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ accessToken: 'IGAA-o…', refresh: outcome });
    // Every refresh, not just the next one.
    for (let i = 0; i < 2; i += 1) {
      expect(await refresh(accessToken)).toEqual({
        ok: false,
        ...expected,
        details: expect.objectContaining(expected.details) as unknown,
      });
    }
  });

  it('ok makes a refused token refresh again, and its new token starts at ok', async () => {
    const { accessToken } = await seedAccount();
    await setOutcome({ accessToken, refresh: 'checkpoint' });
    expect((await refresh(accessToken)).ok).toBe(false);
    expect((await setOutcome({ accessToken, refresh: 'ok' })).status).toBe(200);
    const refreshed = await refresh(accessToken);
    if (!refreshed.ok) throw new Error('the refresh failed');
    expect(refreshed.next.expiresInSeconds).toBe(60 * 86_400);
    expect(system.instagram.refreshOutcome(refreshed.next.accessToken)).toBe('ok');
  });

  it("names the account instead of its token: the account's current token is the one set", async () => {
    const { accountId, accessToken } = await seedAccount();
    const answer = await setOutcome({ accountId, refresh: 'password-changed' });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({
      accessToken: 'IGAA-o…',
      refresh: 'password-changed',
      accountId,
    });
    expect(system.instagram.refreshOutcome(accessToken)).toBe('password-changed');
    expect(await refresh(accessToken)).toMatchObject({ ok: false, details: { subcode: 460 } });

    // The product's own refresh reads the same answer: Instagram said the password changed.
    const owner = await system.tokenFor('user-outcomes');
    const route = await fetch(`${system.urls.api}/instagram-accounts/${accountId}/token/refresh`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}` },
    });
    expect(route.status).toBe(409);
    expect(await system.store.getAccount(accountId)).toMatchObject({
      tokenStatus: 'invalid',
      cause: 'password-changed',
    });
  });

  it('answers 404 for an account not in the table, and changes nothing', async () => {
    const answer = await setOutcome({ accountId: '17841499999999999', refresh: 'checkpoint' });
    expect(answer.status).toBe(404);
    expect(answer.contentType).toBe('application/problem+json');
    expect(JSON.parse(answer.text)).toMatchObject({ type: 'about:blank', status: 404 });
  });

  type Named = { accountId: string; accessToken: string };
  it.each([
    ['no JSON', () => '{refresh: ok'],
    ['an empty body', () => ''],
    ['a list', ({ accessToken }: Named) => [{ accessToken, refresh: 'checkpoint' }]],
    ['no token and no account', () => ({ refresh: 'checkpoint' })],
    [
      'both a token and an account',
      ({ accountId, accessToken }: Named) => ({ accountId, accessToken, refresh: 'checkpoint' }),
    ],
    ['no outcome', ({ accessToken }: Named) => ({ accessToken })],
    [
      'an outcome that is a cause, not an answer',
      ({ accessToken }: Named) => ({ accessToken, refresh: 'session-invalidated' }),
    ],
    [
      'an unknown field',
      ({ accessToken }: Named) => ({ accessToken, refresh: 'checkpoint', times: 3 }),
    ],
    ['an account id that is none', () => ({ accountId: 'no such id!', refresh: 'checkpoint' })],
  ])('refuses %s with a 400 problem and changes nothing', async (_name, bodyFor) => {
    const named = await seedAccount();
    const { accessToken } = named;
    const body = bodyFor(named);
    const answer = await setOutcome(typeof body === 'string' ? body : JSON.stringify(body));
    expect(answer.status).toBe(400);
    expect(answer.contentType).toBe('application/problem+json');
    const problem = JSON.parse(answer.text) as Record<string, unknown>;
    expect(problem).toMatchObject({
      type: expect.any(String) as unknown,
      title: expect.any(String) as unknown,
      status: 400,
      detail: expect.stringContaining('Nothing was changed') as unknown,
    });
    expect(answer.text).not.toContain(accessToken);
    expect(system.instagram.refreshOutcome(accessToken)).toBe('ok');
    expect((await refresh(accessToken)).ok).toBe(true);
  });

  it('names each wrong field by its JSON pointer', async () => {
    const answer = await setOutcome({ accessToken: 'IGAA-x', refresh: 'sometimes', times: 3 });
    expect(JSON.parse(answer.text)).toMatchObject({
      type: 'tag:tokenwatch,2026:problem/validation',
      errors: expect.arrayContaining([
        expect.objectContaining({ pointer: '#/refresh' }),
        { detail: 'This field is not allowed.', pointer: '#/times' },
      ]) as unknown,
    });
  });

  it('never echoes a token whole, however short', async () => {
    for (const accessToken of ['IGAA-a-long-enough-secret', 'short', 'ab', 'x']) {
      const answer = await setOutcome({ accessToken, refresh: 'rate-limit' });
      expect(answer.status).toBe(200);
      const shown = (JSON.parse(answer.text) as { accessToken: string }).accessToken;
      expect(shown.endsWith('…')).toBe(true);
      expect(accessToken.startsWith(shown.slice(0, -1))).toBe(true);
      expect(answer.text).not.toContain(accessToken);
    }
  });
});

describe("POST /_local/seed with an account's issuedAt", () => {
  it('stores it as the token issue time, which the refresh then honours', async () => {
    const issuedAt = new Date(Date.now() - 3_600_000).toISOString();
    const { accountId, accessToken } = await seedAccount({
      issuedAt,
      expiresAt: new Date(Date.now() + 60 * DAY).toISOString(),
    });
    expect((await system.store.getAccountWithToken(accountId))?.tokenIssuedAt).toBe(issuedAt);
    // An hour old: too young for Instagram to refresh, so nobody is asked.
    const callsBefore = system.instagram.calls.length;
    const owner = await system.tokenFor('user-outcomes');
    const route = await fetch(`${system.urls.api}/instagram-accounts/${accountId}/token/refresh`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}` },
    });
    expect(route.status).toBe(200);
    expect(system.instagram.calls.length).toBe(callsBefore);
    expect((await system.store.getAccountWithToken(accountId))?.accessToken).toBe(accessToken);
  });

  it('left out, is inferred from the expiry (60 days before it, never after today)', async () => {
    const expiresAt = new Date(Date.now() + 30 * DAY).toISOString();
    const { accountId } = await seedAccount({ expiresAt });
    const stored = (await system.store.getAccountWithToken(accountId))?.tokenIssuedAt;
    expect(stored).toBe(new Date(Date.parse(expiresAt) - 60 * DAY).toISOString());

    const fresh = await seedAccount({ expiresAt: new Date(Date.now() + 90 * DAY).toISOString() });
    const issued = Date.parse(
      (await system.store.getAccountWithToken(fresh.accountId))?.tokenIssuedAt ?? '',
    );
    expect(issued).toBeLessThanOrEqual(Date.now());
    expect(issued).toBeGreaterThan(Date.now() - 60_000);
  });

  it.each([
    ['after expiresAt', { issuedAt: '2030-02-01T00:00:00Z', expiresAt: '2030-01-01T00:00:00Z' }],
    ['no instant', { issuedAt: 'yesterday' }],
  ])('refuses an issuedAt %s with a 400 and writes nothing', async (_name, fields) => {
    const accountId = `17841498${String(Date.now()).slice(-9)}`;
    const answer = await post('/_local/seed', {
      users: [{ userId: 'user-half-seeded', email: 'half@outcomes.example', name: 'Half' }],
      instagramAccounts: [
        {
          accountId,
          ownerUserId: 'user-half-seeded',
          username: 'half.seeded',
          accessToken: 'IGAA-never-written',
          expiresAt: '2030-01-01T00:00:00Z',
          ...fields,
        },
      ],
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({
      errors: [expect.objectContaining({ path: 'instagramAccounts.0.issuedAt' }) as unknown],
    });
    expect(await system.store.getAccount(accountId)).toBeUndefined();
    expect((await system.store.getProfiles(['user-half-seeded'])).size).toBe(0);
    expect(system.instagram.tokenInfo('IGAA-never-written')).toBeUndefined();
  });

  it("makes the seeded token known to the Instagram stand-in, for the account's user", async () => {
    const expiresAt = new Date(Date.now() + 20 * DAY).toISOString();
    const { accountId, accessToken } = await seedAccount({ expiresAt });
    expect(system.instagram.tokenInfo(accessToken)).toEqual({
      userId: accountId,
      expiresAt: new Date(expiresAt),
      kind: 'long-lived',
      revoked: false,
    });
    // Known, so its expiry holds: a token seeded expired is refused as Instagram would.
    const expired = await seedAccount({ expiresAt: new Date(Date.now() - DAY).toISOString() });
    expect(await refresh(expired.accessToken)).toMatchObject({
      ok: false,
      details: { code: 190, subcode: 463 },
    });
  });
});
