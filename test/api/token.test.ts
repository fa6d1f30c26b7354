import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import fc from 'fast-check';
import {
  app,
  captureOutput,
  redirectUri,
  startApiEnvironment,
  type ApiEnvironment,
} from '../support/api-environment';

let env: ApiEnvironment;
const output: string[] = [];

beforeAll(async () => {
  env = await startApiEnvironment();
});
afterAll(async () => {
  await env.stop();
});
beforeEach(() => {
  captureOutput(output);
  env.eventBridge.resetHistory();
});

const DAY = 86_400_000;
const at = (days: number) => new Date(Date.now() + days * DAY).toISOString();
let serial = 0;

/**
 * An account owned by `u-owner` with `u-dev` as developer, whose token Instagram knows. The
 * token holds CANARY so that any leak is found by the checks at the end of the file.
 */
async function account(
  options: {
    expiresInDays?: number;
    issuedDaysAgo?: number;
    tokenStatus?: 'active' | 'expired' | 'invalid';
  } = {},
) {
  serial += 1;
  const accountId = `1784140${String(serial).padStart(10, '0')}`;
  const accessToken = `IGAA-CANARY-${accountId}`;
  const expiresAt = at(options.expiresInDays ?? 30);
  await env.table.store.putAccount(
    {
      accountId,
      ownerUserId: 'u-owner',
      username: `shop.${serial}`,
      accessToken,
      expiresAt,
      tokenStatus: options.tokenStatus ?? 'active',
    },
    // The store infers the issue time as expiry minus 60 days, never later than the write.
    new Date(Date.now() - (options.issuedDaysAgo ?? 30) * DAY),
  );
  await env.table.store.putDeveloperRole({ accountId, userId: 'u-dev' }, new Date());
  env.instagram.addToken(accessToken, { userId: accountId, expiresAt });
  return { accountId, accessToken, expiresAt };
}

const refresh = async (accountId: string, user = 'u-owner') =>
  env.api.call('POST', `/instagram-accounts/${accountId}/token/refresh`, {
    token: await env.identity.token(user),
  });
const reconnect = async (accountId: string, body: unknown, user = 'u-owner') =>
  env.api.call('POST', `/instagram-accounts/${accountId}/token`, {
    token: await env.identity.token(user),
    body,
  });
const stored = (accountId: string) => env.table.store.getAccountWithToken(accountId);
const publishedDetails = () =>
  env.eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => ({
      source: entry.Source,
      detailType: entry.DetailType,
      bus: entry.EventBusName,
      detail: JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>,
    }));

function expectReauthorization(
  response: Awaited<ReturnType<typeof refresh>>,
  accountId: string,
  type = 'tag:tokenwatch,2026:problem/reauthorization-required',
) {
  expect(response.status).toBe(409);
  expect(response.headers['content-type']).toBe('application/problem+json');
  const problem = response.json<{ type: string; reauthorizeUrl: string }>();
  expect(problem.type).toBe(type);
  const url = new URL(problem.reauthorizeUrl);
  expect(`${url.origin}${url.pathname}`).toBe(env.instagram.authorizeUrl);
  expect(url.searchParams.get('client_id')).toBe(app.appId);
  expect(url.searchParams.get('redirect_uri')).toBe(redirectUri);
  expect(url.searchParams.get('response_type')).toBe('code');
  expect(url.searchParams.get('state')).toMatch(new RegExp(`^${accountId}\\.[\\w-]{22}$`));
  expect(problem.reauthorizeUrl).not.toContain(app.appSecret);
}

