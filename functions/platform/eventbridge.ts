/**
 * The one adapter over EventBridge: PutEvents to a bus, ten entries per call (the API's limit),
 * re-sending only the entries EventBridge failed with a transient error, with backoff. An entry
 * it refuses for good (or that is still failing after the last attempt) is reported, not thrown,
 * so one bad entry never stops the others. The endpoint comes from AWS_ENDPOINT_URL_EVENTBRIDGE
 * locally, like every other client. What the events are is tokens/event-publisher.ts's business.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { backoffDelay, isTransientAwsError, sleep as realSleep } from './retry';

export const maxEntriesPerCall = 10;

export interface RejectedEvent<Detail> {
  detail: Detail;
  errorCode: string;
  errorMessage?: string;
}

export interface PublishOutcome<Detail> {
  accepted: Detail[];
  rejected: RejectedEvent<Detail>[];
}

export class EventNotPublishedError extends Error {
  override name = 'EventNotPublishedError';
}

export interface BusPublisherOptions {
  client?: EventBridgeClient;
  busName: string;
  /** the `source` of every event */
  source: string;
  /** @default 4 — calls per chunk of ten, the first one included */
  maxAttempts?: number;
  /** @default 100 — the first backoff, doubled on each retry (full jitter) */
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Entry error codes that may succeed when sent again; anything else is final. */
const transientEntryError = /throttl|internal|unavailable|timeout/i;

export interface BusPublisher {
  /**
   * Puts one event per detail, `detailOf` choosing exactly what each carries; answers which the
   * bus accepted and which it did not.
   */
  publish<Detail>(
    detailType: string,
    details: readonly Detail[],
    detailOf: (detail: Detail) => Record<string, unknown>,
  ): Promise<PublishOutcome<Detail>>;
}

export function createBusPublisher(options: BusPublisherOptions): BusPublisher {
  // The SDK's own retries are off: this adapter's policy is the one policy, not multiplied by it.
  const client = options.client ?? new EventBridgeClient({ maxAttempts: 1 });
  const maxAttempts = options.maxAttempts ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const sleep = options.sleep ?? realSleep;

  async function publishChunk<Detail>(
    chunk: Detail[],
    entryOf: (detail: Detail) => PutEventsRequestEntry,
    outcome: PublishOutcome<Detail>,
  ) {
    let pending = chunk;
    let lastErrors = new Map<Detail, { code: string; message?: string }>();
    for (let attempt = 0; attempt < maxAttempts && pending.length > 0; attempt += 1) {
      if (attempt > 0) await sleep(backoffDelay(attempt, baseDelayMs));
      let entries;
      try {
        const result = await client.send(new PutEventsCommand({ Entries: pending.map(entryOf) }));
        entries = result.Entries ?? [];
      } catch (error) {
        const code = (error as { name?: string }).name ?? 'Error';
        lastErrors = new Map(pending.map((detail) => [detail, { code, message: String(error) }]));
        if (isTransientAwsError(error)) continue;
        break;
      }
      const retry: Detail[] = [];
      lastErrors = new Map();
      pending.forEach((detail, index) => {
        const entry = entries[index];
        if (entry?.EventId && !entry.ErrorCode) {
          outcome.accepted.push(detail);
          return;
        }
        const code = entry?.ErrorCode ?? 'MissingResultEntry';
        lastErrors.set(detail, { code, message: entry?.ErrorMessage });
        if (transientEntryError.test(code)) retry.push(detail);
        else outcome.rejected.push({ detail, errorCode: code, errorMessage: entry?.ErrorMessage });
      });
      pending = retry;
    }
    for (const detail of pending) {
      const last = lastErrors.get(detail);
      outcome.rejected.push({
        detail,
        errorCode: last?.code ?? 'Unknown',
        errorMessage: last?.message,
      });
    }
  }

  return {
    async publish(detailType, details, detailOf) {
      type Detail = (typeof details)[number];
      const entryOf = (detail: Detail): PutEventsRequestEntry => ({
        EventBusName: options.busName,
        Source: options.source,
        DetailType: detailType,
        Detail: JSON.stringify(detailOf(detail)),
      });
      const outcome: PublishOutcome<Detail> = { accepted: [], rejected: [] };
      for (let start = 0; start < details.length; start += maxEntriesPerCall) {
        await publishChunk(details.slice(start, start + maxEntriesPerCall), entryOf, outcome);
      }
      return outcome;
    },
  };
}
