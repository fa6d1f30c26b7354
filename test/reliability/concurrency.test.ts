/**
 * Concurrency. Refreshes and reconnects of one account at once, through the API and the
 * Instagram stand-in; a reconnect landing at each step of the check and of the notifier; and
 * the same event delivered to three notifiers at once. No token is lost (the stored one is one
 * Instagram issued for that account, and every generation was announced exactly once), and no
 * email goes out for a token that had already been replaced when the notifier decided to send.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eventEnvelope } from '../../local/eventbridge';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { createSesMailer } from '#platform/ses';
import { createEmailRenderer } from '#notifications/emails';
import { notifyFromQueue } from '#notifications/queue-batch';
import { type NotifierDependencies } from '#notifications/notify';
import { redirectUri, startApiEnvironment, type ApiEnvironment } from '../support/api-environment';
import { emailsTo } from '../support/pipeline-services';
import {
  FaultSchedule,
  reportFigure,
  seededRandom,
  type Step,
} from '../support/reliability-faults';
import { captureQuietly } from '../support/reliability-output';
import {
  canaryPrefix,
  canaryToken,
  startFaultyPipeline,
  type FaultyPipeline,
} from '../support/reliability-pipeline';

const seed = 424_242;
let env: ApiEnvironment;
let pipeline: FaultyPipeline;
const output: string[] = [];

beforeAll(async () => {
  env = await startApiEnvironment();
  pipeline = await startFaultyPipeline('tokenwatch-reliability-concurrency', { table: env.table });
  // One real bus for everything here: the API's Token Refreshed events and the check's
  // Token Expired events both go to the local EventBridge, not to a mock.
  env.eventBridge.restore();
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = pipeline.bus.endpoint;
  process.env.EVENT_BUS_NAME = pipeline.busName;
});
afterAll(async () => {
  await pipeline.stop();
  await env.stop();
});
beforeEach(() => {
  captureQuietly(output);
});

let serial = 0;
const accountIdOf = () => {
  serial += 1;
  return `1784126${String(serial).padStart(10, '0')}`;
};

const refreshedEvents = (accountId: string) =>
  pipeline.bus.accepted
    .filter((event) => event['detail-type'] === 'Instagram Token Refreshed')
    .map((event) => event.detail as { accountId: string; generation: number })
    .filter((detail) => detail.accountId === accountId);

/** The stored token is one Instagram issued for this account and still accepts. */
async function tokenIsAlive(accountId: string): Promise<boolean> {
  const stored = await env.table.store.getAccountWithToken(accountId);
  const info = env.instagram.tokenInfo(stored?.accessToken ?? '');
  return (
    info !== undefined &&
    info.userId === accountId &&
    !info.revoked &&
    info.expiresAt.getTime() > Date.now()
  );
}