describe('refreshing a token', () => {
  it('extends an active token as its owner: new generation, new expiry, one event', async () => {
    const { accountId, accessToken } = await account({ expiresInDays: 3 });
    const response = await refresh(accountId);
    expect(response.status).toBe(200);
    const after = await stored(accountId);
    expect(after).toMatchObject({ generation: 2, tokenStatus: 'active' });
    expect(after?.accessToken).not.toBe(accessToken);
    expect(env.instagram.issuedTokens()).toContain(after?.accessToken);
    expect(Date.parse(after?.expiresAt ?? '')).toBeGreaterThan(Date.now() + 59 * DAY);
    expect(response.json()).toEqual({
      accountId,
      tokenStatus: 'active',
      expiresAt: after?.expiresAt,
    });
    // Instagram was asked to refresh exactly the stored token.
    const calls = env.instagram.calls.filter((call) => call.operation === 'refresh');
    expect(calls.at(-1)?.params).toEqual({
      grant_type: 'ig_refresh_token',
      access_token: accessToken,
    });
    expect(publishedDetails()).toEqual([
      {
        source: 'tokenwatch',
        detailType: 'Instagram Token Refreshed',
        bus: 'tokenwatch-test',
        detail: { accountId, generation: 2, expiresAt: after?.expiresAt, by: 'u-owner' },
      },
    ]);
  });

  it('works the same for a developer of the account, and names them in the event', async () => {
    const { accountId } = await account();
    const response = await refresh(accountId, 'u-dev');
    expect(response.status).toBe(200);
    expect((await stored(accountId))?.generation).toBe(2);
    expect(publishedDetails()[0]?.detail.by).toBe('u-dev');
  });

  it('leaves a token under 24 hours old as it is and answers its current state', async () => {
    const { accountId, accessToken, expiresAt } = await account({
      expiresInDays: 60,
      issuedDaysAgo: 0,
    });
    const callsBefore = env.instagram.calls.length;
    const response = await refresh(accountId);
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      accountId,
      tokenStatus: 'active',
      expiresAt: new Date(expiresAt).toISOString(),
    });
    expect(await stored(accountId)).toMatchObject({ generation: 1, accessToken });
    expect(env.instagram.calls.length).toBe(callsBefore);
    expect(publishedDetails()).toEqual([]);
  });

  it.each(['expired', 'invalid'] as const)(
    "of a token marked %s answers 409 with Instagram's authorization URL and calls nobody",
    async (tokenStatus) => {
      const { accountId } = await account({ tokenStatus, expiresInDays: -2 });
      const callsBefore = env.instagram.calls.length;
      expectReauthorization(await refresh(accountId), accountId);
      expect(env.instagram.calls.length).toBe(callsBefore);
      expect((await stored(accountId))?.generation).toBe(1);
    },
  );

  it('of a token past its expiry that the check has not marked yet is a 409 too', async () => {
    const { accountId } = await account({ expiresInDays: -0.01 });
    expectReauthorization(await refresh(accountId), accountId);
  });

  it('when Instagram answers OAuthException 190, answers 409, makes the token invalid at once and files it for the check', async () => {
    const { accountId, accessToken } = await account();
    env.instagram.revokeToken(accessToken);
    expectReauthorization(await refresh(accountId), accountId);
    // Invalid at once (DESIGN.md), so the next refresh answers 409 without asking Instagram.
    expect(await stored(accountId)).toMatchObject({
      generation: 1,
      accessToken,
      tokenStatus: 'invalid',
    });
    const callsBefore = env.instagram.calls.length;
    expectReauthorization(await refresh(accountId), accountId);
    expect(env.instagram.calls.length).toBe(callsBefore);
    const due = [];
    for await (const page of env.table.store.dueTokens(new Date(), 1)) due.push(...page);
    expect(due).toContainEqual(
      expect.objectContaining({ accountId, generation: 1, reason: 'invalid' }),
    );
    expect(publishedDetails()).toEqual([]);
  });

  it.each([
    ['rejected-460', 'password-changed'],
    ['rejected-458', 'app-removed'],
    ['rejected-459', 'checkpoint'],
    ['rejected-464', 'checkpoint'],
    ['rejected-463', 'session-invalidated'],
    ['rejected', 'session-invalidated'],
  ] as const)(
    'when Instagram answers 190 (%s), files the token for the check with the cause %s',
    async (failure, cause) => {
      const { accountId } = await account();
      env.instagram.failNext(failure, { operation: 'refresh' });
      expectReauthorization(await refresh(accountId), accountId);
      const due = [];
      for await (const page of env.table.store.dueTokens(new Date(), 1)) due.push(...page);
      expect(due).toContainEqual(
        expect.objectContaining({ accountId, generation: 1, reason: 'invalid', cause }),
      );
      expect(publishedDetails()).toEqual([]);
    },
  );

  it.each([
    [
      'an outage (HTTP 500)',
      'server-error',
      502,
      'tag:tokenwatch,2026:problem/instagram-unavailable',
    ],
    [
      'an answer that is not JSON',
      'malformed',
      502,
      'tag:tokenwatch,2026:problem/instagram-unavailable',
    ],
    [
      'rate limiting (code 4)',
      'rate-limit',
      503,
      'tag:tokenwatch,2026:problem/instagram-rate-limited',
    ],
  ] as const)('after %s answers %i and changes nothing', async (_name, failure, status, type) => {
    const { accountId, accessToken } = await account();
    env.instagram.failNext(failure, { operation: 'refresh' });
    const response = await refresh(accountId);
    expect(response.status).toBe(status);
    expect(response.json<{ type: string }>().type).toBe(type);
    if (status === 503) expect(response.headers['retry-after']).toBe('60');
    expect(await stored(accountId)).toMatchObject({ generation: 1, accessToken });
    expect(publishedDetails()).toEqual([]);
  });

  it('run concurrently by five users never loses a token: one generation, one event, a token Instagram issued', async () => {
    const { accountId } = await account();
    const responses = await Promise.all(
      Array.from({ length: 5 }, (_, i) => refresh(accountId, i % 2 === 0 ? 'u-owner' : 'u-dev')),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    const after = await stored(accountId);
    expect(after?.generation).toBe(2);
    expect(env.instagram.issuedTokens()).toContain(after?.accessToken);
    expect(env.instagram.tokenInfo(after?.accessToken ?? '')?.revoked).toBe(false);
    expect(publishedDetails()).toHaveLength(1);
    for (const response of responses)
      expect(response.json()).toEqual({
        accountId,
        tokenStatus: 'active',
        expiresAt: after?.expiresAt,
      });
  });

  it('still answers 200 when the event cannot be published: the token is stored and works', async () => {
    const { accountId } = await account();
    // The bus keeps failing: every retry the adapter makes fails too.
    env.eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    try {
      const response = await refresh(accountId);
      expect(response.status).toBe(200);
      expect((await stored(accountId))?.generation).toBe(2);
      expect(env.eventBridge.commandCalls(PutEventsCommand).length).toBeGreaterThan(1);
      expect(output.join('')).toContain('Could not publish Instagram Token Refreshed');
    } finally {
      env.eventBridge
        .on(PutEventsCommand)
        .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
    }
  });
});

