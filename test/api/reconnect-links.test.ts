/**
 * Reconnect links, through the API as API Gateway runs it, on DynamoDB Local and the Instagram
 * stand-in: a developer makes a link, a client with no account opens it, consents on Instagram
 * and lands on the callback, which stores the next generation once.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { createDocumentClient } from '#platform/dynamodb';
import { createReconnectLinkStore, type ReconnectLinkStore } from '#tokens/reconnect-link-store';
import { linkState, type ReconnectLink } from '#tokens/reconnect-links';
import {
  app,
  captureOutput,
  linkRedirectUri,
  startApiEnvironment,
  type ApiEnvironment,
} from '../support/api-environment';

let env: ApiEnvironment;
let links: ReconnectLinkStore;
const output: string[] = [];
/** Every secret a link was made with: none may appear anywhere but in its create answer. */
const secrets: string[] = [];

beforeAll(async () => {
  env = await startApiEnvironment();
  links = createReconnectLinkStore(createDocumentClient(env.table.client), env.table.tableName);
  await env.table.store.putProfile({
    userId: 'u-dev',
    email: 'dana@studio.example',
    name: 'Dana <Studio>',
  });
});
afterAll(async () => {
  await env.stop();
});
beforeEach(() => {
  captureOutput(output);
  env.eventBridge.resetHistory();
});

const DAY = 86_400_000;
let serial = 0;

/** An expired account owned by `u-owner`, `u-dev` its developer; its token holds CANARY. */
async function account() {
  serial += 1;
  const accountId = `1784150${String(serial).padStart(10, '0')}`;
  const accessToken = `IGAA-CANARY-${accountId}`;
  const expiresAt = new Date(Date.now() - 2 * DAY).toISOString();
  await env.table.store.putAccount(
    {
      accountId,
      ownerUserId: 'u-owner',
      username: `client.${serial}`,
      accessToken,
      expiresAt,
      tokenStatus: 'expired',
    },
    new Date(Date.now() - 62 * DAY),
  );
  await env.table.store.putDeveloperRole({ accountId, userId: 'u-dev' }, new Date());
  return { accountId, username: `client.${serial}`, accessToken };
}

const as = async (user: string) => ({ token: await env.identity.token(user) });
const create = async (accountId: string, user = 'u-dev') =>
  env.api.call('POST', `/instagram-accounts/${accountId}/reconnect-links`, await as(user));
const list = async (accountId: string, user = 'u-dev') =>
  env.api.call('GET', `/instagram-accounts/${accountId}/reconnect-links`, await as(user));
const revoke = async (accountId: string, linkId: string, user = 'u-dev') =>
  env.api.call(
    'DELETE',
    `/instagram-accounts/${accountId}/reconnect-links/${linkId}`,
    await as(user),
  );

interface Created {
  linkId: string;
  url: string;
  expiresAt: string;
}
async function makeLink(accountId: string): Promise<Created> {
  const response = await create(accountId);
  expect(response.status).toBe(201);
  const created = response.json<Created>();
  secrets.push(new URL(created.url).searchParams.get('key') ?? '');
  return created;
}

/** Opens a link's URL (or any path on the API) the way a browser does. */
const open = (url: string) => {
  const parsed = new URL(url, 'https://api.tokenwatch.test');
  return env.api.call('GET', `${parsed.pathname}${parsed.search}`, {
    headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
  });
};

const authorizeUrlOf = (page: string) => {
  const match = /href="([^"]+)">Continue to Instagram/.exec(page);
  return match?.[1]?.replaceAll('&amp;', '&');
};

/**
 * The client on Instagram's consent page (the stand-in), logged in as `userId`: where
 * Instagram sends them back, as a path on the API (Instagram's `#_` dropped by the browser).
 */
