/**
 * A client finishing a reconnect link (GET /reconnect/callback, the real handler) while the
 * system works on the same token, at every step where the two can meet (issue #15):
 *
 * - the automatic refresh of that token, due (inside its last 14 days, over a day old), queued
 *   by the refresh job and run by the refresher core on the faulty DynamoDB client: the link
 *   finishing before the refresher reads the account, before its lease, after the lease and
 *   before Instagram is asked, after Instagram answered and before the write, after the write
 *   and before the announcement; and the other way round, the whole automatic refresh landing
 *   inside the link's use, while Instagram exchanges the client's code or makes it long-lived
 *   (a proxy in front of the Instagram stand-in holds that call while the refresh runs);
 * - the check and the notifier, for a token that expired or that Instagram rejected, at the same
 *   seven points as the reconnect of concurrency.test.ts.
 *
 * Every time: the client's page says reconnected; the client's token is the account's, active,
 * and Instagram accepts it; the generations are 2..G, each announced Refreshed exactly once, the
 * last by `link:<linkId>`; nobody is emailed about a token already replaced (but the one email
 * already on its way); and the link's creator gets exactly one `reconnected` email.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { createDocumentClient } from '#platform/dynamodb';
import { createInstagramClient } from '#platform/instagram';
import type { LogSink } from '#platform/observability';
import { createRateSlots, type RateSlots } from '#platform/rate-slots';
import { keys } from '#storage/keys';
import {
  refreshAutomatically,
  type AutoRefreshDependencies,
  type AutoRefreshOutcome,
} from '#tokens/auto-refresh';
import { createEventPublisher } from '#tokens/event-publisher';
import { DAY_MS } from '#tokens/lifecycle';
import type { RefreshRequest } from '#tokens/refresh-schedule';
import { runRefreshJob } from '#tokens/refresh-run';
import {
  app,
  linkRedirectUri,
  redirectUri,
  startApiEnvironment,
  type ApiEnvironment,
} from '../support/api-environment';
import { emailsTo, type StoredEmail } from '../support/pipeline-services';
import {
  FaultSchedule,
  invoke,
  reportFigure,
  withFaults,
  type Step,
} from '../support/reliability-faults';
import { captureQuietly } from '../support/reliability-output';
import {
  canaryPrefix,
  canaryToken,
  startFaultyPipeline,
  type FaultyPipeline,
  type Person,
  type PipelineRun,
} from '../support/reliability-pipeline';

let env: ApiEnvironment;
let pipeline: FaultyPipeline;
let proxy: InstagramProxy;
let pace: RateSlots;
let refresherEvents: EventBridgeClient;
const output: string[] = [];
const quiet: LogSink = { info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  env = await startApiEnvironment();
  pipeline = await startFaultyPipeline('tokenwatch-reliability-link-race', { table: env.table });
  // One real bus: the link's Token Refreshed (by link:) reaches the run's notification queue
  // through the link rule, as the check's Token Expired does through its own.
  env.eventBridge.restore();
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = pipeline.bus.endpoint;
  process.env.EVENT_BUS_NAME = pipeline.busName;
  // The handlers (loaded at their first request) reach Instagram through the proxy, which can
  // hold one of their calls while a competitor runs.
  proxy = await startInstagramProxy(env.instagram.endpoint);
  process.env.INSTAGRAM_GRAPH_URL = proxy.endpoint;
  process.env.INSTAGRAM_API_URL = proxy.endpoint;
  pace = createRateSlots({
    db: createDocumentClient(env.table.client),
    tableName: env.table.tableName,
    key: keys.refreshPace(),
    perSecond: 100,
  });
  refresherEvents = withFaults(new EventBridgeClient({ endpoint: pipeline.bus.endpoint }));
});
afterAll(async () => {
  refresherEvents.destroy();
  await proxy.stop();
  await pipeline.stop();
  await env.stop();
});
beforeEach(() => {
  captureQuietly(output);
});

// ---------------------------------------------------------------------------------------------

type HeldCall = 'code-exchange' | 'long-lived-exchange';

interface InstagramProxy {
  endpoint: string;
  /** The next call of this kind waits for `competitor` before it goes on to Instagram. */
  holdNext(call: HeldCall, competitor: () => Promise<unknown>): void;
  stop(): Promise<void>;
}

