/**
 * The automatic refresh end to end below the handlers: the refresh index in DynamoDB Local, the
 * refresh job, the refresher core with the fleet's pace, the real Instagram client against the
 * Instagram stand-in, and the check that announces what the refresh could not save.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#platform/dynamodb';
import { createInstagramClient } from '#platform/instagram';
import { createRateSlots } from '#platform/rate-slots';
import type { LogSink } from '#platform/observability';
import type { QueueSender } from '#platform/sqs';
import { keys } from '#storage/keys';
import { refreshAutomatically, type AutoRefreshDependencies } from '#tokens/auto-refresh';
import type {
  TokenExpiredDetail,
  TokenExpiringDetail,
  TokenRefreshedDetail,
  TokenReminderDetail,
} from '#tokens/events';
import { runExpiryCheck } from '#tokens/expiry-check';
import { refreshToken } from '#tokens/refresh';
import type { RefreshRequest } from '#tokens/refresh-schedule';
import { runRefreshJob } from '#tokens/refresh-run';
import { DAY_MS } from '#tokens/lifecycle';
import { noteTrouble } from '#storm/storm-guard';
import { startInstagramStandIn, type InstagramStandIn } from '../../local/standins/instagram';
import { collect, createTestTable, type TestTable } from '../support/table';

const quiet: LogSink = { info: () => undefined, warn: () => undefined, error: () => undefined };
const app = { appId: '1', appSecret: 'app-secret-value' };
const base = new Date('2026-12-01T12:00:00.000Z');
const at = (days: number) => new Date(base.getTime() + days * DAY_MS);

// A table per test: each reads the whole refresh schedule, and must see only its own tokens.
let table: TestTable;
beforeEach(async () => {
  table = await createTestTable();
  instagram.reset();
});
afterEach(async () => {
  await table.drop();
});
let instagram: InstagramStandIn;
beforeAll(async () => {
  instagram = await startInstagramStandIn({ app, acceptUnknownTokens: false });
});
afterAll(async () => {
  await instagram.stop();
});

let refreshed: TokenRefreshedDetail[];
let expired: TokenExpiredDetail[];
let expiring: TokenExpiringDetail[];
let reminded: TokenReminderDetail[];
let clock: Date;
beforeEach(() => {
  refreshed = [];
  expired = [];
  expiring = [];
  reminded = [];
  clock = base;
});

const client = () =>
  createInstagramClient(
    {
      graphUrl: instagram.endpoint,
      apiUrl: instagram.endpoint,
      authorizeUrl: instagram.authorizeUrl,
      redirectUri: 'https://app.test/cb',
      appSecretId: 'unused',
    },
    { credentials: () => Promise.resolve(app), timeoutMs: 1000 },
  );

function deps(overrides: Partial<AutoRefreshDependencies> = {}): AutoRefreshDependencies {
  return {
    store: table.store,
    instagram: client(),
    publishRefreshed: (detail) => {
      refreshed.push(detail);
      return Promise.resolve();
    },
    now: () => clock,
    pace: createRateSlots({
      db: createDocumentClient(table.client),
      tableName: table.tableName,
      key: keys.refreshPace(),
      perSecond: 100,
    }),
    log: quiet,
    ...overrides,
  };
}

/** A queue that hands each request straight to the refresher, as the event source would. */
const queueInto = (handled: RefreshRequest[]): QueueSender<RefreshRequest> => ({
  send: (requests) => {
    handled.push(...requests);
    return Promise.resolve({ sent: [...requests], failed: [] });
  },
});

async function refreshRun(maxPerRun = 1000) {
  const handled: RefreshRequest[] = [];
  const summary = await runRefreshJob({
    schedule: table.store,
    queue: queueInto(handled),
    clock: () => clock,
    lookbackDays: 7,
    maxPerRun,
    log: quiet,
  });
  const outcomes = [];
  for (const request of handled) outcomes.push(await refreshAutomatically(deps(), request));
  return { summary, outcomes };
}

const check = () =>
  runExpiryCheck({
    store: table.store,
    publisher: {
      publishTokenExpired: (details) => {
        expired.push(...details);
        return Promise.resolve({ accepted: [...details], rejected: [] });
      },
      publishTokenExpiring: (details) => {
        // What the event carries: the publisher picks these fields from what it is given.
        expiring.push(
          ...details.map(({ accountId, generation, expiresAt, daysLeft }) => ({
            accountId,
            generation,
            expiresAt,
            daysLeft,
          })),
        );
        return Promise.resolve({ accepted: [...details], rejected: [] });
      },
      publishTokenReminder: <Detail extends TokenReminderDetail>(details: readonly Detail[]) => {
        reminded.push(...details);
        return Promise.resolve({ accepted: [...details], rejected: [] });
      },
    },
    clock: () => clock,
    lookbackDays: 7,
    log: quiet,
  });