describe('a refresh request with a body', () => {
  it('is refused with 400 when the body says anything, and nothing is written', async () => {
    const { accountId } = await account();
    const response = await env.api.call('POST', `/instagram-accounts/${accountId}/token/refresh`, {
      token: await env.identity.token('u-owner'),
      body: { force: true },
    });
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect((await stored(accountId))?.generation).toBe(1);
    expect(publishedDetails()).toEqual([]);
  });

  it('is accepted when the body is an empty object, as some clients always send', async () => {
    const { accountId } = await account();
    const response = await env.api.call('POST', `/instagram-accounts/${accountId}/token/refresh`, {
      token: await env.identity.token('u-owner'),
      body: {},
    });
    expect(response.status).toBe(200);
  });
});

describe('reconnecting with a new authorization', () => {
  it('exchanges the code for a long-lived token of the same Instagram user and stores it as the next generation', async () => {
    const { accountId, accessToken } = await account({ tokenStatus: 'expired', expiresInDays: -3 });
    env.instagram.registerCode('AQ-code-1', accountId);
    // Instagram appends #_ to the redirect; the frontend may pass it on.
    const response = await reconnect(accountId, { code: 'AQ-code-1#_', redirectUri });
    expect(response.status).toBe(200);
    const after = await stored(accountId);
    expect(after).toMatchObject({ generation: 2, tokenStatus: 'active' });
    expect(after?.accessToken).not.toBe(accessToken);
    expect(env.instagram.tokenInfo(after?.accessToken ?? '')).toMatchObject({
      userId: accountId,
      kind: 'long-lived',
    });
    expect(response.json()).toEqual({
      accountId,
      tokenStatus: 'active',
      expiresAt: after?.expiresAt,
    });

    const [codeCall] = env.instagram.calls
      .filter((call) => call.operation === 'code-exchange')
      .slice(-1);
    expect(codeCall?.params).toEqual({
      client_id: app.appId,
      client_secret: app.appSecret,
      grant_type: 'authorization_code',
      redirect_uri: redirectUri,
      code: 'AQ-code-1',
    });
    expect(env.instagram.calls.at(-1)?.params).toMatchObject({
      grant_type: 'ig_exchange_token',
      client_secret: app.appSecret,
    });
    expect(publishedDetails()).toEqual([
      expect.objectContaining({
        detailType: 'Instagram Token Refreshed',
        detail: { accountId, generation: 2, expiresAt: after?.expiresAt, by: 'u-owner' },
      }),
    ]);
  });

  it('is open to a developer of the account', async () => {
    const { accountId } = await account({ tokenStatus: 'invalid' });
    env.instagram.registerCode('AQ-code-dev', accountId);
    expect((await reconnect(accountId, { code: 'AQ-code-dev', redirectUri }, 'u-dev')).status).toBe(
      200,
    );
  });

  it('refuses an authorization for another Instagram user with 409 and stores nothing', async () => {
    const { accountId, accessToken } = await account({ tokenStatus: 'expired', expiresInDays: -1 });
    env.instagram.registerCode('AQ-someone-else', '17841499999999999');
    const response = await reconnect(accountId, { code: 'AQ-someone-else', redirectUri });
    expectReauthorization(
      response,
      accountId,
      'tag:tokenwatch,2026:problem/instagram-user-mismatch',
    );
    expect(await stored(accountId)).toMatchObject({
      generation: 1,
      accessToken,
      tokenStatus: 'expired',
    });
    expect(env.instagram.calls.at(-1)?.operation).toBe('code-exchange');
    expect(publishedDetails()).toEqual([]);
  });

  it('keeps every digit of an Instagram user id beyond 2^53 when comparing users', async () => {
    const accountId = '17841405793187218';
    await env.table.store.putAccount(
      {
        accountId,
        ownerUserId: 'u-owner',
        username: 'bigid',
        accessToken: 'IGAA-CANARY-big',
        expiresAt: at(-1),
        tokenStatus: 'expired',
      },
      new Date(),
    );
    env.instagram.registerCode('AQ-big', accountId);
    expect((await reconnect(accountId, { code: 'AQ-big', redirectUri })).status).toBe(200);
    // 17841405793187218 read as a double would be 17841405793187216: a different user.
    env.instagram.registerCode('AQ-big-neighbour', '17841405793187216');
    const mismatch = await reconnect(accountId, { code: 'AQ-big-neighbour', redirectUri });
    expect(mismatch.status).toBe(409);
  });

  it.each([
    ['a code Instagram never issued', () => 'AQ-unknown'],
    [
      'a code that was already used',
      () => {
        env.instagram.registerCode('AQ-once', 'x');
        return 'AQ-once';
      },
    ],
  ])(
    'with %s answers 409 with a fresh authorization URL and stores nothing',
    async (_name, codeOf) => {
      const { accountId, accessToken } = await account({
        tokenStatus: 'expired',
        expiresInDays: -1,
      });
      const code = codeOf();
      if (code === 'AQ-once') {
        env.instagram.registerCode('AQ-once', accountId);
        expect((await reconnect(accountId, { code, redirectUri })).status).toBe(200);
      }
      const before = await stored(accountId);
      expectReauthorization(await reconnect(accountId, { code, redirectUri }), accountId);
      expect(await stored(accountId)).toEqual(before);
      if (code !== 'AQ-once') expect(before).toMatchObject({ accessToken, generation: 1 });
    },
  );

  it('refuses a redirect URI other than the configured one, before calling Instagram', async () => {
    const { accountId } = await account({ tokenStatus: 'expired', expiresInDays: -1 });
    env.instagram.registerCode('AQ-evil', accountId);
    const callsBefore = env.instagram.calls.length;
    const response = await reconnect(accountId, {
      code: 'AQ-evil',
      redirectUri: 'https://evil.example/cb',
    });
    expect(response.status).toBe(400);
    expect(response.json<{ errors: { pointer: string }[] }>().errors).toEqual([
      expect.objectContaining({ pointer: '#/redirectUri' }),
    ]);
    expect(env.instagram.calls.length).toBe(callsBefore);
  });

  it.each([
    ['the code exchange fails (HTTP 500)', 'server-error', 'code-exchange', 502],
    ['the code exchange is rate limited', 'rate-limit', 'code-exchange', 503],
    ['the code exchange answers HTML', 'malformed', 'code-exchange', 502],
    ['the long-lived exchange fails (HTTP 500)', 'server-error', 'long-lived-exchange', 502],
    ['the long-lived exchange answers 190', 'invalid-token', 'long-lived-exchange', 409],
    ['the long-lived exchange is rate limited', 'rate-limit', 'long-lived-exchange', 503],
  ] as const)(
    'when %s answers %i and stores nothing',
    async (_name, failure, operation, status) => {
      const { accountId, accessToken } = await account({
        tokenStatus: 'expired',
        expiresInDays: -1,
      });
      env.instagram.registerCode(`AQ-${failure}-${operation}`, accountId);
      env.instagram.failNext(failure, { operation });
      const response = await reconnect(accountId, {
        code: `AQ-${failure}-${operation}`,
        redirectUri,
      });
      expect(response.status).toBe(status);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(await stored(accountId)).toMatchObject({
        generation: 1,
        accessToken,
        tokenStatus: 'expired',
      });
      expect(publishedDetails()).toEqual([]);
    },
  );

  it.each([
    ['no code', { redirectUri }],
    ['an empty code', { code: '', redirectUri }],
    ['a redirect URI that is not a URL', { code: 'AQ', redirectUri: 'not a url' }],
    ['a javascript: redirect URI', { code: 'AQ', redirectUri: 'javascript:alert(1)' }],
    ['an unknown field', { code: 'AQ', redirectUri, state: 'x' }],
    ['a number for the code', { code: 42, redirectUri }],
  ])('with %s in the body is a 400 and calls nobody', async (_name, body) => {
    const { accountId } = await account({ tokenStatus: 'expired', expiresInDays: -1 });
    const callsBefore = env.instagram.calls.length;
    const response = await reconnect(accountId, body);
    expect(response.status).toBe(400);
    expect(response.json<{ type: string }>().type).toBe('tag:tokenwatch,2026:problem/validation');
    expect(env.instagram.calls.length).toBe(callsBefore);
    expect((await stored(accountId))?.generation).toBe(1);
  });
});

