/**
 * Authorization, the full matrix: every route the stack deploys (and a few it does not) × every
 * kind of caller we can think of, valid or not, through the JWT authorizer as API Gateway runs
 * it and the real handlers. Beyond test/api-authorization.test.ts's principals: tokens with an
 * empty subject, not valid yet, a second past expiry, HMAC-signed, under another scheme or none,
 * a developer whose role was revoked, the owner of another account, members of an account
 * that was deleted, and subjects too long to be a user id (or to fit a key). Counted: answers other than expected, and any change or Instagram call made
 * for a caller who was refused.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { signUnsubscribeToken } from '#notifications/unsubscribe-link';
import { routes } from '../../lib/routes';
import { signRequest } from '#platform/meta-signed-request';
import {
  app,
  redirectUri,
  startApiEnvironment,
  unsubscribeSigningKey,
  type ApiEnvironment,
} from '../support/api-environment';
import { testAudience, testIssuer, testServiceClient } from '../support/api-gateway';
import { reportFigure } from '../support/reliability-faults';
import { captureQuietly } from '../support/reliability-output';
import { canaryPrefix, canaryToken } from '../support/reliability-pipeline';
import { createReconnectLinkStore } from '#tokens/reconnect-link-store';
import { linkState, newLinkSecret } from '#tokens/reconnect-links';

let env: ApiEnvironment;
const output: string[] = [];
/** Meta's callbacks take no token: a request signed with the app secret is what passes. */
const signedForm = (userId: string) =>
  `signed_request=${encodeURIComponent(
    signRequest(
      { algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: userId },
      app.appSecret,
    ),
  )}`;
