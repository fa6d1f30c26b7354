/**
 * The Instagram stand-in on its own, read through the real Instagram client: what becomes of a
 * token after a refresh (it lives on, as on Instagram, unless `rotateOnRefresh`), lasting refresh
 * outcomes, and the arrival time of every call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createInstagramClient, InstagramError, type InstagramClient } from '#platform/instagram';
import { startInstagramStandIn, type InstagramStandIn } from '../../local/standins/instagram';

const DAY = 86_400_000;
let standIn: InstagramStandIn | undefined;

async function start(options: Parameters<typeof startInstagramStandIn>[0] = {}) {
  standIn = await startInstagramStandIn({ acceptUnknownTokens: false, ...options });
  const client = createInstagramClient(
    {
      graphUrl: standIn.endpoint,
      apiUrl: standIn.endpoint,
      authorizeUrl: standIn.authorizeUrl,
      redirectUri: 'http://localhost/callback',
      appSecretId: 'unused',
    },
    { credentials: () => Promise.resolve({ appId: '1', appSecret: 'secret' }) },
  );
  standIn.addToken('IGAA-first', {
    userId: '17841400000000001',
    expiresAt: new Date(Date.now() + 30 * DAY),
  });
  return { standIn, client };
}
afterEach(async () => {
  await standIn?.stop();
  standIn = undefined;
});

const rejection = (client: InstagramClient, token: string) =>
  client.refreshToken(token).then(
    () => undefined,
    (error: unknown) => (error instanceof InstagramError ? error : undefined),
  );

describe('the token a refresh replaced', () => {
  it('stays valid until its own expiry, as on Instagram (the default)', async () => {
    const { client } = await start();
    const next = await client.refreshToken('IGAA-first');
    expect(next.accessToken).not.toBe('IGAA-first');
    // Both refresh: the old one was not revoked.
    await expect(client.refreshToken('IGAA-first')).resolves.toMatchObject({
      expiresInSeconds: 60 * 86_400,
    });
    await expect(client.refreshToken(next.accessToken)).resolves.toBeDefined();
  });

  it('is refused from then on with rotateOnRefresh, as 190/467, while the new one works', async () => {
    const { standIn, client } = await start({ rotateOnRefresh: true });
    const next = await client.refreshToken('IGAA-first');
    const error = await rejection(client, 'IGAA-first');
    expect(error).toMatchObject({
      failure: 'token-rejected',
      details: { status: 400, code: 190, subcode: 467 },
    });
    expect(standIn.tokenInfo('IGAA-first')).toMatchObject({ revoked: true, rotated: true });
    expect(standIn.tokenInfo(next.accessToken)).toMatchObject({ revoked: false });
    // The new token's own refresh retires it in turn.
    const third = await client.refreshToken(next.accessToken);
    expect((await rejection(client, next.accessToken))?.details.subcode).toBe(467);
    await expect(client.refreshToken(third.accessToken)).resolves.toBeDefined();
  });

  it('is not revoked by a refresh that failed, even with rotateOnRefresh', async () => {
    const { standIn, client } = await start({ rotateOnRefresh: true });
    standIn.failNext('server-error');
    expect((await rejection(client, 'IGAA-first'))?.failure).toBe('unavailable');
    await expect(client.refreshToken('IGAA-first')).resolves.toBeDefined();
  });
});

describe('a lasting refresh outcome', () => {
  it('answers every refresh of that token, until set back to ok', async () => {
    const { standIn, client } = await start();
    standIn.setRefreshOutcome('IGAA-first', 'checkpoint');
    expect(standIn.refreshOutcome('IGAA-first')).toBe('checkpoint');
    for (let i = 0; i < 3; i += 1) {
      expect((await rejection(client, 'IGAA-first'))?.details).toMatchObject({
        code: 190,
        subcode: 459,
      });
    }
    standIn.setRefreshOutcome('IGAA-first', 'ok');
    await expect(client.refreshToken('IGAA-first')).resolves.toBeDefined();
  });

  it('is not inherited by the token a successful refresh issues', async () => {
    const { standIn, client } = await start();
    const next = await client.refreshToken('IGAA-first');
    standIn.setRefreshOutcome('IGAA-first', 'password-changed');
    standIn.setRefreshOutcome(next.accessToken, 'ok');
    const third = await client.refreshToken(next.accessToken);
    expect(standIn.refreshOutcome(third.accessToken)).toBe('ok');
    await expect(client.refreshToken(third.accessToken)).resolves.toBeDefined();
    expect((await rejection(client, 'IGAA-first'))?.details.subcode).toBe(460);
  });

  it('gives way to a one-off failNext, and is forgotten by reset', async () => {
    const { standIn, client } = await start();
    standIn.setRefreshOutcome('IGAA-first', 'app-removed');
    standIn.failNext('rate-limit');
    expect((await rejection(client, 'IGAA-first'))?.failure).toBe('rate-limited');
    expect((await rejection(client, 'IGAA-first'))?.details.subcode).toBe(458);
    standIn.reset();
    expect(standIn.refreshOutcome('IGAA-first')).toBe('ok');
  });
});

describe('the calls it received', () => {
  it('carry their arrival time by the real clock, even when the stand-in keeps another', async () => {
    const { standIn, client } = await start({ now: () => new Date('2030-01-01T00:00:00Z') });
    standIn.addToken('IGAA-later', { userId: '1', expiresAt: '2030-03-01T00:00:00Z' });
    const before = Date.now();
    await Promise.all(Array.from({ length: 5 }, () => client.refreshToken('IGAA-later')));
    await client.exchangeCode('unknown-code', 'http://localhost/callback').catch(() => undefined);
    const after = Date.now();
    expect(standIn.calls.map((call) => call.operation)).toEqual([
      'refresh',
      'refresh',
      'refresh',
      'refresh',
      'refresh',
      'code-exchange',
    ]);
    for (const call of standIn.calls) {
      expect(call.at).toBeInstanceOf(Date);
      expect(call.at.getTime()).toBeGreaterThanOrEqual(before);
      expect(call.at.getTime()).toBeLessThanOrEqual(after);
    }
    const times = standIn.calls.map((call) => call.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});
