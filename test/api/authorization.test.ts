/**
 * Every route × every kind of caller, through the JWT authorizer as API Gateway runs it.
 * Bad tokens never reach a handler (401); on an account, only its owner and its developers may
 * act, and everyone else gets the very same 404 as for an account that does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes, type RouteDefinition } from '../../lib/routes';
import { signUnsubscribeToken } from '#notifications/unsubscribe-link';
import { signRequest } from '#platform/meta-signed-request';
import {
  app,
  redirectUri,
  startApiEnvironment,
  unsubscribeSigningKey,
  type ApiEnvironment,
} from '../support/api-environment';
import { testAudience, testIssuer } from '../support/api-gateway';
import { createDocumentClient } from '#platform/dynamodb';
import { problemTypes } from '#platform/http/problem';
import { createStormStore } from '#storm/storm-store';
import { createReconnectLinkStore } from '#tokens/reconnect-link-store';
import { linkState, newLinkSecret } from '#tokens/reconnect-links';

let env: ApiEnvironment;
beforeAll(async () => {
  env = await startApiEnvironment();
});
afterAll(async () => {
  await env.stop();
});

type Principal =
  | 'no token'
  | 'malformed token'
  | 'alg: none'
  | 'wrong key'
  | 'expired'
  | 'wrong audience'
  | 'wrong issuer'
  | 'owner'
  | 'developer with role'
  | 'developer without role'
  | 'stranger'
  | 'service'
  | 'service without the scope';

const principals: Principal[] = [
  'no token',
  'malformed token',
  'alg: none',
  'wrong key',
  'expired',
  'wrong audience',
  'wrong issuer',
  'owner',
  'developer with role',
  'developer without role',
  'stranger',
  'service',
  'service without the scope',
];

const users = {
  owner: 'u-owner',
  'developer with role': 'u-dev',
  'developer without role': 'u-dev-elsewhere',
  stranger: 'u-stranger',
} as const;

async function authorization(principal: Principal): Promise<string | undefined> {
  const { identity } = env;
  switch (principal) {
    case 'no token':
      return undefined;
    case 'malformed token':
      return 'not.a.jwt';
    case 'alg: none':
      return identity.unsignedToken(users.owner);
    case 'wrong key':
      return identity.tokenFromWrongKey(users.owner);
    case 'expired':
      return identity.token(users.owner, { expiresInSeconds: -60 });
    case 'wrong audience':
      return identity.token(users.owner, { audience: 'another-app' });
    case 'wrong issuer':
      return identity.token(users.owner, { issuer: 'https://evil.example/' });
    case 'service':
      return identity.serviceToken();
    case 'service without the scope':
      return identity.serviceToken({ claims: { scope: 'openid' } });
    default:
      return identity.token(users[principal]);
  }
}

const rejectedToken = (p: Principal) =>
  !['owner', 'developer with role', 'developer without role', 'stranger'].includes(p);

/** The service routes: the service's token passes (200 or 204), without its scope 403. */
const serviceSuccess: Record<string, number> = {
  'put-service-user': 200,
  'delete-service-user': 204,
  'put-service-instagram-account': 200,
  'delete-service-instagram-account': 204,
  'put-service-developer-role': 204,
  'delete-service-developer-role': 204,
  'get-service-instagram-token': 200,
  'get-service-storm': 200,
  // Its builder declares a storm first, so the service's call has one to end.
  'end-service-storm': 200,
};

let serial = 0;
/** A fresh account per case: owner u-owner, developer u-dev; u-dev-elsewhere develops another. */
async function freshAccount() {
  serial += 1;
  const accountId = `1784150${String(serial).padStart(10, '0')}`;
  const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const accessToken = `IGAA-CANARY-${accountId}`;
  await env.table.store.putAccount(
    { accountId, ownerUserId: users.owner, username: `matrix.${serial}`, accessToken, expiresAt },
    new Date(Date.now() - 30 * 86_400_000),
  );
  await env.table.store.putDeveloperRole(
    { accountId, userId: users['developer with role'] },
    new Date(),
  );
  await env.table.store.putDeveloperRole(
    { accountId: 'some-other-account', userId: users['developer without role'] },
    new Date(),
  );
  env.instagram.addToken(accessToken, { userId: accountId, expiresAt });
  const code = `AQ-matrix-${accountId}`;
  env.instagram.registerCode(code, accountId);
  return { accountId, code };
}