async function consent(authorizeUrl: string, userId: string): Promise<string> {
  const params = new URL(authorizeUrl).searchParams;
  const response = await fetch(env.instagram.authorizeUrl, {
    method: 'POST',
    body: new URLSearchParams({ ...Object.fromEntries(params), user_id: userId }),
    redirect: 'manual',
  });
  expect(response.status).toBe(302);
  const back = new URL((response.headers.get('location') ?? '').replace(/#_$/, ''));
  expect(`${back.origin}${back.pathname}`).toBe(linkRedirectUri);
  return `${back.pathname}${back.search}`;
}

/** Opens the link and consents as `userId`: the callback path Instagram redirects to. */
async function throughInstagram(created: Created, userId: string): Promise<string> {
  const page = await open(created.url);
  expect(page.status).toBe(200);
  return consent(authorizeUrlOf(page.body) ?? '', userId);
}

const stored = (accountId: string) => env.table.store.getAccountWithToken(accountId);
const refreshedEvents = () =>
  env.eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .filter((entry) => entry.DetailType === 'Instagram Token Refreshed')
    .map((entry) => JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>);

function expectPageHeaders(response: { headers: Record<string, string> }) {
  expect(response.headers).toMatchObject({
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  });
  expect(response.headers['content-security-policy']).toContain("default-src 'none'");
}

describe('making, listing and revoking links', () => {
  it('makes a link for a developer: 201 with the URL holding a secret, expiring in 72 hours', async () => {
    const { accountId } = await account();
    const before = Date.now();
    const created = await makeLink(accountId);
    expect(created.linkId).toMatch(/^[\w-]{22}$/);
    const url = new URL(created.url);
    expect(`${url.origin}${url.pathname}`).toBe(
      `https://api.tokenwatch.test/reconnect/${accountId}/${created.linkId}`,
    );
    expect(url.searchParams.get('key')).toMatch(/^[\w-]{43}$/);
    const hours = (Date.parse(created.expiresAt) - before) / 3_600_000;
    expect(hours).toBeGreaterThan(71.9);
    expect(hours).toBeLessThan(72.1);
    // The owner may too.
    expect((await create(accountId, 'u-owner')).status).toBe(201);
  });

  it('never stores the secret: only its SHA-256, and the list shows neither', async () => {
    const { accountId } = await account();
    const created = await makeLink(accountId);
    const secret = new URL(created.url).searchParams.get('key') ?? '';
    expect(await env.table.itemsMentioning(secret)).toEqual([]);
    const link = await links.getReconnectLink(accountId, created.linkId);
    expect(link).toMatchObject({
      createdBy: 'u-dev',
      generation: 1,
      secretHash: createHash('sha256').update(secret).digest('hex'),
    });
    const listed = await list(accountId);
    expect(listed.status).toBe(200);
    expect(listed.json()).toEqual({
      links: [
        {
          linkId: created.linkId,
          createdBy: 'u-dev',
          createdAt: link?.createdAt,
          expiresAt: created.expiresAt,
          status: 'active',
        },
      ],
    });
    expect(listed.body).not.toContain(secret);
    expect(listed.body).not.toContain(link?.secretHash);
  });

  it('answers a stranger 404, byte for byte as for an account that does not exist', async () => {
    const { accountId } = await account();
    const created = await makeLink(accountId);
    const missing = await create('17849999999999999', 'u-stranger');
    for (const response of [
      await create(accountId, 'u-stranger'),
      await list(accountId, 'u-stranger'),
      await revoke(accountId, created.linkId, 'u-stranger'),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body).toBe(missing.body);
    }
    expect((await links.getReconnectLink(accountId, created.linkId))?.revokedAt).toBeUndefined();
  });

  it('revokes a link: 204, again 204, unknown 404; the list says revoked and the page no longer leads on', async () => {
    const { accountId } = await account();
    const created = await makeLink(accountId);
    expect((await revoke(accountId, created.linkId)).status).toBe(204);
    expect((await revoke(accountId, created.linkId, 'u-owner')).status).toBe(204);
    expect((await revoke(accountId, 'AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
    const listed = (await list(accountId)).json<{ links: { status: string }[] }>();
    expect(listed.links.map((link) => link.status)).toEqual(['revoked']);
    const page = await open(created.url);
    expect(page.status).toBe(410);
    expect(page.body).toContain('This link no longer works');
    expect(page.body).not.toContain('Continue to Instagram');
  });

  it('keeps at most 20 active links per account: the 21st is a 409 problem', async () => {
    const { accountId } = await account();
    for (let i = 0; i < 20; i += 1) await makeLink(accountId);
    const refused = await create(accountId);
    expect(refused.status).toBe(409);
    expect(refused.json()).toMatchObject({
      type: 'tag:tokenwatch,2026:problem/too-many-reconnect-links',
    });
    // A revoked link frees its place.
    const [first] = (await list(accountId)).json<{ links: { linkId: string }[] }>().links;
    expect((await revoke(accountId, first?.linkId ?? '')).status).toBe(204);
    await makeLink(accountId);
  });
});

describe("the link's page", () => {
  it('names the account and who asks, in plain words, and leads to Instagram with a state bound to the link', async () => {
    const { accountId, username } = await account();
    const created = await makeLink(accountId);
    const page = await open(created.url);
    expect(page.status).toBe(200);
    expectPageHeaders(page);
    expect(page.body).toContain(
      `Dana &lt;Studio&gt; asks you to reconnect your Instagram account @${username}`,
    );
    expect(page.body).toContain('Your password is never shared');
    expect(page.body).toContain('rel="noreferrer"');
    const authorize = new URL(authorizeUrlOf(page.body) ?? '');
    expect(`${authorize.origin}${authorize.pathname}`).toBe(env.instagram.authorizeUrl);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: app.appId,
      redirect_uri: linkRedirectUri,
      response_type: 'code',
    });
    expect(authorize.searchParams.get('state')).toMatch(
      new RegExp(`^${accountId}\\.${created.linkId}\\.[\\w-]{43}$`),
    );
    // Opening the page changes nothing.
    expect((await links.getReconnectLink(accountId, created.linkId))?.claimedUntil).toBeUndefined();
  });

  it('gives one and the same 404 page for a wrong key, an unknown link, a missing or damaged key', async () => {
    const { accountId } = await account();
    const created = await makeLink(accountId);
    const url = new URL(created.url);
    const wrongKey = new URL(url);
    wrongKey.searchParams.set('key', 'B'.repeat(43));
    const unknown = new URL(url);
    unknown.pathname = `/reconnect/${accountId}/${'C'.repeat(22)}`;
    const noKey = new URL(url);
    noKey.search = '';
    const damaged = new URL(url);
    damaged.searchParams.set('key', (url.searchParams.get('key') ?? '').slice(0, 30));
    const otherAccount = new URL(url);
    otherAccount.pathname = `/reconnect/17849999999999999/${created.linkId}`;
    const pages = await Promise.all(
      [wrongKey, unknown, noKey, damaged, otherAccount].map((u) => open(u.toString())),
    );
    for (const page of pages) {
      expect(page.status).toBe(404);
      expectPageHeaders(page);
      expect(page.body).toBe(pages[0]?.body);
    }
    expect(pages[0]?.body).toContain('This link does not work');
  });

  it('says a link expired, and whom to ask for a new one (410)', async () => {
    const { accountId } = await account();
    const created = await makeLink(accountId);
    const link = (await links.getReconnectLink(accountId, created.linkId)) as ReconnectLink;
    // The same link, made three days ago.
    const expired = {
      ...link,
      linkId: 'E'.repeat(22),
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    };
    await links.putReconnectLink(expired);
    const url = new URL(created.url);
    url.pathname = `/reconnect/${accountId}/${expired.linkId}`;
    const page = await open(url.toString());
    expect(page.status).toBe(410);
    expect(page.body).toContain('This link has expired');
    expect(page.body).toContain('ask Dana &lt;Studio&gt; for a new link');
  });
});

describe('reconnecting through a link', () => {
  it('stores the next generation by link:<linkId>, publishes it, uses the link up and says so', async () => {
    const { accountId, username, accessToken } = await account();
    const created = await makeLink(accountId);
    const callback = await throughInstagram(created, accountId);
    const done = await open(callback);
    expect(done.status).toBe(200);
    expectPageHeaders(done);
    expect(done.body).toContain(`@${username} is reconnected`);
    expect(done.body).toContain('You can close this page');

    const after = await stored(accountId);
    expect(after).toMatchObject({ generation: 2, tokenStatus: 'active' });
    expect(after?.accessToken).not.toBe(accessToken);
    expect(env.instagram.tokenInfo(after?.accessToken ?? '')).toMatchObject({ userId: accountId });
    expect(await links.currentTokenBy(accountId)).toBe(`link:${created.linkId}`);
    expect(refreshedEvents()).toEqual([
      { accountId, generation: 2, expiresAt: after?.expiresAt, by: `link:${created.linkId}` },
    ]);
    const link = await links.getReconnectLink(accountId, created.linkId);
    expect(link?.usedAt).toBeDefined();
    expect(link?.claimedUntil).toBeUndefined();
    const codeExchange = env.instagram.calls.filter((c) => c.operation === 'code-exchange').at(-1);
    expect(codeExchange?.params.redirect_uri).toBe(linkRedirectUri);

    // Used: the page, the list and the same redirect again say so, and nothing changes.
    const again = await open(created.url);
    expect(again.status).toBe(410);
    expect(again.body).toContain('This link was already used');
    expect((await open(callback)).status).toBe(410);
    expect((await list(accountId)).json<{ links: { status: string }[] }>().links[0]?.status).toBe(
      'used',
    );
    // Revoking a used link changes nothing.
    expect((await revoke(accountId, created.linkId)).status).toBe(204);
    expect((await links.getReconnectLink(accountId, created.linkId))?.revokedAt).toBeUndefined();
    expect((await stored(accountId))?.generation).toBe(2);
    expect(refreshedEvents()).toHaveLength(1);
  });

  it('stores nothing for another Instagram account, says to log out, and the link still works', async () => {
    const { accountId } = await account();
    const created = await makeLink(accountId);
    const wrong = await open(await throughInstagram(created, '17841499999999999'));
    expect(wrong.status).toBe(409);
    expect(wrong.body).toContain('That was another Instagram account');
    expect(wrong.body).toContain('Log out of Instagram');
    expect((await stored(accountId))?.generation).toBe(1);
    expect(refreshedEvents()).toEqual([]);
    expect(await links.getReconnectLink(accountId, created.linkId)).not.toHaveProperty('usedAt');

    const right = await open(await throughInstagram(created, accountId));
    expect(right.status).toBe(200);
    expect((await stored(accountId))?.generation).toBe(2);
  });

  it('says "that did not work" when Instagram refuses the code, and "nothing changed" when access was not allowed', async () => {
    const { accountId } = await account();
    const created = await makeLink(accountId);
    const callback = new URL(await throughInstagram(created, accountId), 'https://x.test');
    const state = callback.searchParams.get('state') ?? '';
    const rejected = await open(`/reconnect/callback?code=AQ-unknown-code&state=${state}`);
    expect(rejected.status).toBe(400);
    expect(rejected.body).toContain('That did not work');
    const declined = await open(
      `/reconnect/callback?error=access_denied&error_reason=user_denied&state=${state}`,
    );
    expect(declined.status).toBe(200);
    expect(declined.body).toContain('Nothing was changed');
    expect((await stored(accountId))?.generation).toBe(1);
    // The link is still usable: the very redirect Instagram made works.
    expect((await open(`${callback.pathname}${callback.search}`)).status).toBe(200);
  });

  it('gives exactly one success to two browsers using one link at once', async () => {
    const { accountId } = await account();
    const created = await makeLink(accountId);
    const [first, second] = await Promise.all([
      throughInstagram(created, accountId),
      throughInstagram(created, accountId),
    ]);
    const pages = await Promise.all([open(first), open(second)]);
    const statuses = pages.map((page) => page.status).sort();
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    const loser = pages.find((page) => page.status !== 200);
    expect([409, 410]).toContain(loser?.status);
    expect(loser?.body).toMatch(/being used right now|already used/);
    expect((await stored(accountId))?.generation).toBe(2);
    expect(refreshedEvents()).toHaveLength(1);
  });

  it('finishes a use that stored its token and crashed before marking the link: no second generation', async () => {
    const { accountId } = await account();
    const created = await makeLink(accountId);
    // The first attempt claimed the link, stored its token, and its function died.
    expect(await links.claimReconnectLink(accountId, created.linkId, 'crashed', new Date())).toBe(
      true,
    );
    await env.table.store.replaceToken(
      accountId,
      1,
      {
        accessToken: 'IGAA-from-the-crashed-attempt',
        expiresAt: new Date(Date.now() + 60 * DAY).toISOString(),
      },
      new Date(),
      `link:${created.linkId}`,
    );
    const exchangesBefore = env.instagram.calls.filter(
      (c) => c.operation === 'code-exchange',
    ).length;
    // The client tries again.
    const retry = await open(await throughInstagram(created, accountId));
    expect(retry.status).toBe(200);
    expect(retry.body).toContain('is reconnected');
    expect(await stored(accountId)).toMatchObject({
      generation: 2,
      accessToken: 'IGAA-from-the-crashed-attempt',
    });
    expect(env.instagram.calls.filter((c) => c.operation === 'code-exchange')).toHaveLength(
      exchangesBefore,
    );
    expect((await links.getReconnectLink(accountId, created.linkId))?.usedAt).toBeDefined();
  });

  it("refuses a forged state and another link's state, and changes nothing", async () => {
    const { accountId } = await account();
    const created = await makeLink(accountId);
    const other = await makeLink(accountId);
    const callback = new URL(await throughInstagram(created, accountId), 'https://x.test');
    const code = callback.searchParams.get('code') ?? '';
    const state = callback.searchParams.get('state') ?? '';
    const otherState = new URL(authorizeUrlOf((await open(other.url)).body) ?? '').searchParams.get(
      'state',
    );
    const link = (await links.getReconnectLink(accountId, created.linkId)) as ReconnectLink;
    const forged = [
      `${accountId}.${created.linkId}.${'A'.repeat(43)}`,
      // the other link's MAC on this link's id, and the reverse
      `${accountId}.${created.linkId}.${(otherState ?? '').split('.')[2] ?? ''}`,
      `${accountId}.${other.linkId}.${state.split('.')[2] ?? ''}`,
      // made with another app secret
      linkState(link, 'not-the-app-secret'),
      'not-a-state',
      `${accountId}.${created.linkId}`,
    ];
    for (const value of forged) {
      const page = await open(
        `/reconnect/callback?code=${code}&state=${encodeURIComponent(value)}`,
      );
      expect(page.status, value).toBe(404);
      expect(page.body).toContain('This link does not work');
    }
    expect((await stored(accountId))?.generation).toBe(1);
    expect(await links.getReconnectLink(accountId, created.linkId)).toEqual(link);
    expect(refreshedEvents()).toEqual([]);
    // The genuine redirect still works.
    expect((await open(`${callback.pathname}${callback.search}`)).status).toBe(200);
  });
});

describe('secrets', () => {
  it('no link secret, access token or app secret appeared in a log line, an event, or an answer but its own create', () => {
    const answers = env.api.responses
      .filter((response) => response.status !== 201)
      .map((response) => response.body + JSON.stringify(response.headers));
    const everything = [
      ...answers,
      output.join(''),
      JSON.stringify(
        env.eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input),
      ),
    ].join('\n');
    expect(output.join('')).toContain('Reconnect link used');
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('CANARY');
    expect(everything).not.toContain(app.appSecret);
    for (const token of env.instagram.issuedTokens()) expect(everything).not.toContain(token);
  });
});