describe('refreshes and reconnects of one account at once', () => {
  it('never lose a token: one generation per stored token, each announced once, the last one alive', async () => {
    const rand = seededRandom(seed);
    const accounts = 20;
    let operations = 0;
    let lostTokens = 0;
    let generationGaps = 0;
    const statuses = new Map<number, number>();
    for (let n = 0; n < accounts; n += 1) {
      const accountId = accountIdOf();
      const expiresAt = new Date(Date.now() + 20 * 86_400_000).toISOString();
      const accessToken = canaryToken();
      await env.table.store.putAccount(
        { accountId, ownerUserId: 'u-race-owner', username: `race.${n}`, accessToken, expiresAt },
        new Date(Date.now() - 40 * 86_400_000),
      );
      await env.table.store.putDeveloperRole({ accountId, userId: 'u-race-dev' }, new Date());
      env.instagram.addToken(accessToken, { userId: accountId, expiresAt });
      const [owner, developer] = await Promise.all([
        env.identity.token('u-race-owner'),
        env.identity.token('u-race-dev'),
      ]);
      const calls = Array.from({ length: rand.int(3, 6) }, () => {
        const as = rand.chance(0.5) ? owner : developer;
        if (rand.chance(0.5)) {
          return () =>
            env.api.call('POST', `/instagram-accounts/${accountId}/token/refresh`, { token: as });
        }
        const code = `AQ-race-${randomUUID()}`;
        env.instagram.registerCode(code, accountId);
        return () =>
          env.api.call('POST', `/instagram-accounts/${accountId}/token`, {
            token: as,
            body: { code, redirectUri },
          });
      });
      operations += calls.length;
      const responses = await Promise.all(calls.map((call) => call()));
      for (const response of responses) {
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }

      const stored = await env.table.store.getAccount(accountId);
      const announced = refreshedEvents(accountId)
        .map((detail) => detail.generation)
        .sort((a, b) => a - b);
      const generation = stored?.generation ?? 0;
      // Generations 2..G, each stored by exactly one write and announced by exactly one event.
      const expected = Array.from({ length: generation - 1 }, (_, i) => i + 2);
      if (JSON.stringify(announced) !== JSON.stringify(expected)) generationGaps += 1;
      if (!(await tokenIsAlive(accountId))) lostTokens += 1;
      for (const response of responses) {
        if (response.status === 200) {
          expect(response.json()).toMatchObject({ accountId, tokenStatus: 'active' });
        }
      }
    }
    reportFigure('concurrency refresh-reconnect', {
      accounts,
      'concurrent-operations': operations,
      'lost-tokens': lostTokens,
      'generations-not-announced-exactly-once': generationGaps,
      ...Object.fromEntries([...statuses].map(([status, n]) => [`status-${status}`, n])),
    });
    expect(lostTokens).toBe(0);
    expect(generationGaps).toBe(0);
    expect([...statuses.keys()].filter((status) => status >= 500)).toEqual([]);
  });
});

describe('a burst of refreshes of one account', () => {
  it('calls Instagram once: the first refresh holds the lease, the others answer with its token', async () => {
    const burst = 50;
    const accountId = accountIdOf();
    const expiresAt = new Date(Date.now() + 20 * 86_400_000).toISOString();
    const accessToken = canaryToken();
    await env.table.store.putAccount(
      { accountId, ownerUserId: 'u-burst-owner', username: 'burst.shop', accessToken, expiresAt },
      new Date(Date.now() - 40 * 86_400_000),
    );
    await env.table.store.putDeveloperRole({ accountId, userId: 'u-burst-dev' }, new Date());
    env.instagram.addToken(accessToken, { userId: accountId, expiresAt });
    const [owner, developer] = await Promise.all([
      env.identity.token('u-burst-owner'),
      env.identity.token('u-burst-dev'),
    ]);
    const refreshesBefore = env.instagram.calls.filter((c) => c.operation === 'refresh').length;

    const responses = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        env.api.call('POST', `/instagram-accounts/${accountId}/token/refresh`, {
          token: i % 2 === 0 ? owner : developer,
        }),
      ),
    );

    const instagramCalls =
      env.instagram.calls.filter((c) => c.operation === 'refresh').length - refreshesBefore;
    const stored = await env.table.store.getAccount(accountId);
    const answered = new Set(responses.map((response) => JSON.stringify(response.json())));
    reportFigure('concurrency refresh-burst', {
      'concurrent-refreshes': burst,
      'instagram-calls': instagramCalls,
      generations: (stored?.generation ?? 0) - 1,
      'distinct-answers': answered.size,
    });
    expect(responses.map((response) => response.status)).toEqual(Array(burst).fill(200));
    expect(instagramCalls).toBe(1);
    expect(stored?.generation).toBe(2);
    // Everyone is told the same, new state: the losers waited for the winner's token.
    expect([...answered]).toEqual([
      JSON.stringify({ accountId, tokenStatus: 'active', expiresAt: stored?.expiresAt }),
    ]);
    expect(refreshedEvents(accountId).map((detail) => detail.generation)).toEqual([2]);
    expect(await tokenIsAlive(accountId)).toBe(true);
  });
});

