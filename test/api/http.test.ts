/** The shared HTTP plumbing, the JWT authorizer and the Instagram client, on their own. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import createHttpError from 'http-errors';
import * as z from '../../functions/platform/validation';
import { httpHandler } from '#api/handler';
import { json } from '#platform/http/responses';
import { authorizeJwt } from '../../local/jwt-authorizer';
import { createLocalApiGateway, matchRoute, toApiGatewayEvent } from '../../local/api-gateway';
import { lambdaContext } from '../../local/lambda-context';
import { createInstagramClient, InstagramError } from '#platform/instagram';
import { routes } from '../../lib/routes';
import { startInstagramStandIn, type InstagramStandIn } from '../../local/standins/instagram';

const event = (overrides: { body?: string; headers?: Record<string, string> } = {}) => {
  const match = matchRoute(routes, 'PUT', '/me/notification-preferences');
  if (!match) throw new Error('route missing');
  return toApiGatewayEvent(
    match,
    { method: 'PUT', url: '/me/notification-preferences', ...overrides },
    { claims: { sub: 'u-1' }, domainName: 'localhost', now: new Date() },
  );
};

describe('the error handler', () => {
  it('answers an unexpected failure with a plain 500 problem that tells nothing of it', async () => {
    const handler = httpHandler({ auth: 'jwt' }, () => {
      throw new Error('connect ECONNREFUSED 10.0.0.7:5432 at db.internal with password hunter2');
    });
    const response = await handler(event(), lambdaContext('probe', 5000));
    expect(response.statusCode).toBe(500);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(response.body)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Something went wrong on our side. It has been logged; please try again later.',
    });
    expect(response.body).not.toMatch(/hunter2|10\.0\.0\.7|\.ts:|at /);
  });

  it('passes on the message of a 4xx http-errors error, and hides that of a 5xx one', async () => {
    const teapot = httpHandler({ auth: 'jwt' }, () => {
      throw createHttpError(418, 'Short and stout');
    });
    const response = await teapot(event(), lambdaContext('probe', 5000));
    expect(response.statusCode).toBe(418);
    expect(JSON.parse(response.body)).toMatchObject({ status: 418, detail: 'Short and stout' });

    const broken = httpHandler({ auth: 'jwt' }, () => {
      throw createHttpError(503, 'the replica at 10.1.2.3 is down');
    });
    const hidden = await broken(event(), lambdaContext('probe', 5000));
    expect(hidden.statusCode).toBe(500);
    expect(hidden.body).not.toContain('10.1.2.3');
  });

  it('refuses a route without an authenticated caller before reading its body', async () => {
    let ran = false;
    const handler = httpHandler({ auth: 'jwt', body: z.strictObject({ a: z.number() }) }, () => {
      ran = true;
      return Promise.resolve(json(200, {}));
    });
    const anonymous = event({ body: 'not json', headers: { 'content-type': 'application/json' } });
    delete (anonymous.requestContext as { authorizer?: unknown }).authorizer;
    const response = await handler(anonymous, lambdaContext('probe', 5000));
    expect(response.statusCode).toBe(401);
    expect(ran).toBe(false);
  });
});

describe('the local API Gateway', () => {
  it('answers an unknown route as API Gateway does', async () => {
    const { publicKey } = await generateKeyPair('RS256');
    const gateway = createLocalApiGateway({
      routes,
      loadHandler: () => Promise.reject(new Error('must not load')),
      jwt: { issuer: 'https://i/', audience: 'a', keys: publicKey },
    });
    const response = await gateway.invoke({
      method: 'DELETE',
      url: '/me/notification-preferences',
    });
    expect(response).toMatchObject({ statusCode: 404, body: '{"message":"Not Found"}' });
  });

  it('base64-encodes a form body and joins repeated query parameters, like API Gateway', () => {
    const match = matchRoute(routes, 'POST', '/unsubscribe');
    if (!match) throw new Error('route missing');
    const built = toApiGatewayEvent(
      match,
      {
        method: 'POST',
        url: '/unsubscribe?token=a&token=b',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      },
      { domainName: 'localhost', now: new Date() },
    );
    expect(built.isBase64Encoded).toBe(true);
    expect(Buffer.from(built.body ?? '', 'base64').toString()).toBe('List-Unsubscribe=One-Click');
    expect(built.queryStringParameters).toEqual({ token: 'a,b' });
    expect(built.routeKey).toBe('POST /unsubscribe');
    expect(built.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('matches path parameters and nothing longer', () => {
    expect(matchRoute(routes, 'POST', '/instagram-accounts/123/token/refresh')).toMatchObject({
      route: { entry: 'refresh-instagram-token' },
      pathParameters: { accountId: '123' },
    });
    expect(matchRoute(routes, 'POST', '/instagram-accounts/123/token/refresh/x')).toBeUndefined();
    expect(matchRoute(routes, 'POST', '/instagram-accounts//token')).toBeUndefined();
  });
});

describe('the JWT authorizer', () => {
  const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_test';
  const now = new Date('2026-11-25T12:00:00Z');
  const seconds = now.getTime() / 1000;
  let keys: ReturnType<typeof createLocalJWKSet>;
  let sign: (claims: Record<string, unknown>) => Promise<string>;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    keys = createLocalJWKSet({
      keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }],
    });
    sign = (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey);
  });
  const authorize = (token: string) =>
    authorizeJwt(token, { issuer, audience: 'client-1', keys, now: () => now });
  const base = () => ({ iss: issuer, sub: 'u-1', iat: seconds - 10, exp: seconds + 600 });

  it('accepts a Cognito access token, whose audience is in client_id, with or without "Bearer"', async () => {
    const token = await sign({ ...base(), client_id: 'client-1', token_use: 'access' });
    expect(await authorize(token)).toMatchObject({ authorized: true, claims: { sub: 'u-1' } });
    expect(await authorize(`Bearer ${token}`)).toMatchObject({ authorized: true });
  });

  it.each([
    ['without exp', () => ({ ...base(), aud: 'client-1', exp: undefined })],
    ['not valid before a future time', () => ({ ...base(), aud: 'client-1', nbf: seconds + 600 })],
    ['issued in the future', () => ({ ...base(), aud: 'client-1', iat: seconds + 600 })],
    ['without sub', () => ({ ...base(), aud: 'client-1', sub: undefined })],
    ['for another client', () => ({ ...base(), client_id: 'client-2' })],
  ])('refuses a token %s', async (_name, claims) => {
    const result = await authorize(await sign(claims()));
    expect(result).toMatchObject({ authorized: false, problem: { status: 401 } });
  });

  it('refuses an HMAC token, even one signed with the public key as a shared secret', async () => {
    const hs = await new SignJWT({ ...base(), aud: 'client-1' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode('x'.repeat(32)));
    expect(await authorize(hs)).toMatchObject({ authorized: false });
  });
});

describe('the Instagram client', () => {
  let standIn: InstagramStandIn;
  const app = { appId: '1', appSecret: 'app-secret-value' };
  const config = (endpoint: string) => ({
    graphUrl: endpoint,
    apiUrl: endpoint,
    authorizeUrl: `${endpoint}/oauth/authorize`,
    redirectUri: 'https://app.test/cb',
    appSecretId: 'unused',
  });
  beforeAll(async () => {
    standIn = await startInstagramStandIn({ app, acceptUnknownTokens: false, codeAnswer: 'data' });
  });
  afterAll(async () => {
    await standIn.stop();
  });

  it('reads the documented {data: [...]} answer of a code exchange as well as the flat one', async () => {
    const client = createInstagramClient(config(standIn.endpoint), {
      credentials: () => Promise.resolve(app),
    });
    standIn.registerCode('AQ-data', '17841405793187218');
    expect(await client.exchangeCode('AQ-data', 'https://app.test/cb')).toEqual({
      accessToken: expect.stringMatching(/^IGQ/) as unknown,
      userId: '17841405793187218',
    });
  });

  it('gives up on a silent Instagram after its timeout, as unavailable', async () => {
    const client = createInstagramClient(config(standIn.endpoint), {
      credentials: () => Promise.resolve(app),
      timeoutMs: 50,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => {
            reject(new Error('aborted'));
          });
        }),
    });
    await expect(client.refreshToken('IGAA-secret')).rejects.toMatchObject({
      failure: 'unavailable',
    });
  });

  it('puts neither the token nor the URL in an error, even when the connection fails', async () => {
    const client = createInstagramClient(config('http://127.0.0.1:9'), {
      credentials: () => Promise.resolve(app),
    });
    const error = await client.refreshToken('IGAA-CANARY-network').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstagramError);
    const everything = JSON.stringify(error) + String(error) + ((error as Error).stack ?? '');
    expect(everything).not.toContain('CANARY');
    expect(everything).not.toContain('127.0.0.1');

    const refused = await createInstagramClient(config(standIn.endpoint), {
      credentials: () => Promise.resolve(app),
    })
      .refreshToken('IGAA-CANARY-unknown')
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      failure: 'token-rejected',
      details: { status: 400, code: 190 },
    });
    expect(JSON.stringify(refused) + String(refused)).not.toContain('CANARY');
  });
});
