/**
 * An in-process SQS queue with the behaviour the notifier relies on in AWS: batches of up to
 * ten, a visibility timeout, partial batch responses (only the listed records come back), a
 * maximum receive count after which a message moves to the dead-letter queue, and a cap on
 * concurrent batches (the event source mapping's maximum concurrency).
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createHash, randomUUID } from 'node:crypto';
import { invoke } from './lambda-context';

export type QueueConsumer = (
  event: SQSEvent,
  context: Context,
) => Promise<SQSBatchResponse | undefined | null | void>; // eslint-disable-line @typescript-eslint/no-invalid-void-type -- handlers may return nothing

export interface LocalQueueOptions {
  name: string;
  /** @default 30_000 */
  visibilityTimeoutMs?: number;
  /** The consumer's timeout, as its Lambda context reports it. @default 15_000 */
  functionTimeoutMs?: number;
  /** The consumer's name, as its Lambda context (and so its log lines) reports it. @default name */
  functionName?: string;
  /** Receives after which a message goes to the dead-letter queue. @default 5 */
  maxReceiveCount?: number;
  /** @default 10 */
  batchSize?: number;
  /** Batches in flight at once. @default 2 */
  maxConcurrency?: number;
  deadLetterQueue?: LocalQueue;
  /** @default 25 */
  pollIntervalMs?: number;
  onBatchError?: (error: unknown) => void;
}

interface Message {
  messageId: string;
  body: string;
  sentAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  visibleAt: number;
  receiptHandle?: string;
}

export interface QueueStats {
  sent: number;
  deliveries: number;
  deleted: number;
  deadLettered: number;
  waiting: number;
  inFlight: number;
}

export class LocalQueue {
  readonly name: string;
  readonly arn: string;
  private readonly messages: Message[] = [];
  private readonly options: Required<Omit<LocalQueueOptions, 'deadLetterQueue' | 'onBatchError'>>;
  private consumer: QueueConsumer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private batchesInFlight = 0;
  private waiters: (() => void)[] = [];
  readonly stats: QueueStats = {
    sent: 0,
    deliveries: 0,
    deleted: 0,
    deadLettered: 0,
    waiting: 0,
    inFlight: 0,
  };

  constructor(private readonly settings: LocalQueueOptions) {
    this.name = settings.name;
    this.arn = `arn:aws:sqs:local:000000000000:${settings.name}`;
    this.options = {
      name: settings.name,
      visibilityTimeoutMs: settings.visibilityTimeoutMs ?? 30_000,
      functionTimeoutMs: settings.functionTimeoutMs ?? 15_000,
      functionName: settings.functionName ?? settings.name,
      maxReceiveCount: settings.maxReceiveCount ?? 5,
      batchSize: settings.batchSize ?? 10,
      maxConcurrency: settings.maxConcurrency ?? 2,
      pollIntervalMs: settings.pollIntervalMs ?? 25,
    };
  }

  send(body: string): string {
    const messageId = randomUUID();
    this.messages.push({ messageId, body, sentAt: Date.now(), receiveCount: 0, visibleAt: 0 });
    this.stats.sent += 1;
    this.refreshStats();
    this.schedule(0);
    return messageId;
  }

  /** Messages still in the queue, visible or not: for a dead-letter queue's inspection. */
  peek(): readonly { messageId: string; body: string; receiveCount: number }[] {
    return this.messages.map(({ messageId, body, receiveCount }) => ({
      messageId,
      body,
      receiveCount,
    }));
  }

  get size(): number {
    return this.messages.length;
  }

  /**
   * ReceiveMessage for an SDK client (through local/sqs.ts): up to `max` visible messages,
   * hidden for `visibilityMs`, each with a fresh receipt handle; redrives those received too
   * often, as for the consumer.
   */
  take(
    max: number,
    visibilityMs: number,
  ): { messageId: string; body: string; receiptHandle: string; receiveCount: number }[] {
    const batch = this.receive(max, visibilityMs);
    this.refreshStats();
    return batch.map(({ messageId, body, receiptHandle, receiveCount }) => ({
      messageId,
      body,
      receiptHandle: receiptHandle ?? '',
      receiveCount,
    }));
  }

  /** DeleteMessage for an SDK client: false when no message holds that receipt handle. */
  deleteReceived(receiptHandle: string): boolean {
    const message = this.messages.find((m) => m.receiptHandle === receiptHandle);
    if (!message) return false;
    this.remove(message);
    this.stats.deleted += 1;
    this.refreshStats();
    return true;
  }

  start(consumer: QueueConsumer): void {
    this.consumer = consumer;
    this.schedule(0);
  }

  stop(): void {
    this.consumer = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves once every message was deleted or dead-lettered and no batch is running. */
  drained(): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private isDrained(): boolean {
    return this.messages.length === 0 && this.batchesInFlight === 0;
  }

  private refreshStats(): void {
    const now = Date.now();
    this.stats.waiting = this.messages.filter((m) => m.visibleAt <= now).length;
    this.stats.inFlight = this.messages.length - this.stats.waiting;
    if (this.isDrained()) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private schedule(delayMs: number): void {
    if (!this.consumer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.poll();
    }, delayMs);
  }

  private poll(): void {
    const consumer = this.consumer;
    if (!consumer) return;
    while (this.batchesInFlight < this.options.maxConcurrency) {
      const batch = this.receive();
      if (batch.length === 0) break;
      this.batchesInFlight += 1;
      void this.deliver(consumer, batch).finally(() => {
        this.batchesInFlight -= 1;
        this.refreshStats();
        this.schedule(0);
      });
    }
    this.refreshStats();
    if (this.messages.length > 0) {
      const now = Date.now();
      const nextVisible = Math.min(...this.messages.map((m) => m.visibleAt));
      this.schedule(Math.max(this.options.pollIntervalMs, nextVisible - now));
    }
  }

  /** Takes up to a batch of visible messages, redriving those received too often. */
  private receive(
    limit = this.options.batchSize,
    visibilityMs = this.options.visibilityTimeoutMs,
  ): Message[] {
    const now = Date.now();
    const batch: Message[] = [];
    for (const message of [...this.messages]) {
      if (batch.length >= limit) break;
      if (message.visibleAt > now) continue;
      if (message.receiveCount >= this.options.maxReceiveCount) {
        this.remove(message);
        this.stats.deadLettered += 1;
        this.settings.deadLetterQueue?.send(message.body);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibilityMs;
      message.receiptHandle = randomUUID();
      batch.push(message);
    }
    return batch;
  }

  private remove(message: Message): void {
    const index = this.messages.indexOf(message);
    if (index >= 0) this.messages.splice(index, 1);
  }

  private async deliver(consumer: QueueConsumer, batch: Message[]): Promise<void> {
    this.stats.deliveries += batch.length;
    const event: SQSEvent = { Records: batch.map((message) => this.toRecord(message)) };
    let failed: Set<string>;
    try {
      const response = await invoke(
        this.options.functionName,
        this.options.functionTimeoutMs,
        (context) => consumer(event, context),
      );
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      // A thrown handler fails the whole batch, as Lambda's event source mapping does.
      this.settings.onBatchError?.(error);
      failed = new Set(batch.map((message) => message.messageId));
    }
    for (const message of batch) {
      if (failed.has(message.messageId)) continue;
      this.remove(message);
      this.stats.deleted += 1;
    }
  }

  private toRecord(message: Message): SQSRecord {
    return {
      messageId: message.messageId,
      receiptHandle: message.receiptHandle ?? '',
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(message.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: 'local',
    };
  }
}
