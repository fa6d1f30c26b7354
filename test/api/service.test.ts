/**
 * The service API (DESIGN.md, "The service API"), through the local API Gateway and the real
 * handlers on DynamoDB Local: every route's success, its repeat, bad input (400, nothing
 * written), unknown accounts (404 where a route needs one), and erasure read back from the whole
 * table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiEnvironment, type ApiEnvironment } from '../support/api-environment';

let env: ApiEnvironment;
let service: string;

beforeAll(async () => {
  env = await startApiEnvironment();
  service = await env.identity.serviceToken();
});
afterAll(async () => {
  await env.stop();
});

const DAY = 86_400_000;
const at = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const call = (method: string, url: string, body?: unknown, rawBody?: string) =>
  env.api.call(method, url, {
    token: service,
    body,
    rawBody,
    headers: rawBody === undefined ? {} : { 'content-type': 'application/json' },
  });

const accountBody = (accessToken: string, extra: Record<string, unknown> = {}) => ({
  ownerUserId: 'u-svc-owner',
  username: 'svc.shop',
  accessToken,
  expiresAt: at(30),
  ...extra,
});

/** A snapshot of every item, to prove a refused request wrote nothing. */
const everything = async () => JSON.stringify(await env.table.scanAll());

describe('PUT /service/users/{userId}', () => {
  it('stores the profile and answers it; a repeat answers the same and changes nothing', async () => {
    const first = await call('PUT', '/service/users/u-svc-ann', {
      email: 'ann@example.com',
      name: 'Ann',
    });
    expect(first.status).toBe(200);
    expect(first.json()).toEqual({ userId: 'u-svc-ann', email: 'ann@example.com', name: 'Ann' });
    const before = await everything();
    const again = await call('PUT', '/service/users/u-svc-ann', {
      email: 'ann@example.com',
      name: 'Ann',
    });
    expect(again.status).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(await everything()).toBe(before);
  });

  it.each([
    ['an email that is none', { email: 'not-an-email', name: 'Ann' }],
    ['a missing name', { email: 'ann@example.com' }],
    ['an unknown field', { email: 'ann@example.com', name: 'Ann', admin: true }],
    ['a name of 201 characters', { email: 'ann@example.com', name: 'n'.repeat(201) }],
  ])('refuses %s with 400 and writes nothing', async (_name, body) => {
    const before = await everything();
    const response = await call('PUT', '/service/users/u-svc-bad', body);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(response.json().errors).toBeInstanceOf(Array);
    expect(await everything()).toBe(before);
  });

  it('refuses a user id longer than 128 characters, malformed JSON and a body over 16 KiB', async () => {
    const before = await everything();
    const body = { email: 'a@example.com', name: 'A' };
    expect((await call('PUT', `/service/users/${'u'.repeat(129)}`, body)).status).toBe(400);
    expect((await call('PUT', '/service/users/u-svc-x', undefined, '{"email":')).status).toBe(400);
    expect(
      (await call('PUT', '/service/users/u-svc-x', { ...body, name: 'n'.repeat(17_000) })).status,
    ).toBe(400);
    expect(await everything()).toBe(before);
  });
});