describe('a burst of refreshes of a token Instagram no longer accepts', () => {
  it('asks Instagram once, and every caller hears that the account must be authorized again', async () => {
    const burst = 20;
    const accountId = accountIdOf();
    const expiresAt = new Date(Date.now() + 20 * 86_400_000).toISOString();
    const accessToken = canaryToken();
    await env.table.store.putAccount(
      { accountId, ownerUserId: 'u-dead-owner', username: 'dead.shop', accessToken, expiresAt },
      new Date(Date.now() - 40 * 86_400_000),
    );
    env.instagram.addToken(accessToken, { userId: accountId, expiresAt });
    env.instagram.revokeToken(accessToken);
    const owner = await env.identity.token('u-dead-owner');
    const refreshesBefore = env.instagram.calls.filter((c) => c.operation === 'refresh').length;

    const responses = await Promise.all(
      Array.from({ length: burst }, () =>
        env.api.call('POST', `/instagram-accounts/${accountId}/token/refresh`, { token: owner }),
      ),
    );

    const instagramCalls =
      env.instagram.calls.filter((c) => c.operation === 'refresh').length - refreshesBefore;
    reportFigure('concurrency refresh-burst-rejected', {
      'concurrent-refreshes': burst,
      'instagram-calls': instagramCalls,
      'status-409': responses.filter((response) => response.status === 409).length,
    });
    expect(responses.map((response) => response.status)).toEqual(Array(burst).fill(409));
    expect(instagramCalls).toBe(1);
    expect((await env.table.store.getAccount(accountId))?.tokenStatus).toBe('invalid');
  });
});

const racePoints: { label: string; step: Step; call: number; emailsAtMost: number }[] = [
  { label: 'before the check reads the index', step: 'due-query', call: 1, emailsAtMost: 0 },
  { label: 'after the check read, before the publish', step: 'publish', call: 1, emailsAtMost: 0 },
  { label: 'after the publish, before the mark', step: 'mark', call: 1, emailsAtMost: 0 },
  { label: 'before the notifier reads the account', step: 'read', call: 1, emailsAtMost: 0 },
  { label: 'after the notifier read, before the claim', step: 'claim', call: 1, emailsAtMost: 0 },
  // Too late to stop the email already on its way; every later recipient must hear nothing.
  { label: 'while the first email is being sent', step: 'send', call: 1, emailsAtMost: 1 },
  { label: 'after the first send, before its record', step: 'record', call: 1, emailsAtMost: 1 },
];

describe('a reconnect racing the check and the notifier', () => {
  it('leaves the new token in place and sends no email for the token it replaced', async () => {
    const rows: string[] = [];
    let runId = 0;
    let violations = 0;
    let lost = 0;
    for (const point of racePoints) {
      for (const withDeveloper of [false, true]) {
        runId += 1;
        const schedule = new FaultSchedule();
        const run = pipeline.newRun(runId, { schedule, copies: () => 1 });
        const owner = await pipeline.person(run, 'race-owner');
        const developer = await pipeline.person(run, 'race-dev', {
          ownerExpiredToken: true,
          developerExpiredToken: true,
        });
        const accountId = accountIdOf();
        pipeline.track(run, accountId);
        await env.table.store.putAccount(
          {
            accountId,
            ownerUserId: owner.userId,
            username: `racing.${runId}`,
            accessToken: canaryToken(),
            expiresAt: new Date(run.base.getTime() - 3_600_000).toISOString(),
          },
          run.base,
        );
        if (withDeveloper) {
          await env.table.store.putDeveloperRole({ accountId, userId: developer.userId }, run.base);
        }
        const code = `AQ-racing-${randomUUID()}`;
        env.instagram.registerCode(code, accountId);
        const ownerJwt = await env.identity.token(owner.userId);
        let reconnectStatus = 0;
        schedule.add(point.step, point.call, point.label, () => ({
          kind: 'race',
          competitor: async () => {
            const response = await env.api.call('POST', `/instagram-accounts/${accountId}/token`, {
              token: ownerJwt,
              body: { code, redirectUri },
            });
            reconnectStatus = response.status;
          },
        }));

        await pipeline.settle(run);

        const emails = await emailsTo([owner.email, developer.email]);
        const stored = await env.table.store.getAccount(accountId);
        const alive = await tokenIsAlive(accountId);
        rows.push(`${point.label}${withDeveloper ? ' (+developer)' : ''}: ${emails.length}`);
        expect(schedule.fired, point.label).toEqual([point.label]);
        expect(reconnectStatus, point.label).toBe(200);
        if (!alive || stored?.generation !== 2 || stored.tokenStatus !== 'active') lost += 1;
        if (emails.length > point.emailsAtMost) violations += 1;
      }
    }
    reportFigure('concurrency reconnect-vs-pipeline', {
      'race-points': racePoints.length,
      runs: runId,
      'emails-for-replaced-tokens': violations,
      'lost-tokens': lost,
    });
    expect(
      rows.filter((row, index) => {
        const point = racePoints[Math.floor(index / 2)];
        return Number(row.split(': ')[1]) > (point?.emailsAtMost ?? 0);
      }),
    ).toEqual([]);
    expect(lost).toBe(0);
  });
});

