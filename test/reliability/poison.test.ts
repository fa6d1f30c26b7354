/**
 * Poison and oversize. One batch through the real notify-expired-token handler, fed by the
 * LocalQueue (redelivery, partial batch responses, five receives, then the dead-letter queue):
 * good records among malformed JSON, the wrong event, unknown schema versions, a huge record,
 * a record for an account that was deleted, one for a generation that never existed, and one
 * whose account item is corrupt. The good records are sent on the first receive and never come
 * back; each bad one fails alone (and ends in the DLQ) or, where retrying cannot help, is
 * dropped with a metric. Nothing blocks the batch; no log line grows with the record.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eventEnvelope } from '../../local/eventbridge';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDocumentClient } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { LocalQueue } from '../../local/queue';
import { createTestTable, type TestTable } from '../support/table';
import {
  createPerson,
  emailsTo,
  startSecretsStandIn,
  type Person,
} from '../support/pipeline-services';
import { reportFigure } from '../support/reliability-faults';
import { captureQuietly } from '../support/reliability-output';
import { canaryPrefix, canaryToken } from '../support/reliability-pipeline';

let table: TestTable;
let secrets: Awaited<ReturnType<typeof startSecretsStandIn>>;
let handler: (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  table = await createTestTable('tokenwatch-reliability-poison');
  secrets = await startSecretsStandIn({ 'tokenwatch/poison/unsubscribe-key': `k-${randomUUID()}` });
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    SENDER_ADDRESS: 'notifications@tokenwatch.test',
    APP_URL: 'https://app.tokenwatch.test',
    UNSUBSCRIBE_URL: 'https://api.tokenwatch.test/unsubscribe',
    UNSUBSCRIBE_KEY_SECRET_ID: 'tokenwatch/poison/unsubscribe-key',
    SES_MAX_SEND_RATE: '1000',
    NOTIFICATION_LEASE_SECONDS: '120',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  });
  vi.resetModules();
  ({ handler } = await import('../../functions/notify-expired-token'));
});
afterAll(async () => {
  await secrets.stop();
  await table.drop();
});

const now = new Date();
const expiredAt = new Date(now.getTime() - 3_600_000).toISOString();

const envelope = (detail: unknown, overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    ...eventEnvelope({
      detailType: 'Instagram Token Expired',
      source: 'tokenwatch',
      detail,
      time: now,
    }),
    ...overrides,
  });

async function expiredAccount(owner: Person, label: string) {
  const accountId = `poison-${label}-${randomUUID().slice(0, 8)}`;
  await table.store.putAccount(
    {
      accountId,
      ownerUserId: owner.userId,
      username: `shop_${label}`,
      accessToken: canaryToken(),
      expiresAt: expiredAt,
      tokenStatus: 'expired',
    },
    now,
  );
  return { accountId, generation: 1, expiresAt: expiredAt, reason: 'expired' as const };
}

/** The Powertools metrics (embedded metric format) the handler printed, summed by name. */
function metricTotals(printed: string): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const line of printed.split('\n')) {
    if (!line.includes('"_aws"')) continue;
    const record = JSON.parse(line) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
    };
    for (const { Metrics } of record._aws.CloudWatchMetrics) {
      for (const { Name } of Metrics) {
        totals[Name] = (totals[Name] ?? 0) + Number(record[Name]);
      }
    }
  }
  return totals;
}