describe('PUT /service/instagram-accounts/{accountId}', () => {
  it('connects an account as generation 1; the same token again changes nothing', async () => {
    const first = await call('PUT', '/service/instagram-accounts/1784100000000001', {
      ...accountBody('IGAA-svc-1'),
    });
    expect(first.status).toBe(200);
    expect(first.json()).toEqual({
      accountId: '1784100000000001',
      generation: 1,
      tokenStatus: 'active',
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
    });
    expect(first.body).not.toContain('IGAA-svc-1');
    const before = await everything();
    const again = await call('PUT', '/service/instagram-accounts/1784100000000001', {
      ...accountBody('IGAA-svc-1'),
    });
    expect(again.json()).toEqual(first.json());
    expect(await everything()).toBe(before);
  });

  it('stores another token as the next generation, watched from now on', async () => {
    await call('PUT', '/service/instagram-accounts/1784100000000002', accountBody('IGAA-svc-2a'));
    const next = await call(
      'PUT',
      '/service/instagram-accounts/1784100000000002',
      accountBody('IGAA-svc-2b', { expiresAt: at(60), issuedAt: at(0) }),
    );
    expect(next.status).toBe(200);
    expect(next.json()).toMatchObject({ generation: 2, tokenStatus: 'active' });
    const token = await call('GET', '/service/instagram-accounts/1784100000000002/token');
    expect(token.json()).toMatchObject({ accessToken: 'IGAA-svc-2b', generation: 2 });
  });

  it.each([
    ['a missing token', { ownerUserId: 'u', username: 'shop', expiresAt: at(1) }],
    ['an expiry that is no date', { ...accountBody('IGAA-x'), expiresAt: 'tomorrow' }],
    ['a bad username', { ...accountBody('IGAA-x'), username: 'not a username!' }],
    ['an unknown field', { ...accountBody('IGAA-x'), generation: 7 }],
    ['a token over 2,048 characters', accountBody('I'.repeat(2049))],
  ])('refuses %s with 400 and writes nothing', async (_name, body) => {
    const before = await everything();
    const response = await call('PUT', '/service/instagram-accounts/1784100000000099', body);
    expect(response.status).toBe(400);
    expect(response.body).not.toContain('IGAA-x');
    expect(await everything()).toBe(before);
  });

  it('refuses an account id that is none', async () => {
    const response = await call(
      'PUT',
      '/service/instagram-accounts/not%20an%20id',
      accountBody('t'),
    );
    expect(response.status).toBe(400);
  });
});

describe('GET /service/instagram-accounts/{accountId}/token', () => {
  it('answers the current token, and 404 for an unknown account', async () => {
    await call('PUT', '/service/instagram-accounts/1784100000000003', accountBody('IGAA-svc-3'));
    const token = await call('GET', '/service/instagram-accounts/1784100000000003/token');
    expect(token.status).toBe(200);
    expect(token.json()).toEqual({
      accountId: '1784100000000003',
      accessToken: 'IGAA-svc-3',
      expiresAt: expect.any(String) as unknown,
      generation: 1,
      tokenStatus: 'active',
    });
    const unknown = await call('GET', '/service/instagram-accounts/1784100000000404/token');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/application\/problem\+json/);
  });
});

describe('developer roles', () => {
  it('PUT grants a role (204, repeatable) and DELETE takes it away (204, repeatable)', async () => {
    await call('PUT', '/service/instagram-accounts/1784100000000004', accountBody('IGAA-svc-4'));
    const url = '/service/instagram-accounts/1784100000000004/developers/u-svc-dev';
    expect((await call('PUT', url)).status).toBe(204);
    expect((await call('PUT', url)).status).toBe(204);
    expect(await env.table.store.hasDeveloperRole('1784100000000004', 'u-svc-dev')).toBe(true);
    const listed = await env.api.call('GET', '/me/instagram-accounts', {
      token: await env.identity.token('u-svc-dev'),
    });
    expect(listed.json()).toMatchObject({
      accounts: [{ accountId: '1784100000000004', relation: 'developer' }],
    });
    expect((await call('DELETE', url)).status).toBe(204);
    expect((await call('DELETE', url)).status).toBe(204);
    expect(await env.table.store.hasDeveloperRole('1784100000000004', 'u-svc-dev')).toBe(false);
  });

  it('PUT on an unknown account is 404 and writes nothing; DELETE there is 204', async () => {
    const before = await everything();
    const url = '/service/instagram-accounts/1784100000000405/developers/u-svc-dev';
    expect((await call('PUT', url)).status).toBe(404);
    expect(await everything()).toBe(before);
    expect((await call('DELETE', url)).status).toBe(204);
  });

  it('refuses a body and a bad user id with 400', async () => {
    await call('PUT', '/service/instagram-accounts/1784100000000006', accountBody('IGAA-svc-6'));
    const before = await everything();
    const url = '/service/instagram-accounts/1784100000000006/developers/u-svc-dev';
    expect((await call('PUT', url, { role: 'admin' })).status).toBe(400);
    expect(
      (
        await call(
          'PUT',
          `/service/instagram-accounts/1784100000000006/developers/${'u'.repeat(129)}`,
        )
      ).status,
    ).toBe(400);
    expect(await everything()).toBe(before);
  });
});

