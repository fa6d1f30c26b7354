/**
 * The whole pipeline through the real handler modules, as Lambda runs them: the check handler
 * reads DynamoDB Local and publishes (EventBridge is the one mocked service: its accepted entries
 * are handed on as the SQS envelopes EventBridge would deliver), the notify handler reads those
 * and sends through the SES emulator. Done when an expired token turns into exactly the right
 * emails in the emulator's store, and a second run does nothing more.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eventEnvelope } from '../../local/eventbridge';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { createTestTable, type TestTable } from '../support/table';
import {
  createPerson,
  emailsTo,
  headerOf,
  listUnsubscribeUrl,
  present,
  startSecretsStandIn,
  type Person,
} from '../support/pipeline-services';
import { type ExpiryCheckSummary } from '#tokens/expiry-check';
import { verifyUnsubscribeToken } from '#notifications/unsubscribe-link';

const eventBridge = mockClient(EventBridgeClient);
const unsubscribeKey = `key-${randomUUID()}`;
const canary = `IGQ-CANARY-${randomUUID()}`;

let table: TestTable;
let secrets: Awaited<ReturnType<typeof startSecretsStandIn>>;
let checkHandler: () => Promise<ExpiryCheckSummary>;
let notifyHandler: (
  event: SQSEvent,
  context?: Context,
) => Promise<{
  batchItemFailures: { itemIdentifier: string }[];
}>;

/** What EventBridge would put on the queue for each entry it accepted. */
let delivered: SQSRecord[] = [];

beforeAll(async () => {
  table = await createTestTable('tokenwatch-pipeline');
  secrets = await startSecretsStandIn({ 'tokenwatch/unsubscribe-key': unsubscribeKey });
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    EVENT_BUS_NAME: 'tokenwatch-pipeline-bus',
    CHECK_LOOKBACK_DAYS: '7',
    SENDER_ADDRESS: 'notifications@tokenwatch.example',
    APP_URL: 'https://app.example.com/',
    UNSUBSCRIBE_URL: 'https://api.example.com/unsubscribe',
    UNSUBSCRIBE_KEY_SECRET_ID: 'tokenwatch/unsubscribe-key',
    SES_MAX_SEND_RATE: '50',
    NOTIFICATION_LEASE_SECONDS: '120',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  });
  vi.resetModules();
  ({ handler: checkHandler } = await import('../../functions/check-expired-tokens'));
  ({ handler: notifyHandler } = await import('../../functions/notify-expired-token'));
});
afterAll(async () => {
  await secrets.stop();
  await table.drop();
});
afterEach(() => {
  eventBridge.reset();
});

function busForwardsToQueue() {
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    const results = input.Entries.map((entry) => {
      const envelope = eventEnvelope({
        detailType: entry.DetailType ?? '',
        source: entry.Source ?? '',
        detail: JSON.parse(entry.Detail ?? '{}') as unknown,
      });
      delivered.push({
        messageId: randomUUID(),
        receiptHandle: randomUUID(),
        body: JSON.stringify(envelope),
        attributes: {} as SQSRecord['attributes'],
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:notify',
        awsRegion: 'eu-west-1',
      });
      return { EventId: envelope.id };
    });
    return { FailedEntryCount: 0, Entries: results };
  });
}

const lambdaContext = { getRemainingTimeInMillis: () => 60_000 } as Context;

