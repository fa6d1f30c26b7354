/**
 * A local SQS that answers SendMessage and SendMessageBatch in the service's JSON wire format
 * (`AmazonSQS.*` targets) and puts each message on the in-process queue its URL names. Handlers
 * reach it through AWS_ENDPOINT_URL_SQS with their ordinary SDK client. GetQueueUrl,
 * ReceiveMessage and DeleteMessageBatch serve the operator's scripts (`npm run redrive`).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { LocalQueue } from './queue';
import { awsError, startAwsJsonStandIn } from './standins/aws-json';

export interface SqsStandIn {
  endpoint: string;
  /** The URL a handler is given for `queue`. */
  urlOf(queue: LocalQueue): string;
  stop(): Promise<void>;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
/** SQS refuses bodies over 256 KiB. */
const maxBodyBytes = 262_144;

export async function startSqsStandIn(options: {
  queues: readonly LocalQueue[];
  port?: number;
}): Promise<SqsStandIn> {
  let endpoint = '';
  const urlOf = (queue: LocalQueue) => `${endpoint}/000000000000/${queue.name}`;
  const queueAt = (url: unknown) =>
    options.queues.find((queue) => typeof url === 'string' && url === urlOf(queue));
  const noQueue = () =>
    awsError(400, 'com.amazonaws.sqs#QueueDoesNotExist', 'The specified queue does not exist.');

  const standIn = await startAwsJsonStandIn({
    port: options.port,
    operations: {
      'AmazonSQS.SendMessage': (input) => {
        const queue = queueAt(input.QueueUrl);
        if (!queue) return noQueue();
        const body = input.MessageBody;
        if (typeof body !== 'string' || body.length === 0 || Buffer.byteLength(body) > maxBodyBytes)
          return awsError(400, 'com.amazonaws.sqs#InvalidParameterValue', 'Invalid MessageBody.');
        return { status: 200, body: { MessageId: queue.send(body), MD5OfMessageBody: md5(body) } };
      },
      'AmazonSQS.SendMessageBatch': (input) => {
        const queue = queueAt(input.QueueUrl);
        if (!queue) return noQueue();
        const entries = input.Entries as { Id?: string; MessageBody?: unknown }[] | undefined;
        if (!Array.isArray(entries) || entries.length === 0)
          return awsError(400, 'com.amazonaws.sqs#EmptyBatchRequest', 'The batch is empty.');
        if (entries.length > 10)
          return awsError(400, 'com.amazonaws.sqs#TooManyEntriesInBatchRequest', 'Over 10.');
        const Successful: unknown[] = [];
        const Failed: unknown[] = [];
        for (const entry of entries) {
          const body = entry.MessageBody;
          if (
            typeof body !== 'string' ||
            body.length === 0 ||
            Buffer.byteLength(body) > maxBodyBytes
          ) {
            Failed.push({ Id: entry.Id, SenderFault: true, Code: 'InvalidParameterValue' });
            continue;
          }
          Successful.push({
            Id: entry.Id,
            MessageId: queue.send(body) || randomUUID(),
            MD5OfMessageBody: md5(body),
          });
        }
        return { status: 200, body: { Successful, Failed } };
      },
      'AmazonSQS.GetQueueUrl': (input) => {
        const queue = options.queues.find((q) => q.name === input.QueueName);
        return queue ? { status: 200, body: { QueueUrl: urlOf(queue) } } : noQueue();
      },
      'AmazonSQS.ReceiveMessage': (input) => {
        const queue = queueAt(input.QueueUrl);
        if (!queue) return noQueue();
        const max = typeof input.MaxNumberOfMessages === 'number' ? input.MaxNumberOfMessages : 1;
        if (!Number.isInteger(max) || max < 1 || max > 10)
          return awsError(400, 'com.amazonaws.sqs#InvalidParameterValue', 'MaxNumberOfMessages.');
        const visibility =
          typeof input.VisibilityTimeout === 'number' ? input.VisibilityTimeout : 30;
        const Messages = queue.take(max, visibility * 1000).map((message) => ({
          MessageId: message.messageId,
          ReceiptHandle: message.receiptHandle,
          MD5OfBody: md5(message.body),
          Body: message.body,
          Attributes: { ApproximateReceiveCount: String(message.receiveCount) },
        }));
        return { status: 200, body: Messages.length > 0 ? { Messages } : {} };
      },
      'AmazonSQS.DeleteMessageBatch': (input) => {
        const queue = queueAt(input.QueueUrl);
        if (!queue) return noQueue();
        const entries = input.Entries as { Id?: string; ReceiptHandle?: unknown }[] | undefined;
        if (!Array.isArray(entries) || entries.length === 0)
          return awsError(400, 'com.amazonaws.sqs#EmptyBatchRequest', 'The batch is empty.');
        if (entries.length > 10)
          return awsError(400, 'com.amazonaws.sqs#TooManyEntriesInBatchRequest', 'Over 10.');
        const Successful: unknown[] = [];
        const Failed: unknown[] = [];
        for (const entry of entries) {
          if (typeof entry.ReceiptHandle === 'string' && queue.deleteReceived(entry.ReceiptHandle))
            Successful.push({ Id: entry.Id });
          else Failed.push({ Id: entry.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid' });
        }
        return { status: 200, body: { Successful, Failed } };
      },
    },
  });
  endpoint = standIn.endpoint;
  return { endpoint, urlOf, stop: () => standIn.stop() };
}