describe('one event delivered to three notifiers at once', () => {
  it('sends each recipient one email, and the retries find it sent', async () => {
    const renderer = createEmailRenderer();
    const mailer = createSesMailer({
      client: new SESv2Client({ maxAttempts: 1 }),
      from: 'notifications@tokenwatch.test',
      sleep: () => Promise.resolve(),
    });
    const now = new Date();
    const deps: NotifierDependencies = {
      store: env.table.store,
      mailer,
      renderer,
      appUrl: 'https://app.tokenwatch.test',
      unsubscribeUrl: 'https://api.tokenwatch.test/unsubscribe',
      unsubscribeKey: () => Promise.resolve('k'.repeat(40)),
      clock: () => now,
      leaseSeconds: 120,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    };
    let duplicates = 0;
    let lost = 0;
    const rounds = 15;
    for (let round = 0; round < rounds; round += 1) {
      const run = pipeline.newRun(1000 + round, { schedule: new FaultSchedule(), copies: () => 1 });
      run.queue.stop();
      const owner = await pipeline.person(run, 'concurrent-owner');
      const developer = await pipeline.person(run, 'concurrent-dev', {
        ownerExpiredToken: true,
        developerExpiredToken: true,
      });
      const accountId = accountIdOf();
      const expiresAt = new Date(now.getTime() - 3_600_000).toISOString();
      await env.table.store.putAccount(
        {
          accountId,
          ownerUserId: owner.userId,
          username: `concurrent.${round}`,
          accessToken: canaryToken(),
          expiresAt,
          tokenStatus: 'expired',
        },
        now,
      );
      await env.table.store.putDeveloperRole({ accountId, userId: developer.userId }, now);
      const body = JSON.stringify(
        eventEnvelope({
          detailType: 'Instagram Token Expired',
          source: 'tokenwatch',
          detail: { accountId, generation: 1, expiresAt, reason: 'expired' },
          time: now,
        }),
      );
      const copies = [1, 2, 3].map(() => ({ messageId: randomUUID(), body }));
      const results = await Promise.all(copies.map((copy) => notifyFromQueue([copy], deps)));
      // Those that found a claim in progress asked for a retry; the retry comes after the lease.
      const retried = results.some((result) => result.batchItemFailures.length > 0);
      if (retried) {
        await notifyFromQueue([copies[0] ?? { messageId: 'x', body }], {
          ...deps,
          clock: () => new Date(now.getTime() + 300_000),
        });
      }
      for (const person of [owner, developer]) {
        const received = (await emailsTo([person.email])).length;
        if (received === 0) lost += 1;
        if (received > 1) duplicates += received - 1;
      }
    }
    reportFigure('concurrency same-event', {
      rounds,
      'concurrent-notifiers': 3,
      recipients: rounds * 2,
      lost,
      duplicates,
    });
    expect({ lost, duplicates }).toEqual({ lost: 0, duplicates: 0 });
  });

  it('never put an access token in an answer, an email, an event or a log line', () => {
    const scanned = [
      ...env.api.responses.map((response) => response.body),
      JSON.stringify(pipeline.sent),
      JSON.stringify(pipeline.bus.accepted),
      JSON.stringify(pipeline.log.lines),
      output.join(''),
    ].join('\n');
    const issued = env.instagram.issuedTokens();
    const hits =
      scanned.split(canaryPrefix).length -
      1 +
      issued.filter((token) => scanned.includes(token)).length;
    reportFigure('secrets concurrency', {
      responses: env.api.responses.length,
      'instagram-issued-tokens-checked': issued.length,
      'canary-hits': hits,
    });
    expect(hits).toBe(0);
  });
});