/** An account connected at `base` whose token expires `daysLeft` days later. */
async function connect(accountId: string, daysLeft: number, issuedDaysAgo = 60 - daysLeft) {
  const accessToken = `IGQ-${accountId}`;
  instagram.addToken(accessToken, { userId: `ig-${accountId}`, expiresAt: at(daysLeft) });
  await table.store.storeConnectedToken(
    accountId,
    {
      ownerUserId: 'u-owner',
      username: accountId,
      accessToken,
      expiresAt: at(daysLeft).toISOString(),
      issuedAt: at(-issuedDaysAgo).toISOString(),
    },
    1,
    undefined,
    base,
  );
  return accessToken;
}

const stored = async (accountId: string) => {
  const account = await table.store.getAccountWithToken(accountId);
  if (!account) throw new Error(`no account ${accountId}`);
  return account;
};

describe('the automatic refresh', () => {
  it('refreshes a token 10 days from expiry on the next run, and nobody hears of it', async () => {
    await connect('ten-days', 10);
    const { summary, outcomes } = await refreshRun();
    expect(summary).toMatchObject({ due: 1, queued: 1, backlog: false });
    expect(outcomes).toEqual(['refreshed']);
    const account = await stored('ten-days');
    expect(account).toMatchObject({ generation: 2, tokenStatus: 'active' });
    expect(account.accessToken).not.toBe('IGQ-ten-days');
    expect(instagram.tokenInfo(account.accessToken)).toMatchObject({ revoked: false });
    expect(refreshed).toEqual([
      { accountId: 'ten-days', generation: 2, expiresAt: account.expiresAt, by: 'auto' },
    ]);
    // Filed afresh: due for refresh again 14 days before its new expiry, warned about never.
    expect(account.refreshAt).toBe(
      new Date(Date.parse(account.expiresAt) - 14 * DAY_MS).toISOString(),
    );
    for (const day of [0, 10, 30, 44]) {
      clock = at(day);
      await check();
    }
    expect(expired).toEqual([]);
    expect(expiring).toEqual([]);
  });

  it('reads only the tokens due: one 30 days from expiry waits, one a day old waits', async () => {
    await connect('thirty-days', 30);
    await connect('brand-new', 10, 0.5);
    const { summary } = await refreshRun();
    expect(summary.due).toBe(0);
    clock = at(0.6);
    const later = await refreshRun();
    expect(later.summary.due).toBe(1);
    expect(later.outcomes).toEqual(['refreshed']);
    expect((await stored('thirty-days')).generation).toBe(1);
  });

  it.each([
    [458, 'app-removed'],
    [459, 'checkpoint'],
    [460, 'password-changed'],
    [464, 'checkpoint'],
    [463, 'session-invalidated'],
  ] as const)(
    'makes a token Instagram rejects (subcode %i) invalid at once, cause %s, and the check announces it once',
    async (subcode, cause) => {
      await connect(`rejected-${subcode}`, 10);
      instagram.failNext(`rejected-${subcode}`, { operation: 'refresh' });
      const { outcomes } = await refreshRun();
      expect(outcomes).toEqual(['rejected']);
      expect(await stored(`rejected-${subcode}`)).toMatchObject({
        tokenStatus: 'invalid',
        cause,
        generation: 1,
      });
      expect((await stored(`rejected-${subcode}`)).refreshAt).toBeUndefined();
      await check();
      await check();
      expect(expired).toEqual([
        expect.objectContaining({ accountId: `rejected-${subcode}`, reason: 'invalid', cause }),
      ]);
      // Off the refresh schedule: the next run does not ask Instagram about it again.
      const calls = instagram.calls.length;
      expect((await refreshRun()).summary.due).toBe(0);
      expect(instagram.calls.length).toBe(calls);
    },
  );

  it('tries a passing failure again with backoff, and warns 7 and 1 days before, then expires, each once', async () => {
    await connect('flaky', 14);
    for (const failure of ['server-error', 'rate-limit', 'malformed'] as const) {
      instagram.failNext(failure, { operation: 'refresh' });
    }
    const first = await refreshRun();
    expect(first.outcomes).toEqual(['retry-later']);
    let account = await stored('flaky');
    expect(account).toMatchObject({ tokenStatus: 'active', refreshFailures: 1, generation: 1 });
    expect(account.refreshAt).toBe(new Date(base.getTime() + 3_600_000).toISOString());
    // Not due again before its backoff ran out.
    clock = new Date(base.getTime() + 30 * 60_000);
    expect((await refreshRun()).summary.due).toBe(0);
    clock = new Date(base.getTime() + 3_600_000);
    expect((await refreshRun()).outcomes).toEqual(['retry-later']);
    account = await stored('flaky');
    expect(account.refreshFailures).toBe(2);
    expect(account.refreshAt).toBe(new Date(clock.getTime() + 2 * 3_600_000).toISOString());

    // Instagram keeps failing: every try from here on fails, and the announcements go out.
    instagram.failNext('server-error', { operation: 'refresh', times: 1000 });
    const warnedAt: number[] = [];
    for (let hour = 6; hour <= 15 * 24; hour += 6) {
      clock = new Date(base.getTime() + hour * 3_600_000);
      await refreshRun();
      const before = expiring.length;
      await check();
      if (expiring.length > before) warnedAt.push(hour);
    }
    expect(expiring).toEqual([
      { accountId: 'flaky', generation: 1, expiresAt: at(14).toISOString(), daysLeft: 7 },
      { accountId: 'flaky', generation: 1, expiresAt: at(14).toISOString(), daysLeft: 1 },
    ]);
    expect(warnedAt).toEqual([7 * 24, 13 * 24]);
    expect(expired).toEqual([
      expect.objectContaining({ accountId: 'flaky', reason: 'expired', cause: 'expired' }),
    ]);
    // The last try was an hour before the expiry, never after it.
    const refreshes = instagram.calls.filter((call) => call.operation === 'refresh');
    expect(refreshes.length).toBeLessThan(40);
    expect((await stored('flaky')).tokenStatus).toBe('expired');
  }, 120_000);

  it('a manual refresh and an automatic one at once: one call to Instagram, one new token', async () => {
    await connect('raced', 10);
    const callsBefore = instagram.calls.filter((call) => call.operation === 'refresh').length;
    const handled: RefreshRequest[] = [];
    await runRefreshJob({
      schedule: table.store,
      queue: queueInto(handled),
      clock: () => clock,
      lookbackDays: 7,
      maxPerRun: 10,
      log: quiet,
    });
    const [request] = handled;
    if (!request) throw new Error('expected a request');
    const [automatic, manual] = await Promise.all([
      refreshAutomatically(deps(), request),
      refreshToken(deps(), 'raced', { by: 'u-owner', relation: 'owner' }),
    ]);
    expect(['refreshed', 'busy']).toContain(automatic);
    expect(manual).toMatchObject({ tokenStatus: 'active' });
    const account = await stored('raced');
    expect(account.generation).toBe(2);
    expect(
      instagram.calls.filter((call) => call.operation === 'refresh').length - callsBefore,
    ).toBe(1);
    expect(refreshed).toHaveLength(1);
    expect(instagram.tokenInfo(account.accessToken)).toMatchObject({ revoked: false });
  });

  it('a crash after Instagram answered and before the write leaves a token Instagram accepts, refreshed by the next run', async () => {
    const old = await connect('crashed', 10);
    const crashing = deps({
      store: {
        ...table.store,
        replaceToken: () => Promise.reject(new Error('process died')),
      },
    });
    const handled: RefreshRequest[] = [];
    await runRefreshJob({
      schedule: table.store,
      queue: queueInto(handled),
      clock: () => clock,
      lookbackDays: 7,
      maxPerRun: 10,
      log: quiet,
    });
    const [request] = handled;
    if (!request) throw new Error('expected a request');
    await expect(refreshAutomatically(crashing, request)).rejects.toThrow('process died');
    // Nothing changed: the stored token is the one it had, and Instagram still accepts it.
    let account = await stored('crashed');
    expect(account).toMatchObject({ generation: 1, tokenStatus: 'active', accessToken: old });
    expect(instagram.tokenInfo(old)).toMatchObject({ revoked: false });
    // The message comes back once the lease ran out (30 s), or the next run queues it again.
    clock = new Date(base.getTime() + 31_000);
    const next = await refreshRun();
    expect(next.outcomes).toEqual(['refreshed']);
    account = await stored('crashed');
    expect(account.generation).toBe(2);
    expect(instagram.tokenInfo(account.accessToken)).toMatchObject({ revoked: false });
    expect(refreshed).toHaveLength(1);
  });

  it('does nothing for a request that is no longer due: replaced, removed, or not yet due', async () => {
    await connect('moved-on', 10);
    expect(await refreshAutomatically(deps(), { accountId: 'moved-on', generation: 7 })).toBe(
      'not-due',
    );
    expect(await refreshAutomatically(deps(), { accountId: 'nobody', generation: 1 })).toBe(
      'not-due',
    );
    await connect('later', 40);
    expect(await refreshAutomatically(deps(), { accountId: 'later', generation: 1 })).toBe(
      'not-due',
    );
    expect(instagram.calls.filter((call) => call.operation === 'refresh')).toHaveLength(0);
  });

  it('queues no more per run than the pace can refresh before the next; the rest wait, earliest first', async () => {
    await connect('backlog-a', 3);
    await connect('backlog-b', 5);
    await connect('backlog-c', 9);
    const first = await runRefreshJob({
      schedule: table.store,
      queue: queueInto([]),
      clock: () => clock,
      lookbackDays: 7,
      maxPerRun: 2,
      log: quiet,
    });
    expect(first).toMatchObject({ due: 2, queued: 2, backlog: true });
    const due = (await collect(table.store.tokensDueForRefresh(clock, 7))).map((r) => r.accountId);
    expect(due.sort()).toEqual(['backlog-a', 'backlog-b', 'backlog-c']);
  });

  it('leaves a token the queue did not take due for the next run', async () => {
    await connect('unqueued', 10);
    const summary = await runRefreshJob({
      schedule: table.store,
      queue: {
        send: (requests) =>
          Promise.resolve({
            sent: [],
            failed: requests.map((message) => ({ message, errorCode: 'InternalError' })),
          }),
      },
      clock: () => clock,
      lookbackDays: 7,
      maxPerRun: 10,
      log: quiet,
    });
    expect(summary).toMatchObject({ due: 1, queued: 0, failed: 1 });
    expect((await refreshRun()).outcomes).toEqual(['refreshed']);
  });
});