/** A reconnect link on the account, as the create route writes it: its id, secret and state. */
async function reconnectLink(accountId: string) {
  const { linkId, secret, secretHash } = newLinkSecret();
  const link = {
    accountId,
    linkId,
    createdBy: users['developer with role'],
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    secretHash,
    generation: 1,
  };
  await createReconnectLinkStore(
    createDocumentClient(env.table.client),
    env.table.tableName,
  ).putReconnectLink(link);
  return { linkId, secret, state: linkState(link, app.appSecret) };
}

/** The storm guard's state, as the storm routes read and write it. */
const stormStore = () =>
  createStormStore(createDocumentClient(env.table.client), env.table.tableName);

/** A storm, as the storm guard declares one (a no-op while one is on): what it was declared with. */
async function declareStorm() {
  const trouble = { tokens: 30, causes: { 'session-invalidated': 25, 'app-removed': 5 } };
  await stormStore().declareStorm(trouble, new Date());
  return trouble;
}

/** What a caller who may act gets from the user routes that do not answer 200. */
const userSuccess: Record<string, number> = {
  'create-reconnect-link': 201,
  'revoke-reconnect-link': 204,
};

interface Case {
  method: string;
  url: string;
  body?: unknown;
  /** A body sent as it is, with its content type: Meta's form callbacks. */
  form?: string;
  accountId?: string;
  /** A storm is on for this request: only a caller who may end it does. */
  storm?: true;
}

/** Meta's callbacks take no token: a request signed with the app secret is what passes. */
function signedForm(userId: string): string {
  const signed = signRequest(
    { algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: userId },
    app.appSecret,
  );
  return `signed_request=${encodeURIComponent(signed)}`;
}

