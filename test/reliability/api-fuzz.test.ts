/**
 * Bad input at the API. For every route, 1,000 generated requests (fast-check, seeded): bodies
 * of every JSON shape, broken JSON, binary and oversize bodies, path parameters of any text,
 * query strings, headers, content types and the caller's own id (the token's subject), through
 * the API Gateway stand-in to the real
 * handlers on DynamoDB Local. Counted: 5xx answers, and table writes, Instagram calls and
 * events made by a request the API refused.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AsyncLocalStorage } from 'node:async_hooks';
import fc from 'fast-check';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { createDocumentClient, documentClient } from '#platform/dynamodb';
import { preferencesBody, reconnectBody } from '#api/schemas';
import { serviceAccountBody, serviceUserBody, stormActionBody } from '#api/service-schemas';
import { signUnsubscribeToken } from '#notifications/unsubscribe-link';
import { routes } from '../../lib/routes';
import { userId } from '#people/user';
import { signRequest, verifySignedRequest } from '#platform/meta-signed-request';
import {
  app,
  redirectUri,
  startApiEnvironment,
  unsubscribeSigningKey,
  type ApiEnvironment,
} from '../support/api-environment';
import { reportFigure } from '../support/reliability-faults';
import { captureQuietly } from '../support/reliability-output';
import { canaryPrefix, canaryToken } from '../support/reliability-pipeline';
import { createReconnectLinkStore } from '#tokens/reconnect-link-store';
import { linkState, newLinkSecret, type ReconnectLink } from '#tokens/reconnect-links';

const requestsPerRoute = 1000;
const seed = 91_125;

let env: ApiEnvironment;
let ownerToken: string;
let serviceToken: string;
/** The service's token route's answers: the one place a token may be (DESIGN.md). */
const tokenAnswers = new Set<string>();
const output: string[] = [];
/** The writes and events of the request being handled, found through its async context. */
const requestEffects = new AsyncLocalStorage<{ wrote: number; published: number }>();
const ownedAccount = '17841400000004242';
/** Reconnect links on the owned account: one the fuzz may open, one already used. */
const activeLink = newLinkSecret();
const usedLink = newLinkSecret();
const strangersAccount = '17841400000004343';

beforeAll(async () => {
  env = await startApiEnvironment();
  // Every write the handlers make, whatever route: the shared client of the functions.
  documentClient().middlewareStack.add(
    (next, context) => (args) => {
      const effects = requestEffects.getStore();
      if (
        effects &&
        /^(Put|Update|Delete|BatchWrite|TransactWrite)/.test(context.commandName ?? '')
      ) {
        effects.wrote += 1;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countWrites' },
  );
  env.eventBridge.on(PutEventsCommand).callsFake(() => {
    const effects = requestEffects.getStore();
    if (effects) effects.published += 1;
    return { FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] };
  });
  ownerToken = await env.identity.token('u-fuzz-owner');
  serviceToken = await env.identity.serviceToken();
  const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
  for (const [accountId, owner] of [
    [ownedAccount, 'u-fuzz-owner'],
    [strangersAccount, 'u-someone-else'],
  ] as const) {
    const accessToken = canaryToken();
    await env.table.store.putAccount(
      {
        accountId,
        ownerUserId: owner,
        username: `fuzz.${owner.replace(/-/g, '_')}`,
        accessToken,
        expiresAt,
      },
      new Date(Date.now() - 30 * 86_400_000),
    );
    env.instagram.addToken(accessToken, { userId: accountId, expiresAt });
  }
  // Reconnect links of the owned account: one active, one used, for the link routes' pages.
  const linkStore = createReconnectLinkStore(
    createDocumentClient(env.table.client),
    env.table.tableName,
  );
  for (const link of [activeLink, usedLink]) {
    const stored: ReconnectLink = {
      accountId: ownedAccount,
      linkId: link.linkId,
      createdBy: 'u-fuzz-owner',
      createdAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 3 * 86_400_000).toISOString(),
      secretHash: link.secretHash,
      generation: 1,
    };
    await linkStore.putReconnectLink(stored);
    if (link === usedLink) {
      await linkStore.markReconnectLinkUsed(ownedAccount, link.linkId, new Date());
    }
  }
});
afterAll(async () => {
  await env.stop();
});
beforeEach(() => {
  captureQuietly(output);
});

const stateOf = (link: { linkId: string; secretHash: string }, key = app.appSecret) =>
  linkState({ accountId: ownedAccount, ...link }, key);

