/**
 * `npm run redrive` against the local SQS stand-in, through the real SDK client: what the
 * dead-letter queue held is in its queue again, body for body, and is deleted only once the
 * queue took it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LocalQueue } from '../../local/queue';
import { startSqsStandIn, type SqsStandIn } from '../../local/sqs';
import { parseOptions, redrive, UsageError } from '../../scripts/redrive';

const root = fileURLToPath(new URL('../../', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'tokenwatch-redrive-'));

const deadLetters = new LocalQueue({ name: 'tokenwatch-test-dlq' });
const queue = new LocalQueue({ name: 'tokenwatch-test-queue' });
let standIn: SqsStandIn;
let client: SQSClient;
beforeAll(async () => {
  standIn = await startSqsStandIn({ queues: [deadLetters, queue] });
  client = new SQSClient({ endpoint: standIn.endpoint, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await standIn.stop();
  rmSync(directory, { recursive: true, force: true });
});

/** Empties both queues, then puts these bodies in the dead-letter queue. */
function deadLettered(bodies: readonly string[]) {
  for (const q of [deadLetters, queue])
    q.take(1000, 0).forEach((m) => q.deleteReceived(m.receiptHandle));
  for (const body of bodies) deadLetters.send(body);
}
const bodiesIn = (q: LocalQueue) => q.peek().map((message) => message.body);

describe('redriving a dead-letter queue', () => {
  it('moves every message back to its queue, ten at a time, bodies unchanged', async () => {
    const bodies = Array.from({ length: 23 }, (_, n) =>
      JSON.stringify({ accountId: `a${n}`, generation: 1 }),
    );
    deadLettered(bodies);
    const result = await redrive(
      { from: standIn.urlOf(deadLetters), to: standIn.urlOf(queue) },
      client,
    );
    expect(result).toEqual({ moved: 23, notSent: 0, notDeleted: 0 });
    expect(bodiesIn(queue)).toEqual(bodies);
    expect(deadLetters.size).toBe(0);
  });

  it('moves no more than --max, leaving the rest where they are', async () => {
    deadLettered(['first', 'second', 'third']);
    const result = await redrive(
      { from: standIn.urlOf(deadLetters), to: standIn.urlOf(queue), max: 1 },
      client,
    );
    expect(result.moved).toBe(1);
    expect(bodiesIn(queue)).toEqual(['first']);
    expect(bodiesIn(deadLetters)).toEqual(['second', 'third']);
  });

  it('deletes nothing the queue did not take: a queue that is not there leaves every message in the dead-letter queue', async () => {
    deadLettered(['kept']);
    await expect(
      redrive(
        { from: standIn.urlOf(deadLetters), to: `${standIn.endpoint}/000000000000/nowhere` },
        client,
      ),
    ).rejects.toThrow(/does not exist/);
    expect(bodiesIn(deadLetters)).toEqual(['kept']);
    expect(queue.size).toBe(0);
  });

  it('runs as `npm run redrive` on the queues named by the outputs of cdk deploy, or given by ARN', async () => {
    deadLettered(['from the outputs']);
    const outputs = join(directory, 'outputs.json');
    writeFileSync(
      outputs,
      JSON.stringify({
        'Tokenwatch-test': {
          NotificationDeadLetterQueueUrl: standIn.urlOf(deadLetters),
          NotificationQueueUrl: standIn.urlOf(queue),
        },
      }),
    );
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL_SQS: standIn.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
    const run = (args: string[]) =>
      promisify(execFile)('npm', ['run', '--silent', 'redrive', '--', ...args], { cwd: root, env });
    const byOutputs = await run(['--queue', 'notifications', '--outputs', outputs]);
    expect(byOutputs.stdout).toContain('Done: 1 moved, 0 not sent, 0 sent but not deleted.');
    expect(bodiesIn(queue)).toEqual(['from the outputs']);

    deadLettered(['by ARN']);
    const byArn = await run([
      '--from',
      deadLetters.arn.replace(':local:', ':eu-west-1:'),
      '--to',
      standIn.urlOf(queue),
    ]);
    expect(byArn.stdout).toContain('1 moved');
    expect(bodiesIn(queue)).toEqual(['by ARN']);
  });

  it('refuses a command line it cannot use, with the reason', () => {
    const outputs = join(directory, 'no-refresh.json');
    writeFileSync(outputs, JSON.stringify({ 'Tokenwatch-test': { NotificationQueueUrl: 'q' } }));
    for (const [argv, reason] of [
      [[], /Name the queues/],
      [['--queue', 'emails', '--outputs', outputs], /notifications, refresh or undelivered/],
      [['--queue', 'refresh'], /needs --outputs/],
      [
        ['--queue', 'refresh', '--outputs', outputs],
        /no stack with a RefreshDeadLetterQueueUrl output \(is autoRefresh off\?\)/,
      ],
      [['--from', 'a', '--to', 'a'], /same queue/],
      [['--from', 'a', '--to', 'b', '--max', '0'], /--max/],
      [['--queue', 'refresh', '--outputs', outputs, '--from', 'a'], /not both/],
    ] as const) {
      expect(() => parseOptions(argv), argv.join(' ')).toThrow(UsageError);
      expect(() => parseOptions(argv), argv.join(' ')).toThrow(reason);
    }
  });
});