describe('an account id that cannot exist', () => {
  it('is a 400 naming the parameter, and reaches neither the table nor Instagram', async () => {
    const callsBefore = env.instagram.calls.length;
    const response = await env.api.call(
      'POST',
      '/instagram-accounts/has.dots%20and%20spaces/token/refresh',
      {
        token: await env.identity.token('u-owner'),
      },
    );
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ errors: [{ parameter: 'accountId' }] });
    expect(env.instagram.calls.length).toBe(callsBefore);
  });
});

describe('random reconnect bodies', () => {
  it('never get a 5xx and never change the token', async () => {
    const { accountId, accessToken } = await account({ tokenStatus: 'expired', expiresInDays: -1 });
    const token = await env.identity.token('u-owner');
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record(
        {
          code: fc.oneof(fc.string({ maxLength: 80 }), fc.jsonValue({ maxDepth: 1 })),
          redirectUri: fc.oneof(
            fc.constant(redirectUri),
            fc.webUrl(),
            fc.string({ maxLength: 40 }),
          ),
          extra: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const response = await env.api.call('POST', `/instagram-accounts/${accountId}/token`, {
          token,
          rawBody: JSON.stringify(value),
          headers: { 'content-type': 'application/json' },
        });
        // Random codes are unknown to Instagram: refused (409) or invalid (400), never stored.
        expect([400, 409]).toContain(response.status);
        expect(response.headers['content-type']).toBe('application/problem+json');
      }),
      { seed: 4242, numRuns: 120 },
    );
    expect(await stored(accountId)).toMatchObject({ generation: 1, accessToken });
    expect(publishedDetails()).toEqual([]);
  });
});

describe('secrets', () => {
  it('no access token, app secret or Instagram-issued token ever appeared in a response, a log line or an event', () => {
    const everything = [
      ...env.api.responses.map((response) => response.body + JSON.stringify(response.headers)),
      output.join(''),
      JSON.stringify(
        env.eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input),
      ),
    ].join('\n');
    // The capture works: the flows' own log lines are in it.
    expect(output.join('')).toContain('Token replaced');
    expect(everything).not.toContain('CANARY');
    expect(everything).not.toContain(app.appSecret);
    const issued = env.instagram.issuedTokens();
    expect(issued.length).toBeGreaterThan(5);
    for (const token of issued) expect(everything).not.toContain(token);
  });
});
