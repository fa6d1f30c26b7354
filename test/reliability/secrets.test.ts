/**
 * Secrets. Every account here holds a canary access token; then the whole system is exercised
 * through its real handler modules, failures included: every API route, Instagram refusing,
 * throttling and failing, DynamoDB failing under a handler (a logged 500), the check publishing
 * to the local EventBridge, the queue, and the notifier sending through an SES that throttles
 * and a record write that fails. Then everything that left the system is scanned: every log
 * line and metric printed, every API answer, every email, every event, every dead letter. The
 * canary, the tokens Instagram issued, the app secret and the unsubscribe key: 0 hits.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { documentClient } from '#platform/dynamodb';
import { detailTypes, eventSource } from '#tokens/events';
import { signUnsubscribeToken } from '#notifications/unsubscribe-link';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../../local/eventbridge';
import { LocalQueue } from '../../local/queue';
import {
  app,
  redirectUri,
  startApiEnvironment,
  unsubscribeSigningKey,
  type ApiEnvironment,
} from '../support/api-environment';
import { emailsTo, startThrottlingSesProxy } from '../support/pipeline-services';
import {
  FaultSchedule,
  invoke,
  reportFigure,
  withFaults,
  type Invocation,
} from '../support/reliability-faults';
import { captureQuietly } from '../support/reliability-output';
import { canaryPrefix, canaryToken } from '../support/reliability-pipeline';

let env: ApiEnvironment;
let bus: EventBridgeStandIn;
let ses: Awaited<ReturnType<typeof startThrottlingSesProxy>>;
const queue = new LocalQueue({
  name: 'secrets',
  visibilityTimeoutMs: 1,
  pollIntervalMs: 1,
  maxReceiveCount: 5,
  maxConcurrency: 1,
  deadLetterQueue: new LocalQueue({ name: 'secrets-dlq' }),
});
const output: string[] = [];
const busName = 'tokenwatch-secrets';
let pipelineEmails = 0;

beforeAll(async () => {
  env = await startApiEnvironment();
  // The real bus for every handler here, not a mock: events are scanned as EventBridge got them.
  env.eventBridge.restore();
  bus = await startEventBridgeStandIn({
    eventBusNames: [busName],
    rules: [
      {
        name: 'expired-to-queue',
        eventBusName: busName,
        pattern: { source: [eventSource], 'detail-type': [detailTypes.tokenExpired] },
        target: (body) => queue.send(body),
      },
    ],
  });
  // SES throttles the 2nd and 3rd sends, and the 6th to 10th (more than the mailer retries).
  ses = await startThrottlingSesProxy(
    (send) => send === 2 || send === 3 || (send >= 6 && send <= 10),
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
    AWS_ENDPOINT_URL_SESV2: ses.endpoint,
    EVENT_BUS_NAME: busName,
    CHECK_LOOKBACK_DAYS: '1',
    SENDER_ADDRESS: 'notifications@tokenwatch.test',
    UNSUBSCRIBE_URL: 'https://api.tokenwatch.test/unsubscribe',
    SES_MAX_SEND_RATE: '1000',
    NOTIFICATION_LEASE_SECONDS: '1',
  });
  // The handlers' own DynamoDB client (loaded later, on first use) carries the fault middleware.
  withFaults(documentClient());
});
afterAll(async () => {
  queue.stop();
  await Promise.all([bus.stop(), ses.stop()]);
  await env.stop();
});
beforeEach(() => {
  captureQuietly(output);
});

const DAY = 86_400_000;
let serial = 0;
const people = { owner: 'u-secrets-owner', developer: 'u-secrets-dev' };

async function account(
  options: { expiresInDays?: number; tokenStatus?: 'active' | 'expired' } = {},
) {
  serial += 1;
  const accountId = `1784180${String(serial).padStart(10, '0')}`;
  const accessToken = canaryToken();
  const expiresAt = new Date(Date.now() + (options.expiresInDays ?? 30) * DAY).toISOString();
  await env.table.store.putAccount(
    {
      accountId,
      ownerUserId: people.owner,
      username: `secret.${serial}`,
      accessToken,
      expiresAt,
      tokenStatus: options.tokenStatus ?? 'active',
    },
    new Date(Date.now() - 30 * DAY),
  );
  await env.table.store.putDeveloperRole({ accountId, userId: people.developer }, new Date());
  env.instagram.addToken(accessToken, { userId: accountId, expiresAt });
  return { accountId, accessToken };
}

/** The service's token route's answers: the one place a token may be (DESIGN.md). */
const tokenAnswers = new Set<(typeof env.api.responses)[number]>();