/** A data deletion's confirmation code, for its status page (a GET: it can be read again). */
let deletionCode = '';
beforeAll(async () => {
  env = await startApiEnvironment();
  const deletion = await env.api.call('POST', '/instagram/data-deletion', {
    rawBody: signedForm('17841799999999999'),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  deletionCode = deletion.json<{ confirmation_code: string }>().confirmation_code;
});
afterAll(async () => {
  await env.stop();
});
beforeEach(() => {
  captureQuietly(output);
});

/** 128 characters, each 3 bytes in UTF-8: the most bytes a valid user id can take. */
const longestUserId = '用'.repeat(128);

const users = {
  owner: 'u-authz-owner',
  developer: 'u-authz-dev',
  revoked: 'u-authz-revoked',
  otherOwner: 'u-authz-other-owner',
  stranger: 'u-authz-stranger',
};

/** How the caller authenticates, and who they are to the account of the request. */
type Caller = {
  name: string;
  header: () => Promise<string | undefined>;
  /** undefined: the token must be refused (401); 'no user': its subject cannot be one (403) */
  as?: 'member' | 'non-member' | 'no user';
  /** the account is deleted before the request */
  deleted?: boolean;
  /**
   * On the service routes: 'service' passes; 403 is API Gateway's refusal for a missing scope;
   * anything else (the default) is refused by the service authorizer, 401.
   */
  onService?: 'service' | 403;
};

const bearer = (token: string) => `Bearer ${token}`;
const hmacToken = (sub: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', kid: 'test-key' })
    .setSubject(sub)
    .setIssuer(testIssuer)
    .setAudience(testAudience)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('a-shared-secret-nobody-configured-0123'));

const callers = (): Caller[] => {
  const { identity } = env;
  const valid = (sub: string) => identity.token(sub);
  return [
    { name: 'no Authorization header', header: () => Promise.resolve(undefined) },
    { name: 'an empty bearer', header: () => Promise.resolve('Bearer ') },
    { name: 'a malformed token', header: () => Promise.resolve('Bearer not.a.jwt') },
    {
      name: 'alg: none',
      header: () => Promise.resolve(bearer(identity.unsignedToken(users.owner))),
    },
    { name: 'HS256 (alg confusion)', header: async () => bearer(await hmacToken(users.owner)) },
    {
      name: 'signed by another key',
      header: async () => bearer(await identity.tokenFromWrongKey(users.owner)),
    },
    {
      name: 'expired a second ago',
      header: async () => bearer(await identity.token(users.owner, { expiresInSeconds: -1 })),
    },
    {
      name: 'not valid for an hour yet (nbf)',
      header: async () =>
        bearer(
          await identity.token(users.owner, {
            claims: { nbf: Math.floor(Date.now() / 1000) + 3600 },
          }),
        ),
    },
    {
      name: 'for another audience',
      header: async () => bearer(await identity.token(users.owner, { audience: 'another-app' })),
    },
    {
      name: 'from another issuer',
      header: async () =>
        bearer(await identity.token(users.owner, { issuer: 'https://evil.example/' })),
    },
    { name: 'with an empty subject', header: async () => bearer(await identity.token('')) },
    // A caller id goes into keys (`USER#<sub>`, `DEVELOPER#<sub>`, ...): one the table cannot
    // key, or that no user can have, is refused before any handler reads or writes with it.
    {
      name: 'with a subject one character past a user id (129)',
      header: async () => bearer(await identity.token('u'.repeat(129))),
      as: 'no user',
    },
    {
      name: 'with a subject of 1,100 characters (past a sort key)',
      header: async () => bearer(await identity.token('u'.repeat(1100))),
      as: 'no user',
    },
    {
      name: 'with a subject of 2,100 characters (past a partition key)',
      header: async () => bearer(await identity.token('u'.repeat(2100))),
      as: 'no user',
    },
    {
      name: 'a stranger with the longest user id (128 three-byte characters)',
      header: async () => bearer(await valid(longestUserId)),
      as: 'non-member',
    },
    { name: 'under the Basic scheme', header: async () => `Basic ${await valid(users.owner)}` },
    { name: 'the owner', header: async () => bearer(await valid(users.owner)), as: 'member' },
    {
      name: "the owner, 'bearer' in lower case",
      header: async () => `bearer ${await valid(users.owner)}`,
      as: 'member',
    },
    {
      name: 'the owner, a bare token (as API Gateway accepts)',
      header: () => valid(users.owner),
      as: 'member',
    },
    { name: 'a developer', header: async () => bearer(await valid(users.developer)), as: 'member' },
    {
      name: 'a developer whose role was revoked',
      header: async () => bearer(await valid(users.revoked)),
      as: 'non-member',
    },
    {
      name: 'the owner of another account',
      header: async () => bearer(await valid(users.otherOwner)),
      as: 'non-member',
    },
    {
      name: 'a stranger',
      header: async () => bearer(await valid(users.stranger)),
      as: 'non-member',
    },
    {
      name: 'the owner of a deleted account',
      header: async () => bearer(await valid(users.owner)),
      as: 'non-member',
      deleted: true,
    },
    {
      name: 'a developer of a deleted account',
      header: async () => bearer(await valid(users.developer)),
      as: 'non-member',
      deleted: true,
    },
    // The widget service's client-credentials tokens (client_id, no aud), and their forgeries.
    {
      name: 'the widget service',
      header: async () => bearer(await identity.serviceToken()),
      onService: 'service',
    },
    {
      name: 'the widget service, its scope among others',
      header: async () =>
        bearer(
          await identity.serviceToken({ claims: { scope: 'openid tokenwatch/service email' } }),
        ),
      onService: 'service',
    },
    {
      name: 'the service client without the scope',
      header: async () => bearer(await identity.serviceToken({ claims: { scope: undefined } })),
      onService: 403,
    },
    {
      name: 'the service client with another scope',
      header: async () =>
        bearer(await identity.serviceToken({ claims: { scope: 'tokenwatch/services' } })),
      onService: 403,
    },
    {
      name: 'a service token expired a second ago',
      header: async () => bearer(await identity.serviceToken({ expiresInSeconds: -1 })),
    },
    {
      name: 'a service token from another issuer',
      header: async () => bearer(await identity.serviceToken({ issuer: 'https://evil.example/' })),
    },
    {
      name: "a service token whose aud is another app's (aud wins over client_id)",
      header: async () => bearer(await identity.serviceToken({ audience: 'another-app' })),
    },
    {
      name: 'a service token for another client',
      header: async () =>
        bearer(await identity.serviceToken({ claims: { client_id: 'another-client' } })),
    },
    {
      name: "a service-scoped token for the users' audience: nobody's user",
      header: async () =>
        bearer(
          await identity.token(testServiceClient, { claims: { scope: 'tokenwatch/service' } }),
        ),
      as: 'no user',
    },
    {
      name: "the owner's token with the service scope added",
      header: async () =>
        bearer(await identity.token(users.owner, { claims: { scope: 'tokenwatch/service' } })),
      as: 'no user',
    },
  ];
};

let serial = 0;
async function freshAccount(deleted: boolean) {
  serial += 1;
  const accountId = `1784170${String(serial).padStart(10, '0')}`;
  const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const accessToken = canaryToken();
  const now = new Date();
  await env.table.store.putAccount(
    { accountId, ownerUserId: users.owner, username: `authz.${serial}`, accessToken, expiresAt },
    new Date(Date.now() - 30 * 86_400_000),
  );
  await env.table.store.putAccount(
    {
      accountId: `${accountId}9`,
      ownerUserId: users.otherOwner,
      username: `authz.other.${serial}`,
      accessToken: canaryToken(),
      expiresAt,
    },
    now,
  );
  await env.table.store.putDeveloperRole({ accountId, userId: users.developer }, now);
  await env.table.store.putDeveloperRole({ accountId, userId: users.revoked }, now);
  await env.table.store.deleteDeveloperRole(accountId, users.revoked);
  env.instagram.addToken(accessToken, { userId: accountId, expiresAt });
  const code = `AQ-authz-${accountId}`;
  env.instagram.registerCode(code, accountId);
  if (deleted) {
    await createDocumentClient(env.table.client).send(
      new DeleteCommand({ TableName: env.table.tableName, Key: keys.account(accountId) }),
    );
  }
  return { accountId, code };
}

interface Target {
  name: string;
  auth: 'jwt' | 'service' | 'none' | 'unrouted';
  /** What a caller who may call the route gets (200 unless said otherwise). */
  success?: number;
  account: boolean;
  request: (account: { accountId: string; code: string }) => Request | Promise<Request>;
}

interface Request {
  method: string;
  url: string;
  body?: unknown;
  /** A form body (Meta's callbacks), sent as it is. */
  form?: string;
}

/**
 * A reconnect link on an account, written to the table as the create route would: its id, its
 * secret, and the state Instagram's redirect back carries for it.
 */
async function reconnectLink(accountId: string) {
  const links = createReconnectLinkStore(
    createDocumentClient(env.table.client),
    env.table.tableName,
  );
  const { linkId, secret, secretHash } = newLinkSecret();
  const link = {
    accountId,
    linkId,
    createdBy: users.developer,
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    secretHash,
    generation: 1,
  };
  await links.putReconnectLink(link);
  return { linkId, secret, state: linkState(link, app.appSecret) };
}

/** An account of its own for each use of a reconnect link (a link works once). */
async function accountForLink() {
  serial += 1;
  const accountId = `1784178${String(serial).padStart(10, '0')}`;
  const expiresAt = new Date(Date.now() - 86_400_000).toISOString();
  await env.table.store.putAccount(
    {
      accountId,
      ownerUserId: users.owner,
      username: `authz.link.${serial}`,
      accessToken: canaryToken(),
      expiresAt,
    },
    new Date(Date.now() - 61 * 86_400_000),
  );
  return accountId;
}

const link = () =>
  signUnsubscribeToken(
    {
      userId: `u-authz-unsub-${String(serial)}`,
      preference: 'ownerExpiredToken',
      expiresAt: new Date(Date.now() + 86_400_000),
    },
    unsubscribeSigningKey,
  );

const requests: Record<string, Target['request']> = {
  'get-notification-preferences': () => ({ method: 'GET', url: '/me/notification-preferences' }),
  'put-notification-preferences': () => ({
    method: 'PUT',
    url: '/me/notification-preferences',
    body: { ownerExpiredToken: true, developerExpiredToken: true },
  }),
  'list-instagram-accounts': () => ({ method: 'GET', url: '/me/instagram-accounts' }),
  'refresh-instagram-token': ({ accountId }) => ({
    method: 'POST',
    url: `/instagram-accounts/${accountId}/token/refresh`,
  }),
  'reconnect-instagram-token': ({ accountId, code }) => ({
    method: 'POST',
    url: `/instagram-accounts/${accountId}/token`,
    body: { code, redirectUri },
  }),
  unsubscribe: () => ({ method: 'POST', url: `/unsubscribe?token=${link()}` }),
  'unsubscribe-page': () => ({ method: 'GET', url: `/unsubscribe?token=${link()}` }),
  'instagram-deauthorize': () => ({
    method: 'POST',
    url: '/instagram/deauthorize',
    form: signedForm(`1784179${String(serial).padStart(10, '0')}`),
  }),
  'instagram-data-deletion': () => ({
    method: 'POST',
    url: '/instagram/data-deletion',
    form: signedForm(`1784179${String(serial).padStart(10, '0')}`),
  }),
  'instagram-data-deletion-status': () => ({
    method: 'GET',
    url: `/instagram/data-deletion/${deletionCode}`,
  }),
  'put-service-user': () => ({
    method: 'PUT',
    url: `/service/users/u-authz-svc-${String(serial)}`,
    body: { email: 'svc@example.com', name: 'Svc' },
  }),
  'delete-service-user': () => ({
    method: 'DELETE',
    url: `/service/users/u-authz-svc-${String(serial)}`,
  }),
  'put-service-instagram-account': ({ accountId }) => ({
    method: 'PUT',
    url: `/service/instagram-accounts/${accountId}`,
    body: {
      ownerUserId: users.owner,
      username: 'authz.svc',
      accessToken: canaryToken(),
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    },
  }),
  'delete-service-instagram-account': ({ accountId }) => ({
    method: 'DELETE',
    url: `/service/instagram-accounts/${accountId}`,
  }),
  'put-service-developer-role': ({ accountId }) => ({
    method: 'PUT',
    url: `/service/instagram-accounts/${accountId}/developers/u-authz-svc-dev`,
  }),
  'delete-service-developer-role': ({ accountId }) => ({
    method: 'DELETE',
    url: `/service/instagram-accounts/${accountId}/developers/${users.developer}`,
  }),
  'get-service-instagram-token': ({ accountId }) => ({
    method: 'GET',
    url: `/service/instagram-accounts/${accountId}/token`,
  }),
  'get-status': () => ({ method: 'GET', url: '/status' }),
  'get-service-storm': () => ({ method: 'GET', url: '/service/storm' }),
  // A storm is on before each call, so the service's call has one to end (200).
  'end-service-storm': async () => {
    await env.table.store.declareStorm({ tokens: 30, causes: { unavailable: 30 } }, new Date());
    return { method: 'POST', url: '/service/storm', body: { action: 'release' } };
  },
  'create-reconnect-link': ({ accountId }) => ({
    method: 'POST',
    url: `/instagram-accounts/${accountId}/reconnect-links`,
  }),
  'list-reconnect-links': ({ accountId }) => ({
    method: 'GET',
    url: `/instagram-accounts/${accountId}/reconnect-links`,
  }),
  'revoke-reconnect-link': async ({ accountId }) => ({
    method: 'DELETE',
    url: `/instagram-accounts/${accountId}/reconnect-links/${(await reconnectLink(accountId)).linkId}`,
  }),
  // The link's own secret and state authorize these: every caller passes (no login needed).
  'reconnect-link-page': async () => {
    const accountId = await accountForLink();
    const { linkId, secret } = await reconnectLink(accountId);
    return { method: 'GET', url: `/reconnect/${accountId}/${linkId}?key=${secret}` };
  },
  'reconnect-link-callback': async () => {
    const accountId = await accountForLink();
    const { state } = await reconnectLink(accountId);
    const code = `AQ-authz-link-${accountId}`;
    env.instagram.registerCode(code, accountId);
    return { method: 'GET', url: `/reconnect/callback?code=${code}&state=${state}` };
  },
};

/** The routes that answer 204 on success. */
const noContent = new Set([
  'delete-service-user',
  'delete-service-instagram-account',
  'put-service-developer-role',
  'delete-service-developer-role',
  'revoke-reconnect-link',
]);
/** The routes that answer 201 on success. */
const created = new Set(['create-reconnect-link']);

const targets: Target[] = [
  ...routes.map((route): Target => {
    const request = requests[route.entry];
    if (!request) throw new Error(`no request for ${route.entry}`);
    return {
      name: `${route.method} ${route.path}`,
      auth: route.auth,
      success: noContent.has(route.entry) ? 204 : created.has(route.entry) ? 201 : 200,
      account: route.path.includes('{accountId}'),
      request,
    };
  }),
  {
    name: 'DELETE /me/notification-preferences (not a route)',
    auth: 'unrouted',
    account: false,
    request: () => ({ method: 'DELETE', url: '/me/notification-preferences' }),
  },
  {
    name: 'GET /instagram-accounts/{accountId}/token (not a route)',
    auth: 'unrouted',
    account: true,
    request: ({ accountId }) => ({ method: 'GET', url: `/instagram-accounts/${accountId}/token` }),
  },
  {
    name: 'POST /instagram-accounts/{accountId} (not a route)',
    auth: 'unrouted',
    account: true,
    request: ({ accountId }) => ({ method: 'POST', url: `/instagram-accounts/${accountId}` }),
  },
];

function expectedStatus(target: Target, caller: Caller): number {
  if (target.auth === 'unrouted') return 404;
  if (target.auth === 'none') return 200;
  if (target.auth === 'service') {
    if (caller.onService === 'service') return target.success ?? 200;
    return caller.onService ?? 401;
  }
  if (!caller.as) return 401;
  if (caller.as === 'no user') return 403;
  if (!target.account) return target.success ?? 200;
  return caller.as === 'member' ? (target.success ?? 200) : 404;
}

describe('the full authorization matrix', () => {
  it('answers every route × caller as expected, and changes nothing for a refused caller', async () => {
    expect(routes.every((route) => route.entry in requests)).toBe(true);
    const unexpected: string[] = [];
    const sideEffects: string[] = [];
    // The service's token route is the one answer that may carry a token (DESIGN.md).
    const tokenAnswers = new Set<string>();
    let cases = 0;
    for (const target of targets) {
      for (const caller of callers()) {
        cases += 1;
        // Only requests about an account need one of their own.
        const account = target.account
          ? await freshAccount(caller.deleted ?? false)
          : { accountId: 'none', code: 'none' };
        const request = await target.request(account);
        const before = await env.table.store.getAccountWithToken(account.accountId);
        const instagramCalls = env.instagram.calls.length;
        const header = await caller.header();
        const response = await env.api.call(request.method, request.url, {
          body: request.body,
          rawBody: request.form,
          headers: {
            ...(header === undefined ? {} : { authorization: header }),
            ...(request.form === undefined
              ? {}
              : { 'content-type': 'application/x-www-form-urlencoded' }),
          },
        });
        const expected = expectedStatus(target, caller);
        if (response.status !== expected) {
          unexpected.push(`${target.name} as ${caller.name}: ${response.status}, not ${expected}`);
        }
        if (target.name.endsWith('/token') && target.auth === 'service' && response.status === 200)
          tokenAnswers.add(response.body);
        if (response.status >= 400 && target.account) {
          const after = await env.table.store.getAccountWithToken(account.accountId);
          if (JSON.stringify(after) !== JSON.stringify(before)) {
            sideEffects.push(`${target.name} as ${caller.name}: the account changed`);
          }
          if (env.instagram.calls.length !== instagramCalls) {
            sideEffects.push(`${target.name} as ${caller.name}: Instagram was called`);
          }
        }
      }
    }
    const hits =
      [
        ...env.api.responses.map((r) => r.body).filter((body) => !tokenAnswers.has(body)),
        output.join(''),
      ]
        .join('\n')
        .split(canaryPrefix).length - 1;
    reportFigure('authorization', {
      routes: targets.length,
      'caller-kinds': callers().length,
      cases,
      'unexpected-statuses': unexpected.length,
      'changes-for-refused-callers': sideEffects.length,
      'canary-hits': hits,
    });
    expect(unexpected).toEqual([]);
    expect(sideEffects).toEqual([]);
    expect(hits).toBe(0);
  }, 180_000);
});
