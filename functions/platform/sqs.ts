/**
 * The one adapter to SQS: sending messages in batches of ten, trying again the entries SQS
 * could not take for a passing reason, and saying which it never took (the caller keeps them).
 */
import { SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { backoffDelay, isTransientAwsError, sleep as realSleep } from './retry';

/** SQS takes at most ten messages per SendMessageBatch. */
export const maxMessagesPerBatch = 10;

export interface SendOutcome<Message> {
  sent: Message[];
  failed: { message: Message; errorCode: string }[];
}

export interface QueueSender<Message> {
  send(messages: readonly Message[]): Promise<SendOutcome<Message>>;
}

export interface QueueSenderOptions<Message> {
  queueUrl: string;
  /** The body of a message: only what the consumer needs, picked field by field. */
  bodyOf: (message: Message) => string;
  client?: SQSClient;
  /** @default 4 */
  maxAttempts?: number;
  /** @default 100 */
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export function createQueueSender<Message>(
  options: QueueSenderOptions<Message>,
): QueueSender<Message> {
  // The SDK's own retries are off: this adapter's policy is the one policy, not multiplied by it.
  const client = options.client ?? new SQSClient({ maxAttempts: 1 });
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = options.sleep ?? realSleep;

  async function sendBatch(batch: Message[], outcome: SendOutcome<Message>) {
    let pending = batch.map((message, index) => ({ id: String(index), message }));
    let lastCode = new Map<string, string>();
    for (let attempt = 0; attempt < maxAttempts && pending.length > 0; attempt += 1) {
      if (attempt > 0) await sleep(backoffDelay(attempt, options.baseDelayMs ?? 100));
      let result;
      try {
        result = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: pending.map(({ id, message }) => ({
              Id: id,
              MessageBody: options.bodyOf(message),
            })),
          }),
        );
      } catch (error) {
        const code = (error as { name?: string }).name ?? 'Error';
        lastCode = new Map(pending.map(({ id }) => [id, code]));
        if (isTransientAwsError(error)) continue;
        break;
      }
      const sentIds = new Set((result.Successful ?? []).map((entry) => entry.Id));
      const failures = new Map((result.Failed ?? []).map((entry) => [entry.Id, entry]));
      const retry: typeof pending = [];
      lastCode = new Map();
      for (const entry of pending) {
        if (sentIds.has(entry.id)) {
          outcome.sent.push(entry.message);
          continue;
        }
        const failure = failures.get(entry.id);
        const code = failure?.Code ?? 'MissingResultEntry';
        lastCode.set(entry.id, code);
        // SenderFault false: SQS's side, worth another try; true: the message itself is wrong.
        if (failure?.SenderFault) outcome.failed.push({ message: entry.message, errorCode: code });
        else retry.push(entry);
      }
      pending = retry;
    }
    for (const entry of pending) {
      outcome.failed.push({
        message: entry.message,
        errorCode: lastCode.get(entry.id) ?? 'Unknown',
      });
    }
  }

  return {
    async send(messages) {
      const outcome: SendOutcome<Message> = { sent: [], failed: [] };
      for (let start = 0; start < messages.length; start += maxMessagesPerBatch) {
        await sendBatch(messages.slice(start, start + maxMessagesPerBatch), outcome);
      }
      return outcome;
    },
  };
}
