import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUnsubscribeToken } from '#notifications/unsubscribe-link';
import {
  startApiEnvironment,
  unsubscribeSigningKey,
  type ApiEnvironment,
} from '../support/api-environment';

let env: ApiEnvironment;
beforeAll(async () => {
  env = await startApiEnvironment();
});
afterAll(async () => {
  await env.stop();
});

const inADay = () => new Date(Date.now() + 86_400_000);
const link = (
  userId: string,
  preference: 'ownerExpiredToken' | 'developerExpiredToken',
  key = unsubscribeSigningKey,
  expiresAt = inADay(),
) => signUnsubscribeToken({ userId, preference, expiresAt }, key);
const bothOn = async (userId: string) =>
  env.table.store.putPreferences(
    userId,
    { ownerExpiredToken: true, developerExpiredToken: true },
    new Date(),
  );
const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('one-click unsubscribe (POST)', () => {
  it('turns off exactly the preference the link names and answers 200', async () => {
    await bothOn('u-one-click');
    const response = await env.api.call(
      'POST',
      `/unsubscribe?token=${link('u-one-click', 'developerExpiredToken')}`,
      {
        // What a mail client sends for RFC 8058.
        rawBody: 'List-Unsubscribe=One-Click',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
    );
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ preference: 'developerExpiredToken', enabled: false });
    expect(await env.table.store.getPreferences('u-one-click')).toMatchObject({
      ownerExpiredToken: true,
      developerExpiredToken: false,
    });
  });

  it("answers a browser (the confirmation page's button) with a page", async () => {
    await bothOn('u-browser');
    const response = await env.api.call(
      'POST',
      `/unsubscribe?token=${link('u-browser', 'ownerExpiredToken')}`,
      {
        headers: browser,
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.body).toContain('Expired token notifications for your Instagram accounts');
    expect((await env.table.store.getPreferences('u-browser')).ownerExpiredToken).toBe(false);
  });

  it('is idempotent: a second click changes nothing and still answers 200', async () => {
    const token = link('u-twice', 'ownerExpiredToken');
    expect((await env.api.call('POST', `/unsubscribe?token=${token}`)).status).toBe(200);
    expect((await env.api.call('POST', `/unsubscribe?token=${token}`)).status).toBe(200);
    expect((await env.table.store.getPreferences('u-twice')).ownerExpiredToken).toBe(false);
  });

  const forgeries: [string, () => string][] = [
    ['signed with another key', () => link('u-victim', 'ownerExpiredToken', 'not-the-key')],
    [
      'altered to name someone else',
      () => {
        const [, signature] = link('u-attacker', 'ownerExpiredToken').split('.');
        const payload = Buffer.from(
          JSON.stringify({
            v: 1,
            u: 'u-victim',
            p: 'ownerExpiredToken',
            e: Math.floor(inADay().getTime() / 1000),
          }),
        ).toString('base64url');
        return `${payload}.${String(signature)}`;
      },
    ],
    [
      'expired',
      () =>
        link('u-victim', 'ownerExpiredToken', unsubscribeSigningKey, new Date(Date.now() - 1000)),
    ],
    ['garbage', () => 'garbage'],
    ['empty', () => ''],
  ];

  it.each(forgeries)(
    'refuses a link %s with a 4xx problem and changes nothing',
    async (_name, make) => {
      await bothOn('u-victim');
      const before = await env.table.store.getPreferences('u-victim');
      const response = await env.api.call(
        'POST',
        `/unsubscribe?token=${encodeURIComponent(make())}`,
      );
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(await env.table.store.getPreferences('u-victim')).toEqual(before);
    },
  );

  it('refuses a request without a token, and one with the token anywhere but the query', async () => {
    await bothOn('u-elsewhere');
    const token = link('u-elsewhere', 'ownerExpiredToken');
    const missing = await env.api.call('POST', '/unsubscribe');
    expect(missing.status).toBe(400);
    expect(missing.json()).toMatchObject({ errors: [{ parameter: 'token' }] });
    const inBody = await env.api.call('POST', '/unsubscribe', { body: { token } });
    expect(inBody.status).toBe(400);
    expect((await env.table.store.getPreferences('u-elsewhere')).ownerExpiredToken).toBe(true);
  });

  it('answers a browser with an error page, not JSON, for an expired link', async () => {
    const response = await env.api.call(
      'POST',
      `/unsubscribe?token=${link('u-late', 'ownerExpiredToken', unsubscribeSigningKey, new Date(Date.now() - 1000))}`,
      { headers: browser },
    );
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('This unsubscribe link has expired.');
  });
});

describe('the unsubscribe confirmation page (GET)', () => {
  it('says what will be turned off, changes nothing, and its button POSTs the same link', async () => {
    await bothOn('u-page');
    const token = link('u-page', 'developerExpiredToken');
    const response = await env.api.call('GET', `/unsubscribe?token=${token}`, { headers: browser });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    expect(response.body).toContain('Expired token notifications for the developer');
    expect(response.body).toContain(`<form method="post" action="?token=${token}">`);
    expect((await env.table.store.getPreferences('u-page')).developerExpiredToken).toBe(true);
  });

  it('says so when the preference is already off', async () => {
    await env.table.store.putPreferences(
      'u-off',
      { ownerExpiredToken: false, developerExpiredToken: false },
      new Date(),
    );
    const response = await env.api.call(
      'GET',
      `/unsubscribe?token=${link('u-off', 'ownerExpiredToken')}`,
      { headers: browser },
    );
    expect(response.status).toBe(200);
    expect(response.body).toContain('already off');
    expect(response.body).not.toContain('<form');
  });

  it('explains a forged link instead of offering a button', async () => {
    const response = await env.api.call(
      'GET',
      `/unsubscribe?token=${link('u-page', 'ownerExpiredToken', 'wrong')}`,
      { headers: browser },
    );
    expect(response.status).toBe(400);
    expect(response.body).toContain('This unsubscribe link is not valid.');
    expect(response.body).not.toContain('<form');
  });
});