describe('poison and oversize records', () => {
  const output: string[] = [];

  it('fail alone or are dropped with a metric, and never hold up the good records of their batch', async () => {
    captureQuietly(output);
    const db = createDocumentClient(table.client);
    const ownerA = await createPerson(table.store, 'poison-a');
    const ownerB = await createPerson(table.store, 'poison-b');
    const ownerGone = await createPerson(table.store, 'poison-gone');
    const ownerCorrupt = await createPerson(table.store, 'poison-corrupt');
    const a = await expiredAccount(ownerA, 'a');
    const b = await expiredAccount(ownerB, 'b');
    const gone = await expiredAccount(ownerGone, 'gone');
    await db.send(
      new DeleteCommand({ TableName: table.tableName, Key: keys.account(gone.accountId) }),
    );
    // An account item someone broke by hand: no username, so no email can be rendered for it.
    const corrupt = { ...a, accountId: `poison-corrupt-${randomUUID().slice(0, 8)}` };
    await db.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.account(corrupt.accountId),
          accountId: corrupt.accountId,
          ownerUserId: ownerCorrupt.userId,
          expiresAt: expiredAt,
          tokenStatus: 'expired',
          generation: 1,
          accessToken: canaryToken(),
        },
      }),
    );
    const manyKeys = Object.fromEntries(
      Array.from({ length: 12_000 }, (_, n) => [`unexpectedField${n}`, n]),
    );

    const records: [label: string, body: string, verdict: 'sent' | 'dropped' | 'dead-lettered'][] =
      [
        ['good A', envelope(a), 'sent'],
        ['not JSON', '{"version":"0","detail":', 'dead-lettered'],
        [
          'another event',
          envelope(b, { 'detail-type': 'Instagram Token Refreshed' }),
          'dead-lettered',
        ],
        [
          'unknown schema version',
          envelope({ ...b, schemaVersion: 2, reason: 'revoked' }, { version: '1' }),
          'dead-lettered',
        ],
        ['deleted account', envelope(gone), 'dropped'],
        ['generation that never existed', envelope({ ...a, generation: 7 }), 'dropped'],
        ['corrupt account item', envelope(corrupt), 'dead-lettered'],
        ['oversize, 12 000 unknown fields', envelope({ ...b, ...manyKeys }), 'dead-lettered'],
        [
          'oversize envelope, valid detail',
          envelope(b, { resources: [`arn:x:${'r'.repeat(200_000)}`] }),
          'sent',
        ],
        ['good B', envelope(b), 'sent'],
      ];
    const deadLetters = new LocalQueue({ name: 'poison-dlq' });
    const queue = new LocalQueue({
      name: 'poison',
      visibilityTimeoutMs: 1,
      pollIntervalMs: 1,
      maxReceiveCount: 5,
      maxConcurrency: 1,
      deadLetterQueue: deadLetters,
    });
    const labelOf = new Map(records.map(([label, body]) => [queue.send(body), label]));
    const receives = new Map<string, number>();
    const batchErrors: unknown[] = [];
    let firstBatch: string[] = [];
    queue.start(async (event, context) => {
      for (const record of event.Records) {
        const label = labelOf.get(record.messageId) ?? '?';
        receives.set(label, (receives.get(label) ?? 0) + 1);
      }
      try {
        const response = await handler(event, context);
        if (firstBatch.length === 0) {
          const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
          firstBatch = event.Records.filter((r) => !failed.has(r.messageId)).map(
            (r) => labelOf.get(r.messageId) ?? '?',
          );
        }
        return response;
      } catch (error) {
        batchErrors.push(error);
        throw error;
      }
    });
    await queue.drained();
    queue.stop();

    const deadLettered = deadLetters
      .peek()
      .map((message) => records.find(([, body]) => body === message.body)?.[0]);
    const printed = output.join('');
    const metrics = metricTotals(printed);
    const poisonLines = printed
      .split('\n')
      .filter((line) => line.includes('is not a token-expired event'));
    const longestPoisonLine = Math.max(...poisonLines.map((line) => line.length));

    reportFigure('poison', {
      records: records.length,
      'good-sent-first-receive': firstBatch.filter((label) => label.startsWith('good')).length,
      'dead-lettered': deadLettered.length,
      dropped: metrics.StaleExpiredTokenEvents ?? 0,
      'poison-metric': metrics.PoisonMessages ?? 0,
      'batch-failures': batchErrors.length,
      'longest-poison-log-line': longestPoisonLine,
    });

    // Acknowledged on the first receive: the good ones, and those a retry cannot help.
    for (const [label, , verdict] of records) {
      expect(receives.get(label), label).toBe(verdict === 'dead-lettered' ? 5 : 1);
    }
    expect(firstBatch.sort()).toEqual(
      records
        .filter(([, , verdict]) => verdict !== 'dead-lettered')
        .map(([label]) => label)
        .sort(),
    );
    expect(deadLettered.sort()).toEqual(
      records
        .filter(([, , verdict]) => verdict === 'dead-lettered')
        .map(([label]) => label)
        .sort(),
    );
    expect(batchErrors).toEqual([]);
    expect(await emailsTo([ownerA.email])).toHaveLength(1);
    expect(await emailsTo([ownerB.email])).toHaveLength(1);
    expect(await emailsTo([ownerGone.email, ownerCorrupt.email])).toHaveLength(0);
    expect(metrics).toMatchObject({
      ExpiredTokenEmailsSent: 2,
      // Each bad message once, though each was received five times.
      PoisonMessages: 4,
      StaleExpiredTokenEvents: 2,
    });
    // A record's size does not reach the log: its problems are listed, not its fields.
    expect(longestPoisonLine).toBeLessThan(4096);
    expect(printed).not.toContain(canaryPrefix);
  });
});
