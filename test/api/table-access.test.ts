/**
 * The stack grants each route exactly the DynamoDB actions `lib/routes.ts` declares for it. This
 * file checks the other half: every command a route's handler really sends, on its success and
 * failure paths, is among those declared, so the least-privilege grants never break a route in
 * AWS. The commands are recorded on the very client the handlers use.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient } from '#platform/dynamodb';
import { signUnsubscribeToken } from '#notifications/unsubscribe-link';
import { routes } from '../../lib/routes';
import { signRequest } from '#platform/meta-signed-request';
import {
  app,
  redirectUri,
  startApiEnvironment,
  unsubscribeSigningKey,
  type ApiEnvironment,
} from '../support/api-environment';

let env: ApiEnvironment;
const sent = new Map<string, Set<string>>();
let currentEntry = '';

/**
 * DynamoDB's action names are the low-level command names without "Command". A transaction has no
 * action of its own: IAM authorizes each of its items as its own action (Update → UpdateItem, …).
 */
function record(commandName: string, input?: unknown) {
  const actions = sent.get(currentEntry) ?? new Set<string>();
  const name = commandName.replace(/Command$/, '');
  const items = (input as { TransactItems?: Record<string, unknown>[] } | undefined)?.TransactItems;
  if (name === 'TransactWriteItems' && items) {
    for (const item of items) {
      for (const kind of Object.keys(item)) {
        actions.add(
          kind === 'ConditionCheck' ? 'dynamodb:ConditionCheckItem' : `dynamodb:${kind}Item`,
        );
      }
    }
  } else actions.add(`dynamodb:${name}`);
  sent.set(currentEntry, actions);
}

beforeAll(async () => {
  env = await startApiEnvironment();
  documentClient().middlewareStack.add(
    (next, context) => (args) => {
      record(String(context.commandName), args.input);
      return next(args);
    },
    { step: 'initialize', name: 'recordTableActions' },
  );
});

/**
 * The commands a handler sends on a plain client of its own, not the document client: the storm
 * guard's DescribeTable (storm-store.ts). Spied in the test itself: spies are restored before each.
 */
function recordPlainClientCommands() {
  type Send = (this: DynamoDBClient, command: object, ...rest: unknown[]) => Promise<unknown>;
  const prototype = DynamoDBClient.prototype as unknown as { send: Send };
  const send = prototype.send;
  vi.spyOn(prototype, 'send').mockImplementation(function (this: DynamoDBClient, command, ...rest) {
    record(command.constructor.name);
    return send.call(this, command, ...rest);
  });
}

afterAll(async () => {
  await env.stop();
});

const DAY = 86_400_000;

async function seedAccount(accountId: string, expiresInDays: number) {
  const expiresAt = new Date(Date.now() + expiresInDays * DAY).toISOString();
  await env.table.store.putAccount(
    {
      accountId,
      ownerUserId: 'u-owner',
      username: `shop.${accountId.slice(-4)}`,
      accessToken: `IGAA-${accountId}`,
      expiresAt,
    },
    new Date(Date.now() - 30 * DAY),
  );
  await env.table.store.putDeveloperRole({ accountId, userId: 'u-dev' }, new Date());
  env.instagram.addToken(`IGAA-${accountId}`, { userId: accountId, expiresAt });
}

async function call(entry: string, method: string, url: string, user?: string, body?: unknown) {
  currentEntry = entry;
  const token = user ? await env.identity.token(user) : undefined;
  return env.api.call(method, url, { token, body });
}