/** Forwards everything to the Instagram stand-in; a held call first waits for its competitor. */
async function startInstagramProxy(target: string): Promise<InstagramProxy> {
  const to = new URL(target);
  const held = new Map<HeldCall, () => Promise<unknown>>();
  const callOf = (method: string, path: string): HeldCall | undefined => {
    if (method === 'POST' && path === '/oauth/access_token') return 'code-exchange';
    if (method === 'GET' && path === '/access_token') return 'long-lived-exchange';
    return undefined;
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const call = callOf(req.method ?? 'GET', new URL(req.url ?? '/', to).pathname);
        const competitor = call === undefined ? undefined : held.get(call);
        if (call !== undefined && competitor) {
          held.delete(call);
          await competitor();
        }
        const forward = httpRequest(
          {
            host: to.hostname,
            port: to.port,
            path: req.url,
            method: req.method,
            headers: { ...req.headers, host: to.host },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forward.end(Buffer.concat(chunks));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    holdNext: (call, competitor) => held.set(call, competitor),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

let serial = 0;
const accountIdOf = () => {
  serial += 1;
  return `1784127${String(serial).padStart(10, '0')}`;
};

const refreshedEvents = (accountId: string) =>
  pipeline.bus.accepted
    .filter((event) => event['detail-type'] === 'Instagram Token Refreshed')
    .map((event) => event.detail as { accountId: string; generation: number; by: string })
    .filter((detail) => detail.accountId === accountId);

/** The creator's email that the client used the link (occasion `reconnected`). */
const isReconnected = (email: StoredEmail) => /^Your client reconnected/.test(email.subject);

/** Opens a URL (a link, or the callback Instagram redirects to) the way a browser does. */
const open = (url: string) => {
  const parsed = new URL(url, 'https://api.tokenwatch.test');
  return env.api.call('GET', `${parsed.pathname}${parsed.search}`, {
    headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
  });
};

/**
 * `creator` makes a link for the account; the client opens it and allows access on Instagram's
 * consent page (the stand-in) as the account's own Instagram user: the callback path Instagram
 * sends them back to, not yet opened.
 */
async function linkUpToTheCallback(accountId: string, creator: Person) {
  const made = await env.api.call('POST', `/instagram-accounts/${accountId}/reconnect-links`, {
    token: await env.identity.token(creator.userId),
  });
  expect(made.status).toBe(201);
  const { linkId, url } = made.json<{ linkId: string; url: string }>();
  const page = await open(url);
  expect(page.status).toBe(200);
  const authorizeUrl = (
    /href="([^"]+)">Continue to Instagram/.exec(page.body)?.[1] ?? ''
  ).replaceAll('&amp;', '&');
  const consent = await fetch(env.instagram.authorizeUrl, {
    method: 'POST',
    body: new URLSearchParams({
      ...Object.fromEntries(new URL(authorizeUrl).searchParams),
      user_id: accountId,
    }),
    redirect: 'manual',
  });
  expect(consent.status).toBe(302);
  const back = new URL((consent.headers.get('location') ?? '').replace(/#_$/, ''));
  expect(`${back.origin}${back.pathname}`).toBe(linkRedirectUri);
  return { linkId, callback: `${back.pathname}${back.search}` };
}

/** The client's browser landing on the callback: what the page said. */
interface LinkPage {
  status: number;
  reconnected: boolean;
}
const finishLink = async (callback: string, into: { page?: LinkPage }) => {
  const page = await open(callback);
  into.page = { status: page.status, reconnected: page.body.includes('is reconnected') };
};

/**
 * What must hold for the account and the link at the end, whoever won: answers the problems.
 * `generation`: the generation the account must end at.
 */
async function linkProblems(
  accountId: string,
  linkId: string,
  page: LinkPage | undefined,
  generation: number,
): Promise<string[]> {
  const problems: string[] = [];
  if (page?.status !== 200 || !page.reconnected) {
    problems.push(`the page said ${JSON.stringify(page)}`);
  }
  const stored = await env.table.store.getAccountWithToken(accountId);
  const info = env.instagram.tokenInfo(stored?.accessToken ?? '');
  if (
    stored?.tokenStatus !== 'active' ||
    info?.userId !== accountId ||
    info.revoked ||
    info.expiresAt.getTime() <= Date.now()
  ) {
    problems.push('lost: the stored token is not one Instagram accepts, or not active');
  }
  // The client's token is the account's: the last generation, stored by the link.
  if ((await env.table.store.currentTokenBy(accountId)) !== `link:${linkId}`) {
    problems.push(`the client's token is not the stored one (generation ${stored?.generation})`);
  }
  if (stored?.generation !== generation) {
    problems.push(`generation ${String(stored?.generation)}, not ${String(generation)}`);
  }
  const announced = refreshedEvents(accountId);
  const generations = announced.map((detail) => detail.generation).sort((a, b) => a - b);
  const expected = Array.from({ length: (stored?.generation ?? 1) - 1 }, (_, i) => i + 2);
  if (JSON.stringify(generations) !== JSON.stringify(expected)) {
    problems.push(`announced generations ${JSON.stringify(generations)}`);
  }
  const last = announced.find((detail) => detail.generation === stored?.generation);
  if (last?.by !== `link:${linkId}`) problems.push(`the last generation by ${String(last?.by)}`);
  if ((await env.table.store.getReconnectLink(accountId, linkId))?.usedAt === undefined) {
    problems.push('the link is not used up');
  }
  return problems;
}

/** Emails about the account's token, and the creator's `reconnected` ones. */
async function emailsOf(people: readonly Person[], creator: Person) {
  const emails = await emailsTo(people.map((person) => person.email));
  return {
    aboutTheToken: emails.filter((email) => !isReconnected(email)),
    reconnected: emails.filter(
      (email) => isReconnected(email) && email.destination.to.includes(creator.email),
    ),
    reconnectedToOthers: emails.filter(
      (email) => isReconnected(email) && !email.destination.to.includes(creator.email),
    ),
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * Where the link's use meets the automatic refresh. `step`: the refresher's DynamoDB or
 * EventBridge call the link's whole use runs before; `instagram`: the refresher's call to
 * Instagram; `held`: the link's own call to Instagram, which the whole automatic refresh runs
 * before. `generation`: where the account ends (2: the link's token replaced the first one;
 * 3: the refresh's did, then the link's replaced it).
 */
interface RefreshRacePoint {
  label: string;
  at: { step: Step; call: number } | { instagram: true } | { held: HeldCall };
  generation: number;
  /** what the refresher may answer */
  outcomes: readonly AutoRefreshOutcome[];
}

const refreshRacePoints: RefreshRacePoint[] = [
  {
    label: 'before the refresher reads the account',
    at: { step: 'read', call: 1 },
    generation: 2,
    outcomes: ['not-due'],
  },
  {
    label: 'after the refresher read, before its lease',
    at: { step: 'write', call: 1 },
    generation: 2,
    outcomes: ['busy'],
  },
  {
    label: 'after the lease, before Instagram is asked',
    at: { instagram: true },
    generation: 2,
    // Instagram issued a token the write then refuses: the link's stays.
    outcomes: ['refreshed'],
  },
  {
    label: 'after Instagram answered, before the write',
    at: { step: 'replace', call: 1 },
    generation: 2,
    outcomes: ['refreshed'],
  },
  {
    label: 'after the write, before Refreshed is published',
    at: { step: 'publish', call: 1 },
    generation: 3,
    outcomes: ['refreshed'],
  },
  {
    label: "while Instagram exchanges the client's code",
    at: { held: 'code-exchange' },
    generation: 3,
    outcomes: ['refreshed'],
  },
  {
    label: "while Instagram makes the client's token long-lived",
    at: { held: 'long-lived-exchange' },
    generation: 3,
    outcomes: ['refreshed'],
  },
];

/** The refresh job, as it runs: the request it queued for this account. */
async function queuedRefresh(accountId: string): Promise<RefreshRequest> {
  const queued: RefreshRequest[] = [];
  await runRefreshJob({
    schedule: env.table.store,
    queue: {
      send: (requests) => {
        queued.push(...requests);
        return Promise.resolve({ sent: [...requests], failed: [] });
      },
    },
    clock: () => new Date(),
    lookbackDays: 1,
    maxPerRun: 10_000,
    log: quiet,
  });
  const request = queued.find((entry) => entry.accountId === accountId);
  if (!request) throw new Error(`the refresh job did not queue ${accountId}`);
  return request;
}

/**
 * The refresher's dependencies: its DynamoDB and EventBridge calls on the faulty clients (so a
 * schedule can place a race at them), the pace on a plain one, Instagram's stand-in directly
 * (not through the proxy), with `beforeInstagram` run, once, before its refresh call.
 */
function refresherDeps(race: {
  beforeInstagram?: () => Promise<unknown>;
}): AutoRefreshDependencies {
  const instagram = createInstagramClient(
    {
      graphUrl: env.instagram.endpoint,
      apiUrl: env.instagram.endpoint,
      authorizeUrl: env.instagram.authorizeUrl,
      redirectUri,
      appSecretId: 'unused',
    },
    { credentials: () => Promise.resolve(app) },
  );
  const publisher = createEventPublisher({
    client: refresherEvents,
    busName: pipeline.busName,
    sleep: () => Promise.resolve(),
    maxAttempts: 3,
  });
  return {
    store: pipeline.store,
    instagram: {
      ...instagram,
      refreshToken: async (token) => {
        const competitor = race.beforeInstagram;
        race.beforeInstagram = undefined;
        if (competitor) await competitor();
        return instagram.refreshToken(token);
      },
    },
    publishRefreshed: (detail) => publisher.publishTokenRefreshed(detail),
    now: () => new Date(),
    pace,
    log: quiet,
  };
}

let runId = 0;
const newRun = () => {
  runId += 1;
  return pipeline.newRun(runId, { schedule: new FaultSchedule(), copies: () => 1 });
};

async function raceTheRefresh(point: RefreshRacePoint, creatorIsOwner: boolean) {
  const run = newRun();
  const owner = await pipeline.person(run, 'refreshed-owner');
  const developer = await pipeline.person(run, 'refreshed-dev', {
    ownerExpiredToken: true,
    developerExpiredToken: true,
  });
  const creator = creatorIsOwner ? owner : developer;
  const accountId = accountIdOf();
  pipeline.track(run, accountId);
  // Due for its automatic refresh: ten days left, fifty days old.
  const now = new Date();
  const accessToken = canaryToken();
  const expiresAt = new Date(now.getTime() + 10 * DAY_MS).toISOString();
  await env.table.store.putAccount(
    {
      accountId,
      ownerUserId: owner.userId,
      username: `refreshing.${String(run.id)}`,
      accessToken,
      expiresAt,
      issuedAt: new Date(now.getTime() - 50 * DAY_MS).toISOString(),
    },
    now,
  );
  await env.table.store.putDeveloperRole({ accountId, userId: developer.userId }, now);
  env.instagram.addToken(accessToken, { userId: accountId, expiresAt });
  const { linkId, callback } = await linkUpToTheCallback(accountId, creator);
  const request = await queuedRefresh(accountId);

  const into: { page?: LinkPage } = {};
  const fired: string[] = [];
  const schedule = new FaultSchedule();
  const race: { beforeInstagram?: () => Promise<unknown> } = {};
  const deps = refresherDeps(race);
  const link = () => {
    fired.push(point.label);
    return finishLink(callback, into);
  };
  let outcome: AutoRefreshOutcome | undefined;
  let failure: unknown;
  const refresh = async () => {
    const done = await invoke(schedule, () => refreshAutomatically(deps, request));
    outcome = done.result;
    failure = done.error;
  };
  if ('step' in point.at) {
    schedule.add(point.at.step, point.at.call, point.label, () => ({
      kind: 'race',
      competitor: link,
    }));
    await refresh();
  } else if ('instagram' in point.at) {
    race.beforeInstagram = link;
    await refresh();
  } else {
    proxy.holdNext(point.at.held, async () => {
      fired.push(point.label);
      await refresh();
    });
    await finishLink(callback, into);
  }
  await run.queue.drained();
  run.queue.stop();
  if (failure !== undefined) {
    throw failure instanceof Error
      ? failure
      : new Error(`the refresher failed: ${JSON.stringify(failure)}`);
  }

  const problems = await linkProblems(accountId, linkId, into.page, point.generation);
  // The competitor ran once, at the point (for a step: the schedule's race fired there).
  if (JSON.stringify(fired) !== JSON.stringify([point.label])) {
    problems.push(`the race fired at ${JSON.stringify(fired)}`);
  }
  if (!outcome || !point.outcomes.includes(outcome)) {
    problems.push(`the refresher answered ${String(outcome)}`);
  }
  const emails = await emailsOf([owner, developer], creator);
  if (emails.aboutTheToken.length > 0) problems.push('an email about a token that was replaced');
  if (emails.reconnected.length !== 1) {
    problems.push(`${String(emails.reconnected.length)} reconnected emails to the creator`);
  }
  if (emails.reconnectedToOthers.length > 0) problems.push('a reconnected email to another');
  const label = `${point.label}${creatorIsOwner ? ' (owner made the link)' : ''}`;
  return {
    problems: problems.map((problem) => `${label}: ${problem}`),
    outcome: outcome ?? 'none',
    generation: (await env.table.store.getAccount(accountId))?.generation ?? 0,
    reconnectedEmails: emails.reconnected.length,
  };
}

describe('a reconnect through a link racing the automatic refresh of the same token', () => {
  it("stores the client's token as the next generation at every step, announced once, and tells the link's creator once", async () => {
    const results = [];
    for (const point of refreshRacePoints) {
      for (const creatorIsOwner of [false, true]) {
        results.push(await raceTheRefresh(point, creatorIsOwner));
      }
    }
    const problems = results.flatMap((result) => result.problems);
    const outcomes = new Map<string, number>();
    for (const { outcome } of results) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    reportFigure('reconnect-link-race refresh', {
      'race-points': refreshRacePoints.length,
      runs: results.length,
      'link-stored-second': results.filter((result) => result.generation === 3).length,
      'lost-tokens': problems.filter((problem) => problem.includes('lost')).length,
      'client-token-not-stored': problems.filter((problem) =>
        problem.includes('is not the stored one'),
      ).length,
      'creator-reconnected-emails': results.reduce((sum, r) => sum + r.reconnectedEmails, 0),
      ...Object.fromEntries([...outcomes].map(([outcome, n]) => [`refresher-${outcome}`, n])),
      problems: problems.length,
    });
    expect(problems).toEqual([]);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------

/** The points of concurrency.test.ts's reconnect race: the check's and the notifier's calls. */
const pipelineRacePoints: { label: string; step: Step; call: number; emailsAtMost: number }[] = [
  { label: 'before the check reads the index', step: 'due-query', call: 1, emailsAtMost: 0 },
  { label: 'after the check read, before the publish', step: 'publish', call: 1, emailsAtMost: 0 },
  { label: 'after the publish, before the mark', step: 'mark', call: 1, emailsAtMost: 0 },
  { label: 'before the notifier reads the account', step: 'read', call: 1, emailsAtMost: 0 },
  { label: 'after the notifier read, before the claim', step: 'claim', call: 1, emailsAtMost: 0 },
  // Too late to stop the email already on its way; every later recipient must hear nothing.
  { label: 'while the first email is being sent', step: 'send', call: 1, emailsAtMost: 1 },
  { label: 'after the first send, before its record', step: 'record', call: 1, emailsAtMost: 1 },
];

async function lostAccount(
  run: PipelineRun,
  owner: Person,
  how: 'expired' | 'rejected',
): Promise<string> {
  const accountId = accountIdOf();
  pipeline.track(run, accountId);
  const expiresAt =
    how === 'expired'
      ? new Date(run.base.getTime() - 3_600_000)
      : new Date(run.base.getTime() + 20 * DAY_MS);
  await env.table.store.putAccount(
    {
      accountId,
      ownerUserId: owner.userId,
      username: `lost.${String(run.id)}`,
      accessToken: canaryToken(),
      expiresAt: expiresAt.toISOString(),
    },
    run.base,
  );
  if (how === 'rejected') {
    // Instagram refused its refresh: invalid, filed for the run's check (auto-refresh.ts).
    await env.table.store.markTokenDueAsInvalid(accountId, 1, run.base, 'password-changed');
  }
  return accountId;
}

describe('a reconnect through a link racing the check and the notifier', () => {
  it("leaves the client's token in place, sends no email for the token it replaced, and tells the creator once", async () => {
    const rows: string[] = [];
    const problems: string[] = [];
    let violations = 0;
    let runs = 0;
    for (const point of pipelineRacePoints) {
      for (const how of ['expired', 'rejected'] as const) {
        for (const withDeveloper of [false, true]) {
          runs += 1;
          const schedule = new FaultSchedule();
          runId += 1;
          const run = pipeline.newRun(runId, { schedule, copies: () => 1 });
          const owner = await pipeline.person(run, 'linked-owner');
          const developer = await pipeline.person(run, 'linked-dev', {
            ownerExpiredToken: true,
            developerExpiredToken: true,
          });
          const accountId = await lostAccount(run, owner, how);
          if (withDeveloper) {
            await env.table.store.putDeveloperRole(
              { accountId, userId: developer.userId },
              run.base,
            );
          }
          // The developer made the link when there is one, else the owner.
          const creator = withDeveloper ? developer : owner;
          const { linkId, callback } = await linkUpToTheCallback(accountId, creator);
          const into: { page?: LinkPage } = {};
          schedule.add(point.step, point.call, point.label, () => ({
            kind: 'race',
            competitor: () => finishLink(callback, into),
          }));

          await pipeline.settle(run);

          const label = `${point.label} (${how}${withDeveloper ? ', +developer' : ''})`;
          const found = await linkProblems(accountId, linkId, into.page, 2);
          if (JSON.stringify(schedule.fired) !== JSON.stringify([point.label])) {
            found.push(`the race fired at ${JSON.stringify(schedule.fired)}`);
          }
          const emails = await emailsOf([owner, developer], creator);
          rows.push(`${label}: ${String(emails.aboutTheToken.length)}`);
          if (emails.aboutTheToken.length > point.emailsAtMost) {
            violations += 1;
            found.push(`${String(emails.aboutTheToken.length)} emails for the replaced token`);
          }
          if (emails.reconnected.length !== 1) {
            found.push(`${String(emails.reconnected.length)} reconnected emails to the creator`);
          }
          if (emails.reconnectedToOthers.length > 0) found.push('a reconnected email to another');
          problems.push(...found.map((problem) => `${label}: ${problem}`));
        }
      }
    }
    reportFigure('reconnect-link-race pipeline', {
      'race-points': pipelineRacePoints.length,
      runs,
      'emails-for-replaced-tokens': violations,
      'emails-in-the-allowance': rows
        .map((row) => Number(row.split(': ')[1]))
        .reduce((sum, n) => sum + n, 0),
      'lost-tokens': problems.filter((problem) => problem.includes('lost')).length,
      problems: problems.length,
    });
    expect(problems).toEqual([]);
  }, 180_000);

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
    reportFigure('secrets reconnect-link-race', {
      responses: env.api.responses.length,
      'instagram-issued-tokens-checked': issued.length,
      'canary-hits': hits,
    });
    expect(hits).toBe(0);
  });
});
