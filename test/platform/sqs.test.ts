/**
 * The SQS adapter against the local SQS stand-in, through the real SDK client: the wire format
 * both speak is SQS's JSON protocol, so this proves each side of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createQueueSender } from '#platform/sqs';
import { LocalQueue } from '../../local/queue';
import { startSqsStandIn, type SqsStandIn } from '../../local/sqs';

let standIn: SqsStandIn;
const queue = new LocalQueue({ name: 'tokenwatch-test-refresh' });
const other = new LocalQueue({ name: 'tokenwatch-test-other' });
let client: SQSClient;
beforeAll(async () => {
  standIn = await startSqsStandIn({ queues: [queue, other] });
  client = new SQSClient({ endpoint: standIn.endpoint, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await standIn.stop();
});

describe('sending to a queue', () => {
  it('sends 23 messages in batches of ten, each body as given, to the queue its URL names', async () => {
    const sender = createQueueSender<{ n: number }>({
      queueUrl: standIn.urlOf(queue),
      bodyOf: (message) => JSON.stringify({ n: message.n }),
      client,
    });
    const messages = Array.from({ length: 23 }, (_, n) => ({ n, secret: 'never sent' }));
    const outcome = await sender.send(messages);
    expect(outcome.sent).toHaveLength(23);
    expect(outcome.failed).toEqual([]);
    expect(queue.peek().map((message) => JSON.parse(message.body) as unknown)).toEqual(
      messages.map(({ n }) => ({ n })),
    );
    expect(other.size).toBe(0);
  });

  it("reports the messages SQS refused as the sender's fault, without retrying them", async () => {
    const sender = createQueueSender<string>({
      queueUrl: standIn.urlOf(other),
      bodyOf: (message) => message,
      client,
    });
    const outcome = await sender.send(['fine', '', 'also fine']);
    expect(outcome.sent).toEqual(['fine', 'also fine']);
    expect(outcome.failed).toEqual([{ message: '', errorCode: 'InvalidParameterValue' }]);
  });

  it('reports every message when the queue does not exist, after no retries for a refusal', async () => {
    const sleeps: number[] = [];
    const sender = createQueueSender<string>({
      queueUrl: `${standIn.endpoint}/000000000000/nope`,
      bodyOf: (message) => message,
      client,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
    const outcome = await sender.send(['a', 'b']);
    expect(outcome.sent).toEqual([]);
    expect(outcome.failed.map((failure) => failure.message)).toEqual(['a', 'b']);
    expect(outcome.failed[0]?.errorCode).toMatch(/QueueDoesNotExist/);
    expect(sleeps).toEqual([]);
  });

  it('reports a batch at once when SQS cannot be reached (what it holds stays due for the next run)', async () => {
    const sleeps: number[] = [];
    const sender = createQueueSender<string>({
      queueUrl: 'http://127.0.0.1:9/000000000000/gone',
      bodyOf: (message) => message,
      client: new SQSClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }),
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
    const outcome = await sender.send(['a']);
    expect(outcome.failed).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });
});