describe('secrets', () => {
  it('are used by every flow, failures included', async () => {
    const owner = await env.identity.token(people.owner);
    const developer = await env.identity.token(people.developer);
    const call = (method: string, url: string, body?: unknown, token = owner) =>
      env.api.call(method, url, { token, body });
    const statuses: number[] = [];
    const note = async (response: Promise<{ status: number }>) => {
      statuses.push((await response).status);
    };

    await note(call('GET', '/me/notification-preferences'));
    await note(
      call('PUT', '/me/notification-preferences', {
        ownerExpiredToken: true,
        developerExpiredToken: true,
      }),
    );
    await note(
      call(
        'PUT',
        '/me/notification-preferences',
        { ownerExpiredToken: true, developerExpiredToken: true },
        developer,
      ),
    );
    const refreshed = await account();
    await note(call('POST', `/instagram-accounts/${refreshed.accountId}/token/refresh`));
    await note(call('GET', '/me/instagram-accounts'));
    await note(call('GET', '/me/instagram-accounts', undefined, developer));
    for (const failure of ['server-error', 'rate-limit', 'malformed', 'invalid-token'] as const) {
      const { accountId } = await account();
      env.instagram.failNext(failure, { operation: 'refresh' });
      await note(
        call('POST', `/instagram-accounts/${accountId}/token/refresh`, undefined, developer),
      );
    }
    const revoked = await account();
    env.instagram.revokeToken(revoked.accessToken);
    await note(call('POST', `/instagram-accounts/${revoked.accountId}/token/refresh`));
    const expired = await account({ expiresInDays: -1, tokenStatus: 'expired' });
    await note(call('POST', `/instagram-accounts/${expired.accountId}/token/refresh`));
    env.instagram.registerCode('AQ-secrets-ok', expired.accountId);
    await note(
      call('POST', `/instagram-accounts/${expired.accountId}/token`, {
        code: 'AQ-secrets-ok',
        redirectUri,
      }),
    );
    env.instagram.registerCode('AQ-secrets-other', '17841499999999999');
    await note(
      call('POST', `/instagram-accounts/${expired.accountId}/token`, {
        code: 'AQ-secrets-other',
        redirectUri,
      }),
    );
    await note(
      call('POST', `/instagram-accounts/${expired.accountId}/token`, {
        code: 'AQ-nope',
        redirectUri,
      }),
    );
    const longLivedFails = await account({ expiresInDays: -1, tokenStatus: 'expired' });
    env.instagram.registerCode('AQ-secrets-ll', longLivedFails.accountId);
    env.instagram.failNext('invalid-token', { operation: 'long-lived-exchange' });
    await note(
      call('POST', `/instagram-accounts/${longLivedFails.accountId}/token`, {
        code: 'AQ-secrets-ll',
        redirectUri,
      }),
    );

    // DynamoDB fails under the refresh, after Instagram issued the new token: a logged 500.
    const failing = await account();
    const schedule = new FaultSchedule().add('replace', 1, 'table gone', () => ({
      kind: 'rewrite',
      run: (next, input) => next({ input: { ...input, TableName: 'tokenwatch-no-such-table' } }),
    }));
    const invocation: Invocation = { faultFor: (step, input) => schedule.faultFor(step, input) };
    const failed = await invoke(invocation, () =>
      call('POST', `/instagram-accounts/${failing.accountId}/token/refresh`),
    );
    statuses.push(failed.result?.status ?? 0);
    expect(failed.result?.status).toBe(500);

    const link = signUnsubscribeToken(
      {
        userId: people.developer,
        preference: 'developerExpiredToken',
        expiresAt: new Date(Date.now() + DAY),
      },
      unsubscribeSigningKey,
    );
    await note(
      env.api.call('GET', `/unsubscribe?token=${link}`, { headers: { accept: 'text/html' } }),
    );
    await note(env.api.call('GET', `/unsubscribe?token=${link}x`));
    await note(env.api.call('POST', `/unsubscribe?token=${link}`));

    expect(new Set(statuses)).toEqual(new Set([200, 400, 409, 500, 502, 503]));

    // The service API: its token route is the one answer that carries a token; every other
    // answer (a connect, a repeat, a refusal of a body holding a token, a deletion) never does.
    const service = await env.identity.serviceToken();
    const serviceCall = (method: string, url: string, body?: unknown) =>
      env.api.call(method, url, { token: service, body });
    const connected = '17841477700000001';
    const accountBody = (accessToken: string) => ({
      ownerUserId: people.owner,
      username: 'secrets.service',
      accessToken,
      expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
    });
    const first = canaryToken();
    const serviceStatuses = [
      (
        await serviceCall('PUT', `/service/users/${people.developer}`, {
          email: 'd@example.com',
          name: 'D',
        })
      ).status,
      (await serviceCall('PUT', `/service/instagram-accounts/${connected}`, accountBody(first)))
        .status,
      (await serviceCall('PUT', `/service/instagram-accounts/${connected}`, accountBody(first)))
        .status,
      (
        await serviceCall(
          'PUT',
          `/service/instagram-accounts/${connected}`,
          accountBody(canaryToken()),
        )
      ).status,
      (
        await serviceCall('PUT', `/service/instagram-accounts/${connected}`, {
          ...accountBody(canaryToken()),
          extra: 1,
        })
      ).status,
      (
        await serviceCall('PUT', `/service/instagram-accounts/${connected}`, {
          ...accountBody(canaryToken()),
          expiresAt: 'soon',
        })
      ).status,
      (
        await serviceCall(
          'PUT',
          `/service/instagram-accounts/${connected}/developers/${people.developer}`,
        )
      ).status,
    ];
    for (const accountId of [connected, refreshed.accountId, expired.accountId]) {
      const answer = await serviceCall('GET', `/service/instagram-accounts/${accountId}/token`);
      serviceStatuses.push(answer.status);
      tokenAnswers.add(answer);
    }
    serviceStatuses.push(
      (
        await serviceCall(
          'DELETE',
          `/service/instagram-accounts/${connected}/developers/${people.developer}`,
        )
      ).status,
      (await serviceCall('DELETE', `/service/instagram-accounts/${connected}`)).status,
      (await serviceCall('GET', `/service/instagram-accounts/${connected}/token`)).status,
    );
    expect(serviceStatuses).toEqual([
      200, 200, 200, 200, 400, 400, 204, 200, 200, 200, 204, 204, 404,
    ]);
    // The token answers do carry the tokens: the current one, refreshed or reconnected.
    expect([...tokenAnswers].map((answer) => answer.json().accessToken)).toEqual([
      expect.stringContaining(canaryPrefix),
      expect.any(String),
      expect.any(String),
    ]);
  });

  it('are used by the check and the notifier, through a throttling SES and a failing record', async () => {
    const emails: string[] = [];
    for (let n = 0; n < 3; n += 1) {
      const unique = randomUUID().slice(0, 8);
      const owner = {
        userId: `u-sec-pipe-${unique}`,
        email: `sec-owner-${unique}@reliability.test`,
        name: 'Owner',
      };
      const dev = {
        userId: `u-sec-pipedev-${unique}`,
        email: `sec-dev-${unique}@reliability.test`,
        name: 'Dev',
      };
      await env.table.store.putProfile(owner);
      await env.table.store.putProfile(dev);
      await env.table.store.putPreferences(
        dev.userId,
        { ownerExpiredToken: true, developerExpiredToken: true },
        new Date(),
      );
      serial += 1;
      const accountId = `1784181${String(serial).padStart(10, '0')}`;
      await env.table.store.putAccount(
        {
          accountId,
          ownerUserId: owner.userId,
          username: `secret.pipe.${n}`,
          accessToken: canaryToken(),
          expiresAt: new Date(Date.now() - 3_600_000).toISOString(),
        },
        new Date(),
      );
      await env.table.store.putDeveloperRole({ accountId, userId: dev.userId }, new Date());
      emails.push(owner.email, dev.email);
    }
    const { handler: check } = (await import('../../functions/check-expired-tokens')) as {
      handler: () => Promise<unknown>;
    };
    const { handler: notify } = (await import('../../functions/notify-expired-token')) as {
      handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    };
    // The first record write fails once: sent but not recorded, so the retry sends again.
    const schedule = new FaultSchedule().add('record', 1, 'record write fails', () => ({
      kind: 'throw',
      error: () =>
        Object.assign(new Error('Internal server error'), { name: 'InternalServerError' }),
    }));
    queue.start((event, context) =>
      invoke({ faultFor: (step, input) => schedule.faultFor(step, input) }, async () => {
        // A redelivery comes after the visibility timeout, so after the 1-second lease.
        const redelivery = event.Records.some(
          (record) => record.attributes.ApproximateReceiveCount !== '1',
        );
        if (redelivery) await new Promise((resolve) => setTimeout(resolve, 1100));
        return notify(event, context);
      }).then((outcome) => {
        if (!outcome.result) throw outcome.error;
        return outcome.result;
      }),
    );
    await check();
    await queue.drained();
    const received = await emailsTo(emails);
    pipelineEmails = received.length;
    expect(new Set(received.map((email) => email.destination.to[0]))).toEqual(new Set(emails));
    expect(ses.throttled.length).toBeGreaterThan(2);
    expect(schedule.fired).toEqual(['record write fails']);
  }, 30_000);

  it('appear in no log line, answer, email, event or dead letter', async () => {
    const stored = await fetch(`${process.env.AWS_ENDPOINT_URL_SESV2 ?? ''}/store`).then(
      (response) => response.text(),
    );
    const sources: Record<string, string> = {
      'log lines and metrics': output.join(''),
      'API answers': env.api.responses
        .filter((response) => !tokenAnswers.has(response))
        .map((response) => response.body + JSON.stringify(response.headers))
        .join('\n'),
      emails: stored,
      events: JSON.stringify(bus.accepted),
      'dead letters': JSON.stringify(queue.peek()),
    };
    const secrets = [
      canaryPrefix,
      app.appSecret,
      unsubscribeSigningKey,
      ...env.instagram.issuedTokens(),
    ];
    const hits = Object.entries(sources).flatMap(([where, text]) =>
      secrets
        .filter((secret) => text.includes(secret))
        .map((secret) => `${where}: ${secret.slice(0, 12)}…`),
    );
    reportFigure('secrets', {
      'log-bytes': sources['log lines and metrics']?.length ?? 0,
      'api-answers': env.api.responses.length,
      'token-answers': tokenAnswers.size,
      'pipeline-emails': pipelineEmails,
      events: bus.accepted.length,
      'secrets-searched': secrets.length,
      hits: hits.length,
    });
    // The scan is not of nothing: the flows' own lines are there.
    expect(sources['log lines and metrics']).toContain('Token replaced');
    expect(sources['log lines and metrics']).toContain('Request failed');
    expect(sources['log lines and metrics']).toContain(
      'Email sent but its record was not completed',
    );
    expect(env.instagram.issuedTokens().length).toBeGreaterThan(2);
    expect(hits).toEqual([]);
  });
});
