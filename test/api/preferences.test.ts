import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  captureOutput,
  startApiEnvironment,
  type ApiEnvironment,
} from '../support/api-environment';

let env: ApiEnvironment;
const output: string[] = [];
const secretToken = 'IGQ-CANARY-preferences-0f3c9a';

beforeAll(async () => {
  env = await startApiEnvironment();
});
afterAll(async () => {
  await env.stop();
});
beforeEach(() => {
  captureOutput(output);
});

const preferences = '/me/notification-preferences';
const days = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();

describe('notification preferences', () => {
  it('are the defaults for a user who never saved any: owner emails on, developer emails off', async () => {
    const response = await env.api.call('GET', preferences, {
      token: await env.identity.token('u-new'),
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json()).toEqual({
      ownerExpiredToken: true,
      developerExpiredToken: false,
      updatedAt: null,
      emailStatus: 'ok',
    });
  });

  it('are stored by PUT, answered with updatedAt, and read back by GET', async () => {
    const token = await env.identity.token('u-dev');
    const before = Date.now();
    const put = await env.api.call('PUT', preferences, {
      token,
      body: { ownerExpiredToken: false, developerExpiredToken: true },
    });
    expect(put.status).toBe(200);
    const stored = put.json<{ updatedAt: string }>();
    expect(stored).toMatchObject({ ownerExpiredToken: false, developerExpiredToken: true });
    expect(Date.parse(stored.updatedAt)).toBeGreaterThanOrEqual(before);
    const get = await env.api.call('GET', preferences, { token });
    expect(get.json()).toEqual({ ...stored, emailStatus: 'ok' });
    expect(await env.table.store.getPreferences('u-dev')).toEqual(stored);
  });

  it("are the caller's own: one user's PUT never touches another's", async () => {
    await env.api.call('PUT', preferences, {
      token: await env.identity.token('u-alice'),
      body: { ownerExpiredToken: false, developerExpiredToken: false },
    });
    expect((await env.table.store.getPreferences('u-bob')).updatedAt).toBeNull();
  });
});

describe('the email status', () => {
  const status = async (userId: string) =>
    (await env.api.call('GET', preferences, { token: await env.identity.token(userId) })).json<{
      emailStatus: string;
    }>().emailStatus;
  const serviceCall = async (userId: string, email: string) =>
    env.api.call('PUT', `/service/users/${userId}`, {
      token: await env.identity.serviceToken(),
      body: { email, name: 'Reader' },
    });
  const report = (address: string, kind: 'hard-bounce' | 'complaint' | 'soft-bounce') =>
    env.table.store.recordEmailFeedback(address, {
      kind,
      feedbackId: `${kind}-${address}`,
      at: new Date(),
    });

  it('says bounced or complained once SES reported the address, and ok after a soft bounce', async () => {
    await serviceCall('u-bounced', 'gone@example.com');
    await serviceCall('u-complained', 'annoyed@example.com');
    await serviceCall('u-full', 'full@example.com');
    await report('gone@example.com', 'hard-bounce');
    await report('Annoyed@Example.com', 'complaint');
    await report('full@example.com', 'soft-bounce');
    expect(await status('u-bounced')).toBe('bounced');
    expect(await status('u-complained')).toBe('complained');
    expect(await status('u-full')).toBe('ok');
  });

  it('starts again at ok when the widget service stores another address', async () => {
    await serviceCall('u-moved', 'old-box@example.com');
    await report('old-box@example.com', 'hard-bounce');
    expect(await status('u-moved')).toBe('bounced');
    expect((await serviceCall('u-moved', 'new-box@example.com')).status).toBe(200);
    expect(await status('u-moved')).toBe('ok');
  });

  it('is ok for a user the widget service never told us about', async () => {
    expect(await status('u-no-profile')).toBe('ok');
  });
});

describe('a bad body', () => {
  const cases: [
    string,
    { body?: unknown; rawBody?: string; headers?: Record<string, string> },
    number,
  ][] = [
    ['an empty object', { body: {} }, 400],
    ['one preference missing', { body: { ownerExpiredToken: true } }, 400],
    [
      'a string for a boolean',
      { body: { ownerExpiredToken: 'true', developerExpiredToken: false } },
      400,
    ],
    ['a number for a boolean', { body: { ownerExpiredToken: 1, developerExpiredToken: 0 } }, 400],
    [
      'null for a boolean',
      { body: { ownerExpiredToken: null, developerExpiredToken: false } },
      400,
    ],
    [
      'an unknown field',
      { body: { ownerExpiredToken: true, developerExpiredToken: true, admin: true } },
      400,
    ],
    [
      'a prototype-polluting field',
      { rawBody: '{"ownerExpiredToken":true,"developerExpiredToken":true,"__proto__":{"x":1}}' },
      400,
    ],
    ['an array', { body: [true, false] }, 400],
    ['a bare value', { body: true }, 400],
    ['JSON null', { rawBody: 'null' }, 400],
    ['malformed JSON', { rawBody: '{"ownerExpiredToken": tru' }, 400],
    ['no body at all', {}, 400],
    [
      'a body over 16 KiB',
      {
        body: {
          ownerExpiredToken: true,
          developerExpiredToken: true,
          padding: 'x'.repeat(16 * 1024),
        },
      },
      400,
    ],
    [
      'a form instead of JSON',
      {
        rawBody: 'ownerExpiredToken=true&developerExpiredToken=true',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      415,
    ],
  ];

  it.each(cases)(
    '(%s) is refused with problem+json and nothing is written',
    async (_name, request, status) => {
      const user = `u-bad-${Math.random().toString(36).slice(2)}`;
      const response = await env.api.call('PUT', preferences, {
        token: await env.identity.token(user),
        headers: { 'content-type': 'application/json', ...request.headers },
        body: request.body,
        rawBody: request.rawBody,
      });
      expect(response.status).toBe(status);
      expect(response.headers['content-type']).toBe('application/problem+json');
      const problem = response.json<{
        type: string;
        title: string;
        status: number;
        detail: string;
      }>();
      expect(problem.status).toBe(status);
      expect(problem.title).toEqual(expect.any(String));
      expect(problem.type).toEqual(expect.any(String));
      expect(JSON.stringify(problem)).not.toMatch(/at .*\.ts|node_modules|stack/i);
      expect((await env.table.store.getPreferences(user)).updatedAt).toBeNull();
    },
  );

  it('names every invalid field with a JSON pointer', async () => {
    const response = await env.api.call('PUT', preferences, {
      token: await env.identity.token('u-pointers'),
      body: { ownerExpiredToken: 'yes', extra: 1 },
    });
    const problem = response.json<{ type: string; errors: { pointer: string }[] }>();
    expect(problem.type).toBe('tag:tokenwatch,2026:problem/validation');
    expect(problem.errors.map((error) => error.pointer).sort()).toEqual([
      '#/developerExpiredToken',
      '#/extra',
      '#/ownerExpiredToken',
    ]);
  });

  it('is never answered with a 5xx, whatever it holds, and only a valid one is stored', async () => {
    const token = await env.identity.token('u-fuzz');
    const anyJson = fc.jsonValue({ maxDepth: 3 });
    const nearlyValid = fc.record(
      { ownerExpiredToken: anyJson, developerExpiredToken: anyJson, extra: anyJson },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          anyJson.map((value) => JSON.stringify(value)),
          nearlyValid.map((value) => JSON.stringify(value)),
          fc.string({ maxLength: 200 }),
        ),
        async (rawBody) => {
          const before = await env.table.store.getPreferences('u-fuzz');
          const response = await env.api.call('PUT', preferences, {
            token,
            rawBody,
            headers: { 'content-type': 'application/json' },
          });
          expect(response.status).toBeLessThan(500);
          if (response.status === 200) {
            const parsed = JSON.parse(rawBody) as Record<string, unknown>;
            expect(Object.keys(parsed).sort()).toEqual([
              'developerExpiredToken',
              'ownerExpiredToken',
            ]);
          } else {
            expect(response.status).toBe(400);
            expect(await env.table.store.getPreferences('u-fuzz')).toEqual(before);
          }
        },
      ),
      { seed: 20261125, numRuns: 150 },
    );
  });
});

