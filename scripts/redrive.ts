/**
 * `npm run redrive -- --queue notifications|refresh|undelivered --outputs outputs.json`: moves the messages
 * of a dead-letter queue back to the queue they came from, once the cause is fixed (README,
 * Runbook). Or `--from <queue> --to <queue>`, each a URL or an ARN.
 *
 * Receive, send, delete, ten at a time, rather than SQS's StartMessageMoveTask: the local SQS
 * stand-in (and other SQS-compatible endpoints) serve the three ordinary calls, so the very same
 * code is tested end to end; the operator needs no permission beyond them; and `--max 1` redrives
 * one message first, to watch it go through before the rest. A message is deleted from the
 * dead-letter queue only after the queue accepted it: a crash in between leaves it in both, and
 * the consumers take a message twice without harm (claims, leases and generations), never none.
 *
 * Exit codes: 0 every message moved, 1 some were not (they stay in the dead-letter queue), 2 usage.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

export const usage = `Usage: npm run redrive -- --queue notifications|refresh|undelivered --outputs <file> [--stack <name>] [--max <n>]
       npm run redrive -- --from <dead-letter queue> --to <queue> [--max <n>]

Moves the messages of a dead-letter queue back to the queue they came from, oldest receipts
first, ten at a time. Redrive only once the cause is fixed (README, Runbook).

  --queue <name>      notifications (the notifier's dead-letter queue), refresh (the refresher's),
                      or undelivered (events the bus could not put on the notification queue)
  --outputs <file>    take both queues from \`cdk deploy --outputs-file <file>\`
  --stack <name>      the stack in that file, when it holds more than one
  --from, --to        the queues themselves, each a URL or an ARN, instead of --queue
  --max <n>           move at most n messages (try --max 1 first)
  -h, --help          this text

Region, credentials and endpoint are the AWS SDK's usual settings (AWS_REGION, AWS_PROFILE,
AWS_ENDPOINT_URL_SQS). Needs sqs:ReceiveMessage and sqs:DeleteMessage on the dead-letter queue,
sqs:SendMessage on the queue, and sqs:GetQueueUrl when a queue is given by ARN.
Exit codes: 0 all moved, 1 some left in the dead-letter queue, 2 usage.`;

export const exitCodes = { ok: 0, someLeft: 1, usage: 2 } as const;

export class UsageError extends Error {}

/** The outputs of `cdk deploy --outputs-file` that name each dead-letter queue and its source. */
export const queueOutputs = {
  notifications: { from: 'NotificationDeadLetterQueueUrl', to: 'NotificationQueueUrl' },
  refresh: { from: 'RefreshDeadLetterQueueUrl', to: 'RefreshQueueUrl' },
  // The rule target's dead-letter queue holds each event as the rule would have queued it.
  undelivered: { from: 'UndeliveredEventsQueueUrl', to: 'NotificationQueueUrl' },
} as const;

export interface RedriveOptions {
  from: string;
  to: string;
  max?: number;
}

/** The two queues from `cdk deploy --outputs-file`'s JSON: `{ "<stack>": { "<key>": … } }`. */
export function queuesFromOutputs(
  file: string,
  queue: keyof typeof queueOutputs,
  stack: string | undefined,
): { from: string; to: string } {
  let outputs: Record<string, Record<string, unknown>>;
  try {
    outputs = JSON.parse(readFileSync(file, 'utf8')) as typeof outputs;
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  const keys = queueOutputs[queue];
  const stacks = Object.keys(outputs).filter((name) => outputs[name]?.[keys.from] !== undefined);
  const chosen = stack ?? (stacks.length === 1 ? stacks[0] : undefined);
  if (chosen === undefined) {
    throw new UsageError(
      stacks.length === 0
        ? `${file} names no stack with a ${keys.from} output${queue === 'refresh' ? ' (is autoRefresh off?)' : ''}`
        : `${file} holds several stacks (${stacks.join(', ')}): choose one with --stack`,
    );
  }
  const [from, to] = [outputs[chosen]?.[keys.from], outputs[chosen]?.[keys.to]];
  if (typeof from !== 'string' || typeof to !== 'string') {
    throw new UsageError(`${file} has no ${keys.from} and ${keys.to} outputs for ${chosen}`);
  }
  return { from, to };
}

export function parseOptions(argv: readonly string[]): RedriveOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        queue: { type: 'string' },
        outputs: { type: 'string' },
        stack: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        max: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const max = values.max === undefined ? undefined : Number(values.max);
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
    throw new UsageError('--max must be a positive whole number');
  }
  let queues: { from: string; to: string };
  if (values.queue !== undefined) {
    if (values.from !== undefined || values.to !== undefined) {
      throw new UsageError('Give --queue with --outputs, or --from and --to, not both');
    }
    if (!Object.hasOwn(queueOutputs, values.queue)) {
      throw new UsageError(`--queue is notifications, refresh or undelivered, not ${values.queue}`);
    }
    if (values.outputs === undefined) {
      throw new UsageError('--queue needs --outputs <cdk outputs file>, or give --from and --to');
    }
    queues = queuesFromOutputs(
      values.outputs,
      values.queue as keyof typeof queueOutputs,
      values.stack,
    );
  } else {
    if (values.from === undefined || values.to === undefined) {
      throw new UsageError('Name the queues: --queue <name> --outputs <file>, or --from and --to');
    }
    queues = { from: values.from, to: values.to };
  }
  if (queues.from === queues.to) throw new UsageError('--from and --to are the same queue');
  return { ...queues, max };
}