// ---- generators ------------------------------------------------------------------------

const big = (min: number, max: number) =>
  fc.integer({ min, max }).map((n) => `{"ownerExpiredToken":true,"pad":"${'x'.repeat(n)}"}`);

/** A body: any JSON, almost-right JSON, broken JSON, text, oversize; or none. */
const body = (nearlyValid: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 2, arbitrary: nearlyValid.map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
    {
      weight: 1,
      arbitrary: fc
        .jsonValue({ maxDepth: 2 })
        .map((value) => JSON.stringify(value).slice(0, -1) || '{'),
    },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', '[]', '{}', '{"__proto__":{}}') },
    { weight: 1, arbitrary: big(16 * 1024, 80_000) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

const contentType = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/problem+json',
      'Application/JSON',
      'application/merge-patch+json',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/jsonx',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const headerName = fc.constantFrom(
  'x-user-id',
  'x-forwarded-for',
  'cookie',
  'accept',
  'accept-language',
  'origin',
  'x-amz-date',
  'content-encoding',
  'x-api-key',
  'user-agent',
);
const headers = fc.dictionary(headerName, fc.string({ maxLength: 60 }), { maxKeys: 4 });

/** Path parameters: anything a client might put there, encoded or not. */
const accountParameter = fc.oneof(
  fc.constantFrom(ownedAccount, strangersAccount, '17849999999999999', '0'),
  fc.string({ maxLength: 80 }).map(encodeURIComponent),
  fc.stringMatching(/^[0-9A-Za-z_-]{1,70}$/),
  fc.constantFrom('..', '%2e%2e', '%zz', '%00', '%2F', 'a%2Fb', ' ', '%20', '{accountId}'),
  fc.string({ maxLength: 10 }).map((text) => `${'9'.repeat(65)}${encodeURIComponent(text)}`),
);

/**
 * A signed token's subject, which becomes the caller id the handlers key the table with: user
 * ids, and ids of up to 2,600 characters of 1 to 4 bytes, past every key's limit.
 */
const subject = fc.oneof(
  fc.string({ minLength: 1, maxLength: 140, unit: 'grapheme' }),
  fc
    .tuple(fc.integer({ min: 100, max: 2600 }), fc.constantFrom('u', 'é', '用', '😀'))
    .map(([length, character]) => character.repeat(length)),
);

const authorization = fc.oneof(
  { weight: 8, arbitrary: fc.constant('owner') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('none', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer x.y.z'),
  },
  { weight: 1, arbitrary: subject.map((sub) => `sub:${sub}`) },
);

const unsubscribeToken = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.constantFrom('valid', 'tampered', 'expired'),
  fc.string({ maxLength: 3000, unit: 'binary-ascii' }),
);

/** The service routes' callers: mostly the widget service, else anyone else. */
const serviceAuthorization = fc.oneof(
  { weight: 8, arbitrary: fc.constant('service') },
  { weight: 1, arbitrary: fc.constantFrom('none', 'owner', 'Bearer ', 'Bearer x.y.z') },
  { weight: 1, arbitrary: subject.map((sub) => `sub:${sub}`) },
);

const userParameter = fc.oneof(
  fc.constantFrom('u-fuzz-owner', 'u-fuzz-service', 'u'.repeat(128), 'u'.repeat(129)),
  fc.string({ maxLength: 140 }).map(encodeURIComponent),
  fc.constantFrom('..', '%2e%2e', '%zz', '%00', '%2F', ' ', '{userId}'),
);

/** A reconnect link id: the fuzz's own links, or anything else. */
const linkParameter = fc.oneof(
  fc.constantFrom(activeLink.linkId, usedLink.linkId, 'A'.repeat(22)),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.stringMatching(/^[\w-]{1,30}$/),
  fc.constantFrom('..', '%2e%2e', '%zz', '%00', '%2F', ' ', '{linkId}', 'callback'),
);

/** The account DELETE fuzzes never takes the account the other routes act on. */
const deletableAccount = accountParameter.map((id) =>
  id === ownedAccount ? '17841400000004444' : id,
);

/**
 * Meta's callbacks: form bodies whose `signed_request` is signed with the app's secret, with
 * another key, or is no signed request at all. Never for an account the other routes act on.
 */
const metaPayload = fc.record(
  {
    algorithm: fc.constantFrom('HMAC-SHA256', 'hmac-sha256', 'HMAC-SHA1', ''),
    issued_at: fc.oneof(fc.integer(), fc.constant('yesterday')),
    user_id: fc.oneof(fc.constant('17849999999999999'), fc.string({ maxLength: 30 })),
  },
  { requiredKeys: [] },
);
const signedRequest = fc.oneof(
  metaPayload.map((payload) => signRequest(payload, app.appSecret)),
  metaPayload.map((payload) => signRequest(payload, 'not-the-app-secret')),
  fc.string({ maxLength: 300 }),
  fc.string({ maxLength: 300, unit: 'binary-ascii' }),
);
const metaCallback = (path: string) =>
  fc.record({
    path: fc.constant(path),
    body: fc.oneof(
      signedRequest.map((value) => `signed_request=${encodeURIComponent(value)}`),
      signedRequest.map((value) => `signed_request=${encodeURIComponent(value)}&signed_request=x`),
      fc.string({ maxLength: 300 }),
    ),
    contentType: fc.oneof(
      { weight: 3, arbitrary: fc.constant('application/x-www-form-urlencoded') },
      { weight: 1, arbitrary: contentType },
    ),
    headers,
    authorization: fc.constant('none'),
  });

/** Whether a callback's body carries exactly one request Meta signed with the app's secret. */
function isSignedByMeta(body: string | undefined): boolean {
  const values = new URLSearchParams(body ?? '').getAll('signed_request');
  if (values.length !== 1 || Buffer.byteLength(body ?? '') > 16 * 1024) return false;
  try {
    verifySignedRequest(values[0] ?? '', app.appSecret);
    return true;
  } catch {
    return false;
  }
}

interface FuzzRequest {
  path: string;
  query?: string;
  body?: string;
  contentType?: string;
  headers: Record<string, string>;
  /** 'owner', 'none', `sub:<subject>` (a valid token for it), or an Authorization header */
  authorization: string;
}

function unsubscribeQuery(kind: string): string {
  const sign = (expiresAt: Date) =>
    signUnsubscribeToken(
      { userId: 'u-fuzz-unsub', preference: 'developerExpiredToken', expiresAt },
      unsubscribeSigningKey,
    );
  if (kind === 'valid') return `token=${sign(new Date(Date.now() + 86_400_000))}`;
  if (kind === 'expired') return `token=${sign(new Date(Date.now() - 1000))}`;
  if (kind === 'tampered') {
    const token = sign(new Date(Date.now() + 86_400_000));
    return `token=${token.slice(0, -3)}${token.endsWith('A') ? 'B' : 'A'}xx`;
  }
  return `token=${encodeURIComponent(kind)}&utm_source=${encodeURIComponent(kind.slice(0, 5))}`;
}

const requestFor: Record<string, fc.Arbitrary<FuzzRequest>> = {
  'get-notification-preferences': fc.record({
    path: fc.constant('/me/notification-preferences'),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization,
  }),
  'put-notification-preferences': fc.record({
    path: fc.constant('/me/notification-preferences'),
    body: body(
      fc.oneof(
        fc.record({ ownerExpiredToken: fc.boolean(), developerExpiredToken: fc.boolean() }),
        fc.record(
          {
            ownerExpiredToken: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
            developerExpiredToken: fc.oneof(fc.boolean(), fc.constantFrom('true', 0, null)),
            updatedAt: fc.string(),
            extra: fc.jsonValue({ maxDepth: 1 }),
          },
          { requiredKeys: [] },
        ),
      ),
    ),
    contentType,
    headers,
    authorization,
  }),
  'list-instagram-accounts': fc.record({
    path: fc.constant('/me/instagram-accounts'),
    body: body(fc.constant([])),
    contentType,
    headers,
    authorization,
  }),
  'refresh-instagram-token': fc.record({
    path: accountParameter.map((id) => `/instagram-accounts/${id}/token/refresh`),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization,
  }),
  'reconnect-instagram-token': fc.record({
    path: accountParameter.map((id) => `/instagram-accounts/${id}/token`),
    body: body(
      fc.record(
        {
          code: fc.oneof(fc.string({ maxLength: 60 }), fc.string({ minLength: 2049 }), fc.nat()),
          redirectUri: fc.oneof(
            fc.constant(redirectUri),
            fc.webUrl(),
            fc.constantFrom('javascript:alert(1)', 'ftp://x', `${redirectUri}#x`),
          ),
          state: fc.string(),
        },
        { requiredKeys: [] },
      ),
    ),
    contentType,
    headers,
    authorization,
  }),
  unsubscribe: fc.record({
    path: fc.constant('/unsubscribe'),
    query: unsubscribeToken.map(unsubscribeQuery),
    body: fc.oneof(fc.constant('List-Unsubscribe=One-Click'), body(fc.constant({}))),
    contentType,
    headers,
    authorization: fc.constant('none'),
  }),
  'put-service-user': fc.record({
    path: userParameter.map((id) => `/service/users/${id}`),
    body: body(
      fc.oneof(
        fc.record({ email: fc.emailAddress(), name: fc.string({ minLength: 1, maxLength: 50 }) }),
        fc.record(
          {
            email: fc.oneof(fc.emailAddress(), fc.string({ maxLength: 40 })),
            name: fc.oneof(
              fc.string({ minLength: 1, maxLength: 200 }),
              fc.string({ minLength: 201 }),
            ),
            userId: fc.string({ maxLength: 10 }),
          },
          { requiredKeys: ['email'] },
        ),
      ),
    ),
    contentType,
    headers,
    authorization: serviceAuthorization,
  }),
  'delete-service-user': fc.record({
    path: userParameter.map((id) => `/service/users/${id}`),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization: serviceAuthorization,
  }),
  'put-service-instagram-account': fc.record({
    path: accountParameter.map((id) => `/service/instagram-accounts/${id}`),
    body: body(
      fc.oneof(
        fc.record({
          ownerUserId: fc.constant('u-fuzz-owner'),
          username: fc.stringMatching(/^[a-z0-9._]{1,30}$/),
          accessToken: fc.constant(null).map(() => canaryToken()),
          expiresAt: fc
            .date({ min: new Date('2020-01-01'), max: new Date('2040-01-01'), noInvalidDate: true })
            .map((date) => date.toISOString()),
        }),
        fc.record(
          {
            ownerUserId: fc.oneof(fc.constant('u-fuzz-owner'), fc.string({ maxLength: 140 })),
            username: fc.oneof(
              fc.stringMatching(/^[a-z0-9._]{1,30}$/),
              fc.string({ maxLength: 40 }),
            ),
            accessToken: fc.oneof(
              fc.constant(null).map(() => canaryToken()),
              fc.constantFrom('', 'x'.repeat(2049)),
            ),
            expiresAt: fc.oneof(
              fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
              fc.string({ maxLength: 30 }),
            ),
            issuedAt: fc.oneof(
              fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
              fc.string({ maxLength: 30 }),
            ),
            generation: fc.integer(),
          },
          { requiredKeys: ['ownerUserId', 'username', 'accessToken', 'expiresAt'] },
        ),
      ),
    ),
    contentType,
    headers,
    authorization: serviceAuthorization,
  }),
  'delete-service-instagram-account': fc.record({
    path: deletableAccount.map((id) => `/service/instagram-accounts/${id}`),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization: serviceAuthorization,
  }),
  'put-service-developer-role': fc.record({
    path: fc
      .tuple(accountParameter, userParameter)
      .map(([account, user]) => `/service/instagram-accounts/${account}/developers/${user}`),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization: serviceAuthorization,
  }),
  'delete-service-developer-role': fc.record({
    path: fc
      .tuple(accountParameter, userParameter)
      .map(([account, user]) => `/service/instagram-accounts/${account}/developers/${user}`),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization: serviceAuthorization,
  }),
  'get-service-instagram-token': fc.record({
    path: accountParameter.map((id) => `/service/instagram-accounts/${id}/token`),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization: serviceAuthorization,
  }),
  'get-status': fc.record({
    path: fc.constant('/status'),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization: fc.constantFrom('none', 'owner', 'Bearer x.y.z'),
  }),
  'get-service-storm': fc.record({
    path: fc.constant('/service/storm'),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization: serviceAuthorization,
  }),
  'end-service-storm': fc.record({
    path: fc.constant('/service/storm'),
    body: body(
      fc.record(
        { action: fc.oneof(fc.constantFrom('release', 'discard', 'stop', ''), fc.jsonValue()) },
        { requiredKeys: [] },
      ),
    ),
    contentType,
    headers,
    authorization: serviceAuthorization,
  }),
  'instagram-deauthorize': metaCallback('/instagram/deauthorize'),
  'instagram-data-deletion': metaCallback('/instagram/data-deletion'),
  'instagram-data-deletion-status': fc.record({
    path: fc
      .oneof(fc.string({ maxLength: 80 }).map(encodeURIComponent), fc.base64String())
      .map((code) => `/instagram/data-deletion/${code}`),
    body: fc.constant(undefined),
    contentType,
    headers,
    authorization: fc.constant('none'),
  }),
  'create-reconnect-link': fc.record({
    path: accountParameter.map((id) => `/instagram-accounts/${id}/reconnect-links`),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization,
  }),
  'list-reconnect-links': fc.record({
    path: accountParameter.map((id) => `/instagram-accounts/${id}/reconnect-links`),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization,
  }),
  'revoke-reconnect-link': fc.record({
    path: fc
      .tuple(accountParameter, linkParameter)
      .map(([account, link]) => `/instagram-accounts/${account}/reconnect-links/${link}`),
    body: body(fc.constant({})),
    contentType,
    headers,
    authorization,
  }),
  'reconnect-link-page': fc.record({
    path: fc
      .tuple(accountParameter, linkParameter)
      .map(([account, link]) => `/reconnect/${account}/${link}`),
    query: fc.oneof(
      fc.constantFrom(activeLink, usedLink).map((link) => `key=${link.secret}`),
      fc.string({ maxLength: 80 }).map((key) => `key=${encodeURIComponent(key)}`),
      fc.string({ maxLength: 600, unit: 'binary-ascii' }),
      fc.constant(''),
    ),
    body: fc.constant(undefined),
    contentType,
    headers,
    authorization: fc.constant('none'),
  }),
  'reconnect-link-callback': fc.record({
    path: fc.constant('/reconnect/callback'),
    query: fc.oneof(
      // Forged and foreign states, with any code: nothing may change.
      fc
        .tuple(
          fc.oneof(
            fc.constant(stateOf(activeLink, 'not-the-app-secret')),
            fc.constant(`${ownedAccount}.${activeLink.linkId}.${'A'.repeat(43)}`),
            fc.constant(stateOf(usedLink)),
            fc.string({ maxLength: 120 }),
            fc.stringMatching(/^[0-9]{1,20}\.[\w-]{22}\.[\w-]{43}$/),
          ),
          fc.string({ maxLength: 60 }),
        )
        .map(
          ([state, code]) => `code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`,
        ),
      // The active link's genuine state, without a code: access was not allowed.
      fc
        .constantFrom('access_denied', '', 'x'.repeat(600))
        .map(
          (error) =>
            `error=${error}&error_reason=user_denied&state=${encodeURIComponent(stateOf(activeLink))}`,
        ),
      fc.string({ maxLength: 3000, unit: 'binary-ascii' }),
      fc.constant(''),
    ),
    body: fc.constant(undefined),
    contentType,
    headers,
    authorization: fc.constant('none'),
  }),
  'unsubscribe-page': fc.record({
    path: fc.constant('/unsubscribe'),
    query: fc.oneof(unsubscribeToken.map(unsubscribeQuery), fc.constant('')),
    body: fc.constant(undefined),
    contentType,
    headers,
    authorization: fc.constant('none'),
  }),
};

/** Whether a token's subject may be a caller: only a user id is (DESIGN.md). */
function isValidCaller(request: FuzzRequest, entry: string): boolean {
  if (entry.includes('-service-')) return request.authorization === 'service';
  if (!request.authorization.startsWith('sub:')) return true;
  return userId.safeParse(request.authorization.slice('sub:'.length)).success;
}

/** What the API may accept: a request valid by its schema (the oracle for 2xx answers). */
function isValidBody(entry: string, request: FuzzRequest): boolean {
  const schema =
    entry === 'put-notification-preferences'
      ? preferencesBody
      : entry === 'reconnect-instagram-token'
        ? reconnectBody
        : entry === 'put-service-user'
          ? serviceUserBody
          : entry === 'put-service-instagram-account'
            ? serviceAccountBody
            : entry === 'end-service-storm'
              ? stormActionBody
              : undefined;
  // One-click unsubscribe takes a mail client's form body and ignores it; every other route
  // without a body schema takes nothing, or an empty JSON object, and refuses anything else.
  if (entry === 'unsubscribe') return true;
  if (entry === 'instagram-deauthorize' || entry === 'instagram-data-deletion') {
    return isSignedByMeta(request.body);
  }
  if (!schema) return /^\s*(\{\s*\})?\s*$/.test(request.body ?? '');
  const json = /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(request.contentType ?? '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body ?? '');
  } catch {
    return false;
  }
  const small = Buffer.byteLength(request.body ?? '') <= 16 * 1024;
  return json && small && schema.safeParse(parsed).success;
}

describe('bad input at the API', () => {
  const figures = { requests: 0, fiveHundreds: 0, writesFromRefused: 0, okFromInvalid: 0 };
  const statuses = new Map<number, number>();
  const accepted = new Map<string, number>();

  it.each(routes.map((route) => [`${route.method} ${route.path}`, route.entry, route.method]))(
    '%s: 1,000 generated requests, no 5xx, no write from a refused request',
    async (_name, entry, method) => {
      const arbitrary = requestFor[entry];
      if (!arbitrary) throw new Error(`no generator for ${entry}`);
      // The same 1,000 requests on every run (seeded), sent eight at a time; each request's
      // writes and events are counted through its own async context.
      const requests = fc.sample(arbitrary, { seed, numRuns: requestsPerRoute });
      const problems: { request: FuzzRequest; status: number; wrote: number; published: number }[] =
        [];
      let next = 0;
      const send = async (request: FuzzRequest) => {
        const effects = { wrote: 0, published: 0 };
        const requestHeaders: Record<string, string> = { ...request.headers };
        if (request.contentType !== undefined) requestHeaders['content-type'] = request.contentType;
        if (request.authorization.startsWith('sub:')) {
          const sub = request.authorization.slice('sub:'.length);
          requestHeaders.authorization = `Bearer ${await env.identity.token(sub)}`;
        } else if (request.authorization === 'service') {
          requestHeaders.authorization = `Bearer ${serviceToken}`;
        } else if (request.authorization !== 'owner' && request.authorization !== 'none') {
          requestHeaders.authorization = request.authorization;
        }
        const url = request.query === undefined ? request.path : `${request.path}?${request.query}`;
        const response = await requestEffects.run(effects, () =>
          env.api.call(method, url, {
            token: request.authorization === 'owner' ? ownerToken : undefined,
            rawBody: request.body,
            headers: requestHeaders,
          }),
        );
        figures.requests += 1;
        if (entry === 'get-service-instagram-token' && response.status === 200)
          tokenAnswers.add(response.body);
        if (response.status < 300) accepted.set(entry, (accepted.get(entry) ?? 0) + 1);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const refused = response.status >= 400;
        if (response.status >= 500) figures.fiveHundreds += 1;
        if (refused && effects.wrote + effects.published > 0) figures.writesFromRefused += 1;
        const valid = isValidBody(entry, request) && isValidCaller(request, entry);
        if (!refused && !valid) figures.okFromInvalid += 1;
        if (
          response.status >= 500 ||
          (refused && effects.wrote + effects.published > 0) ||
          (!refused && !valid)
        ) {
          problems.push({ request, status: response.status, ...effects });
        }
      };
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < requests.length) {
            const request = requests[next];
            next += 1;
            if (request) await send(request);
          }
        }),
      );
      expect(problems.slice(0, 3)).toEqual([]);
    },
    60_000,
  );

  it('reports the figures, and no access token ever appeared in an answer or a log line', () => {
    const everything = [
      ...env.api.responses
        .filter((response) => !tokenAnswers.has(response.body))
        .map((response) => response.body + JSON.stringify(response.headers)),
      output.join(''),
    ].join('\n');
    const hits = everything.split(canaryPrefix).length - 1;
    reportFigure('api-fuzz', {
      routes: routes.length,
      requests: figures.requests,
      '5xx': figures.fiveHundreds,
      'writes-from-refused-requests': figures.writesFromRefused,
      '2xx-from-invalid-requests': figures.okFromInvalid,
      'canary-hits': hits,
      'token-answers': tokenAnswers.size,
    });
    reportFigure('api-fuzz accepted-per-route', Object.fromEntries(accepted));
    reportFigure('api-fuzz statuses', Object.fromEntries([...statuses].sort(([a], [b]) => a - b)));
    expect(figures.requests).toBeGreaterThanOrEqual(routes.length * requestsPerRoute);
    expect(figures).toMatchObject({ fiveHundreds: 0, writesFromRefused: 0, okFromInvalid: 0 });
    expect(hits).toBe(0);
  });
});