describe('the Instagram accounts list', () => {
  beforeAll(async () => {
    const { store } = env.table;
    const now = new Date();
    await store.putAccount(
      {
        accountId: '17841400000000101',
        ownerUserId: 'u-carla',
        username: 'carla.studio',
        accessToken: secretToken,
        expiresAt: days(40),
      },
      now,
    );
    await store.putAccount(
      {
        accountId: '17841400000000102',
        ownerUserId: 'u-client',
        username: 'bakery.client',
        accessToken: `${secretToken}-2`,
        expiresAt: days(-1),
      },
      now,
    );
    await store.putAccount(
      {
        accountId: '17841400000000103',
        ownerUserId: 'u-other',
        username: 'not.carlas',
        accessToken: `${secretToken}-3`,
        expiresAt: days(10),
      },
      now,
    );
    await store.putDeveloperRole({ accountId: '17841400000000102', userId: 'u-carla' }, now);
  });

  it("lists the caller's own accounts and those they develop for, with token status and expiry", async () => {
    const response = await env.api.call('GET', '/me/instagram-accounts', {
      token: await env.identity.token('u-carla'),
    });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      accounts: [
        {
          accountId: '17841400000000102',
          username: 'bakery.client',
          relation: 'developer',
          // Past its expiry: expired, even before the check has marked it.
          tokenStatus: 'expired',
          cause: 'expired',
          expiresAt: expect.any(String) as unknown,
        },
        {
          accountId: '17841400000000101',
          username: 'carla.studio',
          relation: 'owner',
          tokenStatus: 'active',
          cause: null,
          expiresAt: expect.any(String) as unknown,
        },
      ],
    });
    expect(response.body).not.toContain('CANARY');
  });

  it('says what happened to a token Instagram refused, and that an old invalid one lost its session', async () => {
    const { store } = env.table;
    const now = new Date();
    await store.putAccount(
      {
        accountId: '17841400000000104',
        ownerUserId: 'u-dora',
        username: 'dora.checkpoint',
        accessToken: `${secretToken}-4`,
        expiresAt: days(20),
        tokenStatus: 'invalid',
        cause: 'checkpoint',
      },
      now,
    );
    await store.putAccount(
      {
        accountId: '17841400000000105',
        ownerUserId: 'u-dora',
        username: 'dora.old',
        accessToken: `${secretToken}-5`,
        expiresAt: days(20),
        tokenStatus: 'invalid',
        generation: 3,
      },
      now,
    );
    // As the version before causes left it: invalid, no cause.
    await env.table.client.send(
      new UpdateItemCommand({
        TableName: env.table.tableName,
        Key: { pk: { S: 'IGACCOUNT#17841400000000105' }, sk: { S: 'TOKEN' } },
        UpdateExpression: 'REMOVE #cause',
        ExpressionAttributeNames: { '#cause': 'cause' },
      }),
    );
    const response = await env.api.call('GET', '/me/instagram-accounts', {
      token: await env.identity.token('u-dora'),
    });
    expect(
      response
        .json<{ accounts: { username: string; tokenStatus: string; cause: string }[] }>()
        .accounts.map(({ username, tokenStatus, cause }) => ({ username, tokenStatus, cause })),
    ).toEqual([
      { username: 'dora.checkpoint', tokenStatus: 'invalid', cause: 'checkpoint' },
      { username: 'dora.old', tokenStatus: 'invalid', cause: 'session-invalidated' },
    ]);
  });

  it('is empty for a user with no accounts', async () => {
    const response = await env.api.call('GET', '/me/instagram-accounts', {
      token: await env.identity.token('u-nobody'),
    });
    expect(response.json()).toEqual({ accounts: [] });
  });
});

describe('secrets', () => {
  it('no access token ever appeared in a response or a log line of this file', () => {
    expect(env.api.responses.length).toBeGreaterThan(10);
    for (const response of env.api.responses) expect(response.body).not.toContain('CANARY');
    expect(output.join('')).not.toContain('CANARY');
  });
});