const builders: Record<string, () => Promise<Case>> = {
  'get-notification-preferences': () =>
    Promise.resolve({ method: 'GET', url: '/me/notification-preferences' }),
  'put-notification-preferences': () =>
    Promise.resolve({
      method: 'PUT',
      url: '/me/notification-preferences',
      body: { ownerExpiredToken: false, developerExpiredToken: true },
    }),
  'list-instagram-accounts': () =>
    Promise.resolve({ method: 'GET', url: '/me/instagram-accounts' }),
  'refresh-instagram-token': async () => {
    const { accountId } = await freshAccount();
    return { method: 'POST', url: `/instagram-accounts/${accountId}/token/refresh`, accountId };
  },
  'reconnect-instagram-token': async () => {
    const { accountId, code } = await freshAccount();
    return {
      method: 'POST',
      url: `/instagram-accounts/${accountId}/token`,
      body: { code, redirectUri },
      accountId,
    };
  },
  unsubscribe: () =>
    Promise.resolve({
      method: 'POST',
      url: `/unsubscribe?token=${signUnsubscribeToken(
        {
          userId: `u-unsub-${String(++serial)}`,
          preference: 'ownerExpiredToken',
          expiresAt: new Date(Date.now() + 86_400_000),
        },
        unsubscribeSigningKey,
      )}`,
    }),
  'put-service-user': () =>
    Promise.resolve({
      method: 'PUT',
      url: `/service/users/u-matrix-${String(++serial)}`,
      body: { email: 'matrix@example.com', name: 'Matrix' },
    }),
  'delete-service-user': () =>
    Promise.resolve({ method: 'DELETE', url: `/service/users/u-matrix-${String(++serial)}` }),
  'put-service-instagram-account': async () => {
    const { accountId } = await freshAccount();
    return {
      method: 'PUT',
      url: `/service/instagram-accounts/${accountId}`,
      body: {
        ownerUserId: users.owner,
        username: 'matrix.svc',
        accessToken: `IGAA-CANARY-svc-${accountId}`,
        expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      },
      accountId,
    };
  },
  'delete-service-instagram-account': async () => {
    const { accountId } = await freshAccount();
    return { method: 'DELETE', url: `/service/instagram-accounts/${accountId}`, accountId };
  },
  'put-service-developer-role': async () => {
    const { accountId } = await freshAccount();
    return {
      method: 'PUT',
      url: `/service/instagram-accounts/${accountId}/developers/u-matrix-dev`,
      accountId,
    };
  },
  'delete-service-developer-role': async () => {
    const { accountId } = await freshAccount();
    return {
      method: 'DELETE',
      url: `/service/instagram-accounts/${accountId}/developers/${users['developer with role']}`,
      accountId,
    };
  },
  'get-service-instagram-token': async () => {
    const { accountId } = await freshAccount();
    return { method: 'GET', url: `/service/instagram-accounts/${accountId}/token`, accountId };
  },
  'get-service-storm': () => Promise.resolve({ method: 'GET', url: '/service/storm' }),
  'end-service-storm': async () => {
    await declareStorm();
    return { method: 'POST', url: '/service/storm', body: { action: 'release' }, storm: true };
  },
  // Anyone may ask whether a storm is on: the frontend's banner shows it before any login.
  'get-status': () => Promise.resolve({ method: 'GET', url: '/status' }),
  'instagram-deauthorize': async () => {
    const { accountId } = await freshAccount();
    return { method: 'POST', url: '/instagram/deauthorize', form: signedForm(accountId) };
  },
  'instagram-data-deletion': async () => {
    const { accountId } = await freshAccount();
    return { method: 'POST', url: '/instagram/data-deletion', form: signedForm(accountId) };
  },
  'instagram-data-deletion-status': async () => {
    const { accountId } = await freshAccount();
    const deletion = await env.api.call('POST', '/instagram/data-deletion', {
      rawBody: signedForm(accountId),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const { confirmation_code: code } = deletion.json<{ confirmation_code: string }>();
    return { method: 'GET', url: `/instagram/data-deletion/${code}` };
  },
  'create-reconnect-link': async () => {
    const { accountId } = await freshAccount();
    return { method: 'POST', url: `/instagram-accounts/${accountId}/reconnect-links`, accountId };
  },
  'list-reconnect-links': async () => {
    const { accountId } = await freshAccount();
    return { method: 'GET', url: `/instagram-accounts/${accountId}/reconnect-links`, accountId };
  },
  'revoke-reconnect-link': async () => {
    const { accountId } = await freshAccount();
    const { linkId } = await reconnectLink(accountId);
    return {
      method: 'DELETE',
      url: `/instagram-accounts/${accountId}/reconnect-links/${linkId}`,
      accountId,
    };
  },
  // A link's holder needs no login: whatever token comes along, the link's secret decides.
  'reconnect-link-page': async () => {
    const { accountId } = await freshAccount();
    const { linkId, secret } = await reconnectLink(accountId);
    return { method: 'GET', url: `/reconnect/${accountId}/${linkId}?key=${secret}` };
  },
  'reconnect-link-callback': async () => {
    const { accountId, code } = await freshAccount();
    const { state } = await reconnectLink(accountId);
    return { method: 'GET', url: `/reconnect/callback?code=${code}&state=${state}` };
  },
  'unsubscribe-page': () =>
    Promise.resolve({
      method: 'GET',
      url: `/unsubscribe?token=${signUnsubscribeToken(
        {
          userId: 'u-page',
          preference: 'developerExpiredToken',
          expiresAt: new Date(Date.now() + 86_400_000),
        },
        unsubscribeSigningKey,
      )}`,
    }),
};

function expectedStatus(route: RouteDefinition, principal: Principal): number {
  if (route.auth === 'none') return 200;
  if (route.auth === 'service') {
    if (principal === 'service') return serviceSuccess[route.entry] ?? 200;
    // The service authorizer's audience is the service client: a user's token is refused.
    return principal === 'service without the scope' ? 403 : 401;
  }
  if (rejectedToken(principal) || principal.startsWith('service')) return 401;
  const success = userSuccess[route.entry] ?? 200;
  if (!route.path.includes('{accountId}')) return success;
  return principal === 'owner' || principal === 'developer with role' ? success : 404;
}

describe('the authorization matrix', () => {
  it('covers every route the stack deploys', () => {
    expect(Object.keys(builders).sort()).toEqual(routes.map((route) => route.entry).sort());
    expect(testIssuer).not.toBe('https://evil.example/');
    expect(testAudience).not.toBe('another-app');
  });

  const rows = routes.flatMap((route) =>
    principals.map(
      (principal) =>
        [
          `${route.method} ${route.path}`,
          principal,
          expectedStatus(route, principal),
          route,
        ] as const,
    ),
  );

  it.each(rows)('%s as %s → %i', async (_name, principal, status, route) => {
    const build = builders[route.entry];
    if (!build) throw new Error(`no request for ${route.entry}`);
    const request = await build();
    const before = request.accountId
      ? await env.table.store.getAccountWithToken(request.accountId)
      : undefined;
    const instagramCallsBefore = env.instagram.calls.length;
    const token = await authorization(principal);
    const response = await env.api.call(request.method, request.url, {
      token,
      body: request.body,
      rawBody: request.form,
      headers:
        request.form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
    });

    expect(response.status).toBe(status);
    if (status === 401) {
      // API Gateway's JWT authorizer answers by itself, in its own fixed shape.
      expect(response.headers['content-type']).toBe('application/json');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(response.json()).toEqual({ message: 'Unauthorized' });
    }
    if (status === 403) {
      // API Gateway's answer for a valid token without the route's scope.
      expect(response.json()).toEqual({ message: 'Forbidden' });
    }
    if (status === 404) {
      expect(response.json()).toEqual({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: 'There is no Instagram account with this id that you own or develop for.',
      });
    }
    if (status >= 400 && request.accountId) {
      expect(await env.table.store.getAccountWithToken(request.accountId)).toEqual(before);
      expect(env.instagram.calls.length).toBe(instagramCallsBefore);
    }
    if (status === 200 && request.accountId && route.entry === 'reconnect-instagram-token') {
      expect((await env.table.store.getAccount(request.accountId))?.generation).toBe(2);
    }
    if (request.storm) {
      // A refused caller leaves the storm on, its held notices held; the service ends it.
      const { status: after, endings } = await stormStore().getStormState();
      expect(after).toBe(status >= 400 ? 'storm' : 'calm');
      if (status === 200) {
        expect(Object.values(endings ?? {})).toContainEqual(
          expect.objectContaining({ action: 'release' }),
        );
      }
    }
  });

  it.each(['refresh', 'reconnect'])(
    'answers %s of an account that does not exist exactly as one the caller has no part in',
    async (action) => {
      const token = await env.identity.token(users.stranger);
      const { accountId } = await freshAccount();
      const path = action === 'refresh' ? 'token/refresh' : 'token';
      const body = action === 'refresh' ? undefined : { code: 'AQ-x', redirectUri };
      const missing = await env.api.call('POST', `/instagram-accounts/17849999999999999/${path}`, {
        token,
        body,
      });
      const foreign = await env.api.call('POST', `/instagram-accounts/${accountId}/${path}`, {
        token,
        body,
      });
      expect(missing.status).toBe(404);
      expect({ ...foreign.headers }).toEqual({ ...missing.headers });
      expect(foreign.body).toBe(missing.body);
    },
  );

  // The JWT is valid, so API Gateway lets it through; the handler refuses a caller id that no
  // user can have (DESIGN.md: the user id is the `sub`; at most 128 characters) before it keys
  // the table with it. 1,100 and 2,100 characters once passed a key's limit: a 500.
  it.each([129, 1100, 2100])(
    'refuses a subject of %i characters with a 403 problem, and writes nothing',
    async (length) => {
      const sub = 'u'.repeat(length);
      const token = await env.identity.token(sub);
      const builds = [
        builders['put-notification-preferences'],
        builders['get-notification-preferences'],
        builders['refresh-instagram-token'],
        builders['reconnect-instagram-token'],
      ];
      for (const build of builds) {
        if (!build) throw new Error('no request');
        const request = await build();
        const before = request.accountId
          ? await env.table.store.getAccountWithToken(request.accountId)
          : undefined;
        const response = await env.api.call(request.method, request.url, {
          token,
          body: request.body,
        });
        expect(response.status, request.url).toBe(403);
        expect(response.headers['content-type']).toBe('application/problem+json');
        expect(response.json()).toEqual({
          type: 'about:blank',
          title: 'Forbidden',
          status: 403,
          detail:
            'The bearer token names no user of this API: its subject is longer than a user id.',
        });
        if (request.accountId) {
          expect(await env.table.store.getAccountWithToken(request.accountId)).toEqual(before);
        }
      }
      // USER#<sub> can be read back only while it fits a partition key.
      if (length < 2000) {
        expect((await env.table.store.getPreferences(sub)).updatedAt).toBeNull();
      }
    },
  );

  it('tells anyone whether a storm is on, but only the service what it counted and how to end it', async () => {
    const service = await env.identity.serviceToken();
    // The matrix may leave one on (a refused caller cannot end it): start calm.
    const leftOver = await stormStore().getStormState();
    if (leftOver.status === 'storm') await stormStore().endStorm(leftOver, 'discard', new Date());

    const calm = await env.api.call('GET', '/status');
    expect(calm.status).toBe(200);
    expect(calm.json()).toEqual({ incident: null });
    const nothingToEnd = await env.api.call('POST', '/service/storm', {
      token: service,
      body: { action: 'release' },
    });
    expect(nothingToEnd.status).toBe(409);
    expect(nothingToEnd.headers['content-type']).toBe('application/problem+json');
    expect(nothingToEnd.json()).toMatchObject({
      type: problemTypes.noStorm,
      title: 'No storm is on',
      status: 409,
    });
    expect(problemTypes.noStorm).toBe('tag:tokenwatch,2026:problem/no-storm');

    const trouble = await declareStorm();
    const { since } = await stormStore().getStormState();
    // The public answer: when, and what in words; no counts, nothing held, no way to end it.
    const status = await env.api.call('GET', '/status', {
      token: await env.identity.token(users.stranger),
    });
    expect(status.status).toBe(200);
    const { incident } = status.json<{ incident: Record<string, unknown> }>();
    expect(Object.keys(incident).sort()).toEqual(['since', 'summary']);
    expect(incident.since).toBe(since);
    expect(incident.summary).toContain('30 tokens');

    const report = await env.api.call('GET', '/service/storm', { token: service });
    expect(report.status).toBe(200);
    expect(report.json()).toMatchObject({
      status: 'storm',
      incident: { since, tokens: trouble.tokens, causes: trouble.causes },
      held: 0,
    });

    for (const body of [{}, { action: 'ignore' }, { action: 'release', also: 'discard' }]) {
      const refused = await env.api.call('POST', '/service/storm', { token: service, body });
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.headers['content-type']).toBe('application/problem+json');
    }
    expect((await stormStore().getStormState()).status).toBe('storm');

    const ended = await env.api.call('POST', '/service/storm', {
      token: service,
      body: { action: 'discard' },
    });
    expect(ended.status).toBe(200);
    expect(ended.json()).toMatchObject({
      status: 'calm',
      incident: null,
      lastEnded: { since, action: 'discard' },
    });
    expect((await env.api.call('GET', '/status')).json()).toEqual({ incident: null });
  });

  it('takes the caller from the token, never from the request', async () => {
    const token = await env.identity.token('u-self');
    await env.api.call('PUT', '/me/notification-preferences', {
      token,
      body: { ownerExpiredToken: false, developerExpiredToken: true },
      headers: { 'x-user-id': 'u-victim' },
    });
    expect((await env.table.store.getPreferences('u-victim')).updatedAt).toBeNull();
    expect((await env.table.store.getPreferences('u-self')).ownerExpiredToken).toBe(false);
  });
});
