/**
 * `POST /_local/ses/events` on the local stack: the event SES would publish, in the shape the
 * AWS documentation shows (test/fixtures/ses), through the local default bus and its feedback
 * rule to record-email-feedback; after a bounce nothing more goes to that address, and the
 * preferences API says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { startLocalSystem, type LocalSystem } from '../../local/system';
import { sesFeedbackDetail } from '../../local/ses-events';
import { sesFeedbackEnvelope } from '#notifications/email-feedback';
import { freePort } from '../support/services';

let system: LocalSystem;
const api = (path: string) => `${system.urls.api}${path}`;

beforeAll(async () => {
  system = await startLocalSystem({
    apiPort: await freePort(),
    sesPort: await freePort(),
    checkIntervalMs: 0,
    runCheckAtStart: false,
    loadDemoData: false,
  });
}, 60_000);
afterAll(async () => {
  await system.stop();
});

const post = (path: string, body?: unknown) =>
  fetch(api(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const tokenFor = async (sub: string) =>
  ((await (await fetch(api(`/_local/token?sub=${sub}`))).json()) as { token: string }).token;
const emailStatusOf = async (sub: string) =>
  (
    (await (
      await fetch(api('/me/notification-preferences'), {
        headers: { authorization: `Bearer ${await tokenFor(sub)}` },
      })
    ).json()) as { emailStatus: string }
  ).emailStatus;
const inbox = async (address: string) =>
  (
    (await (await fetch(`${system.urls.inbox}/store`)).json()) as {
      emails: { destination: { to: string[] } }[];
    }
  ).emails.filter((email) => email.destination.to.includes(address));

/** Every key of a JSON document, as paths (array elements under `[]`), sorted. */
function shapeOf(value: unknown, path = ''): string[] {
  if (Array.isArray(value))
    return [...new Set(value.flatMap((item) => shapeOf(item, `${path}[]`)))];
  if (value === null || typeof value !== 'object') return [path];
  return Object.entries(value)
    .flatMap(([key, inner]) => shapeOf(inner, `${path}.${key}`))
    .sort();
}
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/ses/${name}.json`, import.meta.url), 'utf8')) as {
    detail: unknown;
  };

describe('the local SES events', () => {
  it('have the shape of the events in the AWS documentation', () => {
    const context = {
      sender: 'notifications@tokenwatch.local',
      configurationSetName: 'tokenwatch-local',
      now: new Date(),
      messageId: 'local-message',
      subject: 'Your token expired',
    };
    // The documentation's headers list one more (Content-Type); every other field is the same.
    const withoutHeaders = (paths: string[]) => paths.filter((path) => !path.includes('headers['));
    expect(
      withoutHeaders(shapeOf(sesFeedbackDetail({ type: 'Bounce', email: 'a@b.example' }, context))),
    ).toEqual(withoutHeaders(shapeOf(fixture('email-bounced').detail)));
    expect(
      withoutHeaders(
        shapeOf(sesFeedbackDetail({ type: 'Complaint', email: 'a@b.example' }, context)),
      ),
    ).toEqual(withoutHeaders(shapeOf(fixture('email-complaint-received').detail)));
  });

  it('stop email to a bounced address, and the API says so', async () => {
    const seeded = await post('/_local/seed', {
      users: [
        { userId: 'ses-owner', email: 'owner@ses.example', name: 'Owner' },
        { userId: 'ses-dev', email: 'dev@ses.example', name: 'Developer' },
      ],
      instagramAccounts: [
        {
          accountId: 'ses-account-1',
          ownerUserId: 'ses-owner',
          username: 'ses.shop.one',
          accessToken: 'IGQ-ses-one',
          expiresAt: new Date(Date.now() - 3_600_000).toISOString(),
        },
      ],
      developerRoles: [{ accountId: 'ses-account-1', userId: 'ses-dev' }],
      preferences: [{ userId: 'ses-dev', ownerExpiredToken: true, developerExpiredToken: true }],
    });
    expect(seeded.status).toBe(200);
    await post('/_local/run-check');
    expect(await inbox('owner@ses.example')).toHaveLength(1);
    expect(await emailStatusOf('ses-owner')).toBe('ok');

    const fed = await post('/_local/ses/events', { type: 'Bounce', email: 'owner@ses.example' });
    expect(fed.status).toBe(200);
    expect(await fed.json()).toMatchObject({
      detailType: 'Email Bounced',
      queue: { delivered: 1, deleted: 1, deadLettered: 0 },
    });
    expect(await emailStatusOf('ses-owner')).toBe('bounced');

    // A second account of the same owner expires: the developer hears of it, the owner does not.
    await post('/_local/seed', {
      instagramAccounts: [
        {
          accountId: 'ses-account-2',
          ownerUserId: 'ses-owner',
          username: 'ses.shop.two',
          accessToken: 'IGQ-ses-two',
          expiresAt: new Date(Date.now() - 3_600_000).toISOString(),
        },
      ],
      developerRoles: [{ accountId: 'ses-account-2', userId: 'ses-dev' }],
    });
    const later = new Date(Date.now() + 2 * 3_600_000).toISOString();
    await post('/_local/run-check', { now: later });
    expect(await inbox('owner@ses.example')).toHaveLength(1);
    expect((await inbox('dev@ses.example')).length).toBeGreaterThanOrEqual(2);
  });

  it('take a complaint, and refuse a body that is no such event', async () => {
    const fed = await post('/_local/ses/events', { type: 'Complaint', email: 'dev@ses.example' });
    expect(await fed.json()).toMatchObject({ detailType: 'Email Complaint Received' });
    expect(await emailStatusOf('ses-dev')).toBe('complained');
    expect(system.feedbackDeadLetterQueue.stats.sent).toBe(0);

    for (const body of [{ type: 'Delivery', email: 'dev@ses.example' }, { type: 'Bounce' }, 'x']) {
      const refused = await post('/_local/ses/events', body);
      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
    }
  });

  it('put events that record-email-feedback reads as SES events', () => {
    const detail = sesFeedbackDetail(
      { type: 'Bounce', email: 'x@ses.example' },
      {
        sender: 'n@tokenwatch.local',
        configurationSetName: 'tokenwatch-local',
        now: new Date(),
        messageId: 'm',
        subject: 's',
      },
    );
    const envelope = {
      ...fixture('email-bounced'),
      detail,
    };
    expect(sesFeedbackEnvelope.safeParse(envelope).success).toBe(true);
  });
});