describe('the DynamoDB actions each route sends', () => {
  it('are all granted to that route', async () => {
    recordPlainClientCommands();
    const link = signUnsubscribeToken(
      {
        userId: 'u-owner',
        preference: 'developerExpiredToken',
        expiresAt: new Date(Date.now() + DAY),
      },
      unsubscribeSigningKey,
    );
    await seedAccount('17841400000009001', 30);
    await seedAccount('17841400000009002', -1);
    env.instagram.registerCode('AQ-access-1', '17841400000009002');

    const statuses = [
      (await call('get-notification-preferences', 'GET', '/me/notification-preferences', 'u-owner'))
        .status,
      (
        await call(
          'put-notification-preferences',
          'PUT',
          '/me/notification-preferences',
          'u-owner',
          {
            ownerExpiredToken: true,
            developerExpiredToken: true,
          },
        )
      ).status,
      (await call('list-instagram-accounts', 'GET', '/me/instagram-accounts', 'u-dev')).status,
      // Refresh: a success, an expired token (409), and Instagram rejecting the token (190).
      (
        await call(
          'refresh-instagram-token',
          'POST',
          '/instagram-accounts/17841400000009001/token/refresh',
          'u-dev',
        )
      ).status,
      (
        await call(
          'refresh-instagram-token',
          'POST',
          '/instagram-accounts/17841400000009002/token/refresh',
          'u-owner',
        )
      ).status,
      (
        await call(
          'reconnect-instagram-token',
          'POST',
          '/instagram-accounts/17841400000009002/token',
          'u-owner',
          {
            code: 'AQ-access-1',
            redirectUri,
          },
        )
      ).status,
      (await call('unsubscribe-page', 'GET', `/unsubscribe?token=${link}`)).status,
      (await call('unsubscribe', 'POST', `/unsubscribe?token=${link}`)).status,
    ];
    expect(statuses).toEqual([200, 200, 200, 200, 409, 200, 200, 200]);

    env.instagram.failNext('invalid-token', { operation: 'refresh' });
    await env.table.store.putAccount(
      {
        accountId: '17841400000009003',
        ownerUserId: 'u-owner',
        username: 'shop.9003',
        accessToken: 'IGAA-17841400000009003',
        expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
      },
      new Date(Date.now() - 30 * DAY),
    );
    env.instagram.addToken('IGAA-17841400000009003', {
      userId: '17841400000009003',
      expiresAt: new Date(Date.now() + 30 * DAY),
    });
    expect(
      (
        await call(
          'refresh-instagram-token',
          'POST',
          '/instagram-accounts/17841400000009003/token/refresh',
          'u-owner',
        )
      ).status,
    ).toBe(409);

    // The service API: each route's success, its repeat, and its refusals (404).
    const service = await env.identity.serviceToken();
    const serviceCall = (entry: string, method: string, url: string, body?: unknown) => {
      currentEntry = entry;
      return env.api.call(method, url, { token: service, body });
    };
    const accountUrl = '/service/instagram-accounts/17841400000009010';
    const serviceStatuses = [
      (
        await serviceCall('put-service-user', 'PUT', '/service/users/u-svc', {
          email: 'svc@example.com',
          name: 'Svc',
        })
      ).status,
      (await serviceCall('get-service-instagram-token', 'GET', `${accountUrl}/token`)).status,
      (await serviceCall('put-service-developer-role', 'PUT', `${accountUrl}/developers/u-svc`))
        .status,
    ];
    for (const accessToken of ['IGAA-svc-a', 'IGAA-svc-a', 'IGAA-svc-b']) {
      serviceStatuses.push(
        (
          await serviceCall('put-service-instagram-account', 'PUT', accountUrl, {
            ownerUserId: 'u-owner',
            username: 'svc.shop',
            accessToken,
            expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
          })
        ).status,
      );
    }
    serviceStatuses.push(
      (
        await serviceCall('put-service-instagram-account', 'PUT', accountUrl, {
          ownerUserId: 'u-heir',
          username: 'svc.shop',
          accessToken: 'IGAA-svc-b',
          expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
        })
      ).status,
      (await serviceCall('get-service-instagram-token', 'GET', `${accountUrl}/token`)).status,
      (await serviceCall('put-service-developer-role', 'PUT', `${accountUrl}/developers/u-svc`))
        .status,
      (
        await serviceCall(
          'delete-service-developer-role',
          'DELETE',
          `${accountUrl}/developers/u-svc`,
        )
      ).status,
      (await serviceCall('delete-service-user', 'DELETE', '/service/users/u-dev')).status,
      (await serviceCall('delete-service-instagram-account', 'DELETE', accountUrl)).status,
    );
    expect(serviceStatuses).toEqual([200, 404, 404, 200, 200, 200, 200, 200, 204, 204, 204, 204]);

    // Meta's callbacks: a deauthorize, a data deletion, and the deletion's status page.
    await seedAccount('17841400000009020', 30);
    await seedAccount('17841400000009021', 30);
    const metaCall = (entry: string, url: string, userId: string) => {
      currentEntry = entry;
      return env.api.call('POST', url, {
        rawBody: `signed_request=${encodeURIComponent(
          signRequest(
            { algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: userId },
            app.appSecret,
          ),
        )}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    };
    expect(
      (await metaCall('instagram-deauthorize', '/instagram/deauthorize', '17841400000009020'))
        .status,
    ).toBe(200);
    const deletion = await metaCall(
      'instagram-data-deletion',
      '/instagram/data-deletion',
      '17841400000009021',
    );
    expect(deletion.status).toBe(200);
    const { confirmation_code: code } = deletion.json<{ confirmation_code: string }>();
    expect(
      (await call('instagram-data-deletion-status', 'GET', `/instagram/data-deletion/${code}`))
        .status,
    ).toBe(200);

    // Reconnect links: made, listed, revoked (again, unknown), the page (ok, wrong key), and
    // the callback (another Instagram user, success, a repeat, a forged state).
    await seedAccount('17841400000009030', -1);
    const made = await call(
      'create-reconnect-link',
      'POST',
      '/instagram-accounts/17841400000009030/reconnect-links',
      'u-dev',
    );
    const { linkId, url } = made.json<{ linkId: string; url: string }>();
    const pagePath = `${new URL(url).pathname}${new URL(url).search}`;
    const linkStatuses = [
      made.status,
      (
        await call(
          'list-reconnect-links',
          'GET',
          '/instagram-accounts/17841400000009030/reconnect-links',
          'u-owner',
        )
      ).status,
      (await call('reconnect-link-page', 'GET', pagePath)).status,
      (await call('reconnect-link-page', 'GET', `${pagePath.slice(0, -3)}AAA`)).status,
    ];
    const page = await call('reconnect-link-page', 'GET', pagePath);
    const state = /state=([^"&]+)/.exec(page.body)?.[1] ?? '';
    env.instagram.registerCode('AQ-link-other', '17841499999999999');
    env.instagram.registerCode('AQ-link-1', '17841400000009030');
    for (const code of ['AQ-link-other', 'AQ-link-1', 'AQ-link-1']) {
      linkStatuses.push(
        (
          await call(
            'reconnect-link-callback',
            'GET',
            `/reconnect/callback?code=${code}&state=${state}`,
          )
        ).status,
      );
    }
    linkStatuses.push(
      (await call('reconnect-link-callback', 'GET', '/reconnect/callback?code=x&state=a.b.c'))
        .status,
    );
    const linksUrl = '/instagram-accounts/17841400000009030/reconnect-links';
    const second = (await call('create-reconnect-link', 'POST', linksUrl, 'u-owner')).json<{
      linkId: string;
    }>();
    for (const id of [second.linkId, second.linkId, linkId, 'AAAAAAAAAAAAAAAAAAAAAA']) {
      linkStatuses.push(
        (await call('revoke-reconnect-link', 'DELETE', `${linksUrl}/${id}`, 'u-dev')).status,
      );
    }
    expect(linkStatuses).toEqual([201, 200, 200, 404, 409, 200, 410, 404, 204, 204, 204, 404]);

    // The storm guard: the status while calm, and nothing to end (409); then Meta removing the
    // app from many accounts at once, each deauthorize counting its trouble until one declares
    // the storm (with the fleet's size from DescribeTable) and the rest add to it; the status and
    // the report in the storm; a bad body (400); the storm ended, and ended again (409).
    const stormStatuses = [
      (await call('get-status', 'GET', '/status')).status,
      (await serviceCall('get-service-storm', 'GET', '/service/storm')).status,
      (await serviceCall('end-service-storm', 'POST', '/service/storm', { action: 'release' }))
        .status,
    ];
    const removed = Array.from(
      { length: 22 },
      (_, index) => `178414000000091${String(index).padStart(2, '0')}`,
    );
    for (const accountId of removed) await seedAccount(accountId, 30);
    for (const accountId of removed) {
      expect(
        (await metaCall('instagram-deauthorize', '/instagram/deauthorize', accountId)).status,
      ).toBe(200);
    }
    stormStatuses.push(
      (await call('get-status', 'GET', '/status')).status,
      (await serviceCall('get-service-storm', 'GET', '/service/storm')).status,
      (await serviceCall('end-service-storm', 'POST', '/service/storm', { action: 'stop' })).status,
      (await serviceCall('end-service-storm', 'POST', '/service/storm', { action: 'discard' }))
        .status,
      (await serviceCall('end-service-storm', 'POST', '/service/storm', { action: 'discard' }))
        .status,
    );
    expect(stormStatuses).toEqual([200, 200, 409, 200, 200, 400, 200, 409]);
    expect(sent.get('instagram-deauthorize')).toContain('dynamodb:DescribeTable');

    for (const route of routes) {
      const declared = new Set<string>([
        ...route.table.table,
        ...Object.values(route.table.indexes ?? {}).flat(),
      ]);
      const used = [...(sent.get(route.entry) ?? [])];
      expect(used.length, route.entry).toBeGreaterThan(0);
      expect(
        used.filter((action) => !declared.has(action)),
        route.entry,
      ).toEqual([]);
    }
  });
});