describe('the automatic refresh in a storm (storm/storm-guard.ts)', () => {
  /**
   * A storm guard that records what it was told, with the state of `accountId`'s token at that
   * moment, and says a storm is on when `on` does.
   */
  function recordingStorm(options: { on?: boolean; accountId?: string } = {}) {
    const noted: { causes: Record<string, number>; account: unknown }[] = [];
    return {
      noted,
      guard: {
        paused: () => Promise.resolve(options.on ?? false),
        noteTrouble: async (causes: Record<string, number>) => {
          const account = options.accountId
            ? await table.store.getAccountWithToken(options.accountId)
            : undefined;
          noted.push({ causes, account });
          return 'calm';
        },
      },
    };
  }

  const refreshes = () => instagram.calls.filter((call) => call.operation === 'refresh').length;

  it('answers paused while a storm is on: Instagram is not asked, and the token stays due', async () => {
    await connect('stormy', 10);
    const storm = recordingStorm({ on: true });
    const before = await stored('stormy');
    expect(
      await refreshAutomatically(deps({ storm: storm.guard }), {
        accountId: 'stormy',
        generation: 1,
      }),
    ).toBe('paused');
    expect(refreshes()).toBe(0);
    expect(storm.noted).toEqual([]);
    const after = await stored('stormy');
    expect(after).toMatchObject({ generation: 1, tokenStatus: 'active' });
    expect(after.refreshAt).toBe(before.refreshAt);
    expect(after.refreshFailures).toBe(before.refreshFailures);
    expect(
      (await collect(table.store.tokensDueForRefresh(clock, 7))).map((r) => r.accountId),
    ).toEqual(['stormy']);
    // The storm over, the next run refreshes it.
    expect((await refreshRun()).outcomes).toEqual(['refreshed']);
  });

  it.each([
    [460, 'password-changed'],
    [458, 'app-removed'],
    [463, 'session-invalidated'],
  ] as const)(
    'counts a rejection (subcode %i) as trouble of its cause %s before the token is marked invalid',
    async (subcode, cause) => {
      await connect(`storm-rejected-${subcode}`, 10);
      const storm = recordingStorm({ accountId: `storm-rejected-${subcode}` });
      instagram.failNext(`rejected-${subcode}`, { operation: 'refresh' });
      expect(
        await refreshAutomatically(deps({ storm: storm.guard }), {
          accountId: `storm-rejected-${subcode}`,
          generation: 1,
        }),
      ).toBe('rejected');
      expect(storm.noted.map((entry) => entry.causes)).toEqual([{ [cause]: 1 }]);
      // Counted while the token was still active: a burst is a storm before the check sees it.
      expect(storm.noted[0]?.account).toMatchObject({ tokenStatus: 'active', generation: 1 });
      expect(await stored(`storm-rejected-${subcode}`)).toMatchObject({
        tokenStatus: 'invalid',
        cause,
      });
    },
  );

  it.each([
    ['server-error', 'unavailable'],
    ['malformed', 'unavailable'],
    ['rate-limit', 'rate-limited'],
  ] as const)(
    'counts a passing failure (%s) as trouble by its failure, %s',
    async (failure, name) => {
      await connect(`storm-flaky-${failure}`, 10);
      const storm = recordingStorm({ accountId: `storm-flaky-${failure}` });
      instagram.failNext(failure, { operation: 'refresh' });
      expect(
        await refreshAutomatically(deps({ storm: storm.guard }), {
          accountId: `storm-flaky-${failure}`,
          generation: 1,
        }),
      ).toBe('retry-later');
      expect(storm.noted.map((entry) => entry.causes)).toEqual([{ [name]: 1 }]);
      expect(await stored(`storm-flaky-${failure}`)).toMatchObject({
        tokenStatus: 'active',
        refreshFailures: 1,
      });
    },
  );

  it('counts nothing for a refresh that worked, or one another refresh holds', async () => {
    await connect('storm-fine', 10);
    const storm = recordingStorm();
    expect(
      await refreshAutomatically(deps({ storm: storm.guard }), {
        accountId: 'storm-fine',
        generation: 1,
      }),
    ).toBe('refreshed');
    await connect('storm-busy', 10);
    await table.store.takeRefreshLease('storm-busy', 1, clock, 30);
    expect(
      await refreshAutomatically(deps({ storm: storm.guard }), {
        accountId: 'storm-busy',
        generation: 1,
      }),
    ).toBe('busy');
    expect(storm.noted).toEqual([]);
  });

  it('the refresh job queues nothing while paused, and the tokens stay due for the run after', async () => {
    await connect('paused-a', 10);
    await connect('paused-b', 12);
    const handled: RefreshRequest[] = [];
    const summary = await runRefreshJob({
      schedule: table.store,
      queue: queueInto(handled),
      clock: () => clock,
      lookbackDays: 7,
      maxPerRun: 10,
      log: quiet,
      paused: () => Promise.resolve(true),
    });
    expect(summary).toEqual({ due: 0, queued: 0, failed: 0, backlog: false, paused: true });
    expect(handled).toEqual([]);
    const next = await runRefreshJob({
      schedule: table.store,
      queue: queueInto(handled),
      clock: () => clock,
      lookbackDays: 7,
      maxPerRun: 10,
      log: quiet,
      paused: () => Promise.resolve(false),
    });
    expect(next).toMatchObject({ due: 2, queued: 2, paused: false });
  });

  it('with the real guard: the burst that declares the storm pauses the rest of the batch', async () => {
    const settings = { minTokens: 3, share: 0.1 };
    const storm = {
      paused: async () => (await table.store.getStormState()).status === 'storm',
      noteTrouble: (causes: Record<string, number>) =>
        noteTrouble({ store: table.store, settings, clock: () => clock, log: quiet }, causes),
    };
    const ids = ['burst-1', 'burst-2', 'burst-3', 'burst-4', 'burst-5'];
    for (const id of ids) await connect(id, 10);
    instagram.failNext('rejected-460', { operation: 'refresh', times: ids.length });
    const outcomes = [];
    for (const id of ids) {
      outcomes.push(await refreshAutomatically(deps({ storm }), { accountId: id, generation: 1 }));
    }
    expect(outcomes).toEqual(['rejected', 'rejected', 'rejected', 'paused', 'paused']);
    expect(refreshes()).toBe(3);
    expect(await table.store.getStormState()).toMatchObject({
      status: 'storm',
      trouble: { tokens: 3, causes: { 'password-changed': 3 } },
    });
    // The paused ones are untouched and still due; the refresh job does not queue them.
    for (const id of ['burst-4', 'burst-5']) {
      expect(await stored(id)).toMatchObject({ tokenStatus: 'active', generation: 1 });
    }
    expect(
      (await collect(table.store.tokensDueForRefresh(clock, 7))).map((r) => r.accountId).sort(),
    ).toEqual(['burst-4', 'burst-5']);
    expect(
      await runRefreshJob({
        schedule: table.store,
        queue: queueInto([]),
        clock: () => clock,
        lookbackDays: 7,
        maxPerRun: 10,
        log: quiet,
        paused: storm.paused,
      }),
    ).toMatchObject({ paused: true, queued: 0 });
  });
});
