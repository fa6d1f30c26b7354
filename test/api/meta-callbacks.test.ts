/**
 * Meta's callbacks (DESIGN.md, "Meta's callbacks"), through the local API Gateway and the real
 * handlers on DynamoDB Local: a signed deauthorize invalidates the account's token (cause
 * `app-removed`) and the check announces it; a signed data deletion leaves nothing with the
 * account's id in the table and its status page says so; anything not signed with the app
 * secret is a 400 that changes nothing.
 */
import { createHmac } from 'node:crypto';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../functions/platform/meta-signed-request';
import { app, startApiEnvironment, type ApiEnvironment } from '../support/api-environment';

let env: ApiEnvironment;

beforeAll(async () => {
  env = await startApiEnvironment();
});
afterAll(async () => {
  await env.stop();
});

const DAY = 86_400_000;
let serial = 0;
async function freshAccount() {
  serial += 1;
  const accountId = `1789000${String(serial).padStart(10, '0')}`;
  await env.table.store.putAccount(
    {
      accountId,
      ownerUserId: 'u-meta-owner',
      username: `meta.${serial}`,
      accessToken: `IGAA-META-${accountId}`,
      expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
    },
    new Date(Date.now() - 10 * DAY),
  );
  await env.table.store.putDeveloperRole({ accountId, userId: 'u-meta-dev' }, new Date());
  return accountId;
}

const payload = (userId: string, extra: Record<string, unknown> = {}) => ({
  algorithm: 'HMAC-SHA256',
  issued_at: Math.floor(Date.now() / 1000),
  user_id: userId,
  ...extra,
});

const post = (path: string, form: string) =>
  env.api.call('POST', path, {
    rawBody: form,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
const signedForm = (signed: string) => `signed_request=${encodeURIComponent(signed)}`;

const everything = async () => JSON.stringify(await env.table.scanAll());

describe('POST /instagram/deauthorize', () => {
  it('makes the account invalid with cause app-removed, and the check announces it', async () => {
    const accountId = await freshAccount();
    const response = await post(
      '/instagram/deauthorize',
      signedForm(signRequest(payload(accountId), app.appSecret)),
    );
    expect(response.status).toBe(200);
    const items = await env.table.scanAll();
    const token = items.find((item) => item.pk === `IGACCOUNT#${accountId}` && item.sk === 'TOKEN');
    expect(token).toMatchObject({ tokenStatus: 'invalid', cause: 'app-removed' });

    env.eventBridge.resetHistory();
    const { handler: check } = (await import('../../functions/check-expired-tokens')) as {
      handler: () => Promise<unknown>;
    };
    await check();
    const details = env.eventBridge
      .commandCalls(PutEventsCommand)
      .flatMap((call) => call.args[0].input.Entries ?? [])
      .map((entry) => JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>)
      .filter((detail) => detail.accountId === accountId);
    expect(details).toHaveLength(1);
    expect(details[0]).toMatchObject({ accountId, cause: 'app-removed' });
  });

  it('answers 200 for an unknown user and changes nothing', async () => {
    const before = await everything();
    const response = await post(
      '/instagram/deauthorize',
      signedForm(signRequest(payload('17890000000999999'), app.appSecret)),
    );
    expect(response.status).toBe(200);
    expect(await everything()).toBe(before);
  });
});

describe('POST /instagram/data-deletion', () => {
  it('deletes everything about the account, and the status page says so', async () => {
    const accountId = await freshAccount();
    const response = await post(
      '/instagram/data-deletion',
      signedForm(signRequest(payload(accountId), app.appSecret)),
    );
    expect(response.status).toBe(200);
    const answer = response.json<{ url: string; confirmation_code: string }>();
    expect(answer.confirmation_code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(answer.url).toBe(
      `https://api.tokenwatch.test/instagram/data-deletion/${answer.confirmation_code}`,
    );
    const table = await everything();
    expect(table).not.toContain(accountId);
    expect(table).not.toContain(answer.confirmation_code);

    const status = await env.api.call(
      'GET',
      `/instagram/data-deletion/${answer.confirmation_code}`,
    );
    expect(status.status).toBe(200);
    expect(status.headers['content-type']).toMatch(/text\/html/);
    expect(status.body).toContain('Your data was deleted');
    expect(status.body).toContain(String(new Date().getUTCFullYear()));
  });

  it('answers an unknown code with a 404 page', async () => {
    const response = await env.api.call('GET', `/instagram/data-deletion/${'A'.repeat(43)}`);
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toMatch(/text\/html/);
  });
});

describe.each(['/instagram/deauthorize', '/instagram/data-deletion'])('POST %s refuses', (path) => {
  const payloadText = (value: string) => Buffer.from(value).toString('base64url');
  const signedText = (text: string, secret = app.appSecret) => {
    const body = payloadText(text);
    return `${createHmacBase64url(secret, body)}.${body}`;
  };
  it.each([
    ['a bad signature', () => signRequest(payload('ACCOUNT'), 'not-the-app-secret')],
    [
      'another algorithm',
      () => signRequest(payload('ACCOUNT', { algorithm: 'HMAC-SHA1' }), app.appSecret),
    ],
    ['malformed JSON', () => signedText('{"user_id": ')],
    ['no payload', () => 'abc'],
    ['a payload without user_id', () => signedText('{"algorithm":"HMAC-SHA256","issued_at":1}')],
  ])('%s with 400 and changes nothing', async (_name, make) => {
    const accountId = await freshAccount();
    const before = await everything();
    const response = await post(path, signedForm(make().replace('ACCOUNT', accountId)));
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await everything()).toBe(before);
  });

  it('a missing field, and a JSON body, and changes nothing', async () => {
    const before = await everything();
    expect((await post(path, 'other=1')).status).toBe(400);
    const json = await env.api.call('POST', path, { body: { signed_request: 'a.b' } });
    expect(json.status).toBe(415);
    expect(await everything()).toBe(before);
  });
});

function createHmacBase64url(secret: string, text: string) {
  return createHmac('sha256', secret).update(text).digest('base64url');
}