describe('deleting', () => {
  it('DELETE an account: nothing with its id remains anywhere; a repeat is 204 too', async () => {
    const accountId = '1784100000000007';
    await call('PUT', `/service/instagram-accounts/${accountId}`, accountBody('IGAA-svc-7'));
    await call('PUT', `/service/instagram-accounts/${accountId}/developers/u-svc-dev7`);
    await env.table.store.claimNotification(
      { accountId, generation: 1, occasion: 'expired', userId: 'u-svc-dev7' },
      { claimId: 'c', now: new Date(), leaseSeconds: 60 },
    );
    expect((await env.table.itemsMentioning(accountId)).length).toBe(3);
    expect((await call('DELETE', `/service/instagram-accounts/${accountId}`)).status).toBe(204);
    expect(await env.table.itemsMentioning(accountId)).toEqual([]);
    expect((await call('DELETE', `/service/instagram-accounts/${accountId}`)).status).toBe(204);
    expect((await call('GET', `/service/instagram-accounts/${accountId}/token`)).status).toBe(404);
  });

  it('DELETE a user: nothing with their id remains anywhere; a repeat is 204 too', async () => {
    const userId = 'u-svc-erased';
    await call('PUT', `/service/users/${userId}`, { email: 'erased@example.com', name: 'E' });
    await env.api.call('PUT', '/me/notification-preferences', {
      token: await env.identity.token(userId),
      body: { ownerExpiredToken: false, developerExpiredToken: true },
    });
    await call('PUT', '/service/instagram-accounts/1784100000000008', accountBody('IGAA-svc-8'));
    await call('PUT', `/service/instagram-accounts/1784100000000008/developers/${userId}`);
    const email = {
      accountId: '1784100000000008',
      generation: 1,
      occasion: 'expired',
      userId,
    } as const;
    await env.table.store.claimNotification(email, {
      claimId: 'c',
      now: new Date(),
      leaseSeconds: 60,
    });
    await env.table.store.completeNotification(email, 'c', { messageId: 'm', sentAt: new Date() });
    expect((await env.table.itemsMentioning(userId)).length).toBe(4);

    expect((await call('DELETE', `/service/users/${userId}`)).status).toBe(204);
    expect(await env.table.itemsMentioning(userId)).toEqual([]);
    expect((await call('DELETE', `/service/users/${userId}`)).status).toBe(204);
    // The account they developed for stays.
    expect((await call('GET', '/service/instagram-accounts/1784100000000008/token')).status).toBe(
      200,
    );
  });
});

describe('who may call', () => {
  it("refuses a user's token (401: another audience) and a service token without the scope (403)", async () => {
    const url = '/service/instagram-accounts/1784100000000003/token';
    const user = await env.api.call('GET', url, { token: await env.identity.token('u-svc-owner') });
    expect(user.status).toBe(401);
    const unscoped = await env.api.call('GET', url, {
      token: await env.identity.serviceToken({ claims: { scope: 'tokenwatch/other' } }),
    });
    expect(unscoped.status).toBe(403);
    expect(unscoped.json()).toEqual({ message: 'Forbidden' });
  });

  it('refuses a service token on a user route: it is nobody', async () => {
    const response = await env.api.call('GET', '/me/notification-preferences', {
      token: await env.identity.token('tokenwatch-service-client', {
        claims: { scope: 'tokenwatch/service' },
      }),
    });
    expect(response.status).toBe(403);
    expect(response.json().detail).toMatch(/service token names no user/);
  });
});