/** A queue URL as given, or the URL of the queue an ARN names (`arn:…:sqs:region:account:name`). */
async function urlOf(queue: string, client: SQSClient): Promise<string> {
  const arn = /^arn:[^:]+:sqs:[^:]*:(\d{12}):([^:]+)$/.exec(queue);
  if (!arn) return queue;
  const { QueueUrl } = await client.send(
    new GetQueueUrlCommand({ QueueName: arn[2], QueueOwnerAWSAccountId: arn[1] }),
  );
  if (!QueueUrl) throw new Error(`No queue URL for ${queue}`);
  return QueueUrl;
}

export interface RedriveResult {
  moved: number;
  /** Not accepted by the queue: still in the dead-letter queue, visible again in a minute. */
  notSent: number;
  /** Sent, but still in the dead-letter queue too: a later redrive would send them again. */
  notDeleted: number;
}

export async function redrive(
  options: RedriveOptions,
  client: SQSClient,
  log: (line: string) => void = () => undefined,
): Promise<RedriveResult> {
  const from = await urlOf(options.from, client);
  const to = await urlOf(options.to, client);
  const result: RedriveResult = { moved: 0, notSent: 0, notDeleted: 0 };
  const max = options.max ?? Number.POSITIVE_INFINITY;
  while (result.moved + result.notSent + result.notDeleted < max) {
    const { Messages: messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: from,
        MaxNumberOfMessages: Math.min(10, max - result.moved - result.notSent - result.notDeleted),
        // Long enough to send and delete them; a message this run could not move comes back
        // to the dead-letter queue after it (and is not received again by this run, which ends
        // at the first empty receive).
        VisibilityTimeout: 60,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    if (messages.length === 0) break;
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: to,
        Entries: messages.map((message, i) => ({
          Id: String(i),
          MessageBody: message.Body ?? '',
          MessageAttributes: message.MessageAttributes,
        })),
      }),
    );
    const accepted = new Set((sent.Successful ?? []).map((entry) => entry.Id));
    result.notSent += messages.length - accepted.size;
    for (const failure of sent.Failed ?? []) {
      log(`not sent: message ${messages[Number(failure.Id)]?.MessageId}: ${failure.Code}`);
    }
    const toDelete = messages
      .map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle }))
      .filter((entry) => accepted.has(entry.Id));
    if (toDelete.length === 0) continue;
    const deleted = await client.send(
      new DeleteMessageBatchCommand({ QueueUrl: from, Entries: toDelete }),
    );
    const gone = (deleted.Successful ?? []).length;
    result.moved += gone;
    result.notDeleted += toDelete.length - gone;
    for (const failure of deleted.Failed ?? []) {
      log(
        `sent but not deleted: message ${messages[Number(failure.Id)]?.MessageId}: ${failure.Code}`,
      );
    }
    log(`moved ${result.moved}`);
  }
  return result;
}

export async function main(argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${usage}`);
    return exitCodes.usage;
  }
  if (options === 'help') {
    console.log(usage);
    return exitCodes.ok;
  }
  const client = new SQSClient({});
  try {
    console.log(`Redriving ${options.from}\n       to ${options.to}`);
    const result = await redrive(options, client, (line) => {
      console.log(line);
    });
    console.log(
      `Done: ${result.moved} moved, ${result.notSent} not sent, ${result.notDeleted} sent but not deleted.`,
    );
    return result.notSent + result.notDeleted === 0 ? exitCodes.ok : exitCodes.someLeft;
  } finally {
    client.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