/** Everything the handlers print (Powertools logs and metrics go to stdout and stderr). */
function captureOutput() {
  const printed: string[] = [];
  const keep = (chunk: unknown) => {
    printed.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(keep);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(keep);
  return {
    printed,
    restore() {
      out.mockRestore();
      err.mockRestore();
    },
  };
}

describe('the notification pipeline', () => {
  let owner: Person;
  let optedInDeveloper: Person;
  let quietDeveloper: Person;
  let optedInStranger: Person;
  const accountId = `pipe-${randomUUID().slice(0, 8)}`;

  it('turns an expired token into exactly the right emails, and does nothing more on a second run', async () => {
    const now = new Date();
    const developerOn = { ownerExpiredToken: true, developerExpiredToken: true };
    owner = await createPerson(table.store, 'owner');
    optedInDeveloper = await createPerson(table.store, 'dev', developerOn);
    quietDeveloper = await createPerson(table.store, 'quiet');
    optedInStranger = await createPerson(table.store, 'stranger', developerOn);
    await table.store.putAccount(
      {
        accountId,
        ownerUserId: owner.userId,
        username: 'pipeline.bakery',
        accessToken: canary,
        expiresAt: new Date(now.getTime() - 3_600_000).toISOString(),
      },
      now,
    );
    for (const developer of [optedInDeveloper, quietDeveloper]) {
      await table.store.putDeveloperRole({ accountId, userId: developer.userId }, now);
    }
    const everyone = [owner, optedInDeveloper, quietDeveloper, optedInStranger].map((p) => p.email);
    busForwardsToQueue();
    const output = captureOutput();
    let firstCheck: ExpiryCheckSummary;
    let firstBatch: Awaited<ReturnType<typeof notifyHandler>>;
    let secondCheck: ExpiryCheckSummary;
    let secondBatch: Awaited<ReturnType<typeof notifyHandler>>;
    const firstDeliveries: SQSRecord[] = [];
    try {
      firstCheck = await checkHandler();
      firstDeliveries.push(...delivered);
      delivered = [];
      firstBatch = await notifyHandler({ Records: firstDeliveries }, lambdaContext);

      secondCheck = await checkHandler();
      // EventBridge and SQS deliver at least once: the same events may well arrive again.
      secondBatch = await notifyHandler(
        { Records: [...delivered, ...firstDeliveries] },
        lambdaContext,
      );
    } finally {
      output.restore();
    }

    expect(firstCheck).toMatchObject({ due: 1, published: 1, marked: 1, failed: 0 });
    expect(firstDeliveries).toHaveLength(1);
    expect(firstBatch.batchItemFailures).toEqual([]);
    expect(secondCheck).toMatchObject({ due: 0, published: 0 });
    expect(delivered).toEqual([]);
    expect(secondBatch.batchItemFailures).toEqual([]);

    const emails = await emailsTo(everyone);
    expect(emails.map((email) => email.destination.to).sort()).toEqual(
      [[owner.email], [optedInDeveloper.email]].sort(),
    );
    const ownerEmail = present(
      emails.find((email) => email.destination.to[0] === owner.email),
      'the owner email',
    );
    const developerEmail = present(
      emails.find((email) => email.destination.to[0] === optedInDeveloper.email),
      'the developer email',
    );
    expect(ownerEmail.from).toBe('notifications@tokenwatch.example');
    expect(ownerEmail.subject).toContain('@pipeline.bakery');
    expect(developerEmail.subject).toContain('@pipeline.bakery');
    expect(ownerEmail.subject).not.toBe(developerEmail.subject);
    expect(ownerEmail.body.text).toContain('https://app.example.com/instagram-accounts\n');
    expect(developerEmail.body.text).toContain(
      `https://app.example.com/instagram-accounts?account=${accountId}`,
    );
    for (const [email, person, preference] of [
      [ownerEmail, owner, 'ownerExpiredToken'],
      [developerEmail, optedInDeveloper, 'developerExpiredToken'],
    ] as const) {
      expect(headerOf(email, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      const link = listUnsubscribeUrl(email);
      expect(link.origin + link.pathname).toBe('https://api.example.com/unsubscribe');
      expect(
        verifyUnsubscribeToken(
          present(link.searchParams.get('token'), 'a token'),
          unsubscribeKey,
          new Date(),
        ),
      ).toMatchObject({ userId: person.userId, preference });
      expect(email.body.text).toContain('https://app.example.com/settings#notifications');
    }

    // The access token reached no event, no email and no line the handlers printed.
    const events = eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input);
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toContain(canary);
    expect(JSON.stringify(emails)).not.toContain(canary);
    const printed = output.printed.join('');
    expect(printed).toContain('Expiry check finished');
    expect(printed).toContain('"message":"Email sent"');
    expect(printed).toContain('"occasion":"expired"');
    expect(printed).not.toContain(canary);
  });
});
