import { describe, expect, it } from 'vitest';
import type { SQSEvent } from 'aws-lambda';
import { LocalQueue } from '../../local/queue';

const quick = { visibilityTimeoutMs: 30, pollIntervalMs: 5 };

describe('the local queue', () => {
  it('delivers in batches of at most ten and deletes what succeeded', async () => {
    const queue = new LocalQueue({ name: 'q', ...quick });
    const batches: number[] = [];
    queue.start(async (event: SQSEvent) => {
      batches.push(event.Records.length);
      await Promise.resolve();
    });
    for (let i = 0; i < 25; i += 1) queue.send(JSON.stringify({ i }));
    await queue.drained();
    queue.stop();
    expect(batches.reduce((a, b) => a + b, 0)).toBe(25);
    expect(Math.max(...batches)).toBeLessThanOrEqual(10);
    expect(queue.stats).toMatchObject({ sent: 25, deleted: 25, deadLettered: 0 });
  });

  it('redelivers only the records a partial batch response lists, after the visibility timeout', async () => {
    const queue = new LocalQueue({ name: 'q', ...quick });
    const seen = new Map<string, number>();
    queue.start((event: SQSEvent) => {
      const failures = [];
      for (const record of event.Records) {
        seen.set(record.body, (seen.get(record.body) ?? 0) + 1);
        if (record.body === 'flaky' && record.attributes.ApproximateReceiveCount === '1') {
          failures.push({ itemIdentifier: record.messageId });
        }
      }
      return Promise.resolve({ batchItemFailures: failures });
    });
    queue.send('steady');
    queue.send('flaky');
    await queue.drained();
    queue.stop();
    expect(Object.fromEntries(seen)).toEqual({ steady: 1, flaky: 2 });
  });

  it('moves a message that keeps failing to the dead-letter queue after the maximum receives', async () => {
    const deadLetters = new LocalQueue({ name: 'dlq' });
    const queue = new LocalQueue({
      name: 'q',
      ...quick,
      maxReceiveCount: 3,
      deadLetterQueue: deadLetters,
    });
    let attempts = 0;
    queue.start(() => {
      attempts += 1;
      return Promise.reject(new Error('poison'));
    });
    queue.send('poison');
    await queue.drained();
    queue.stop();
    expect(attempts).toBe(3);
    expect(deadLetters.peek().map((m) => m.body)).toEqual(['poison']);
    expect(queue.stats.deadLettered).toBe(1);
  });

  it('never runs more batches at once than its maximum concurrency', async () => {
    const queue = new LocalQueue({ name: 'q', ...quick, batchSize: 1, maxConcurrency: 2 });
    let running = 0;
    let highest = 0;
    queue.start(async () => {
      running += 1;
      highest = Math.max(highest, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
    });
    for (let i = 0; i < 10; i += 1) queue.send(String(i));
    await queue.drained();
    queue.stop();
    expect(highest).toBe(2);
  });
});
