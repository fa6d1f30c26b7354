/**
 * The event publisher, the one adapter over EventBridge: PutEvents to the tokenwatch bus, ten
 * entries per call (the API's limit),
 * re-sending only the entries EventBridge failed with a transient error, with backoff. An entry
 * it refuses for good (or that is still failing after the last attempt) is reported, not thrown,
 * so one bad entry never stops the others. The endpoint comes from AWS_ENDPOINT_URL_EVENTBRIDGE
 * locally, like every other client.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import {
  detailTypes,
  eventSource,
  type TokenExpiredDetail,
  type TokenRefreshedDetail,
} from './schemas';
import { backoffDelay, isTransientAwsError, sleep as realSleep } from './retry';

export const maxEntriesPerCall = 10;

export interface RejectedEvent<Detail = TokenExpiredDetail> {
  detail: Detail;
  errorCode: string;
  errorMessage?: string;
}

export interface PublishOutcome<Detail = TokenExpiredDetail> {
  accepted: Detail[];
  rejected: RejectedEvent<Detail>[];
}

export interface TokenExpiredPublisher {
  publishTokenExpired(details: readonly TokenExpiredDetail[]): Promise<PublishOutcome>;
}

export interface TokenRefreshedPublisher {
  /** Throws EventNotPublishedError when the bus did not accept it after the retries. */
  publishTokenRefreshed(detail: TokenRefreshedDetail): Promise<void>;
}

export class EventNotPublishedError extends Error {
  override name = 'EventNotPublishedError';
}

export interface EventPublisherOptions {
  client?: EventBridgeClient;
  busName: string;
  /** @default 4 — calls per chunk of ten, the first one included */
  maxAttempts?: number;
  /** @default 100 — the first backoff, doubled on each retry (full jitter) */
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Entry error codes that may succeed when sent again; anything else is final. */
const transientEntryError = /throttl|internal|unavailable|timeout/i;

export function createEventPublisher(
  options: EventPublisherOptions,
): TokenExpiredPublisher & TokenRefreshedPublisher {
  // The SDK's own retries are off: this adapter's policy is the one policy, not multiplied by it.
  const client = options.client ?? new EventBridgeClient({ maxAttempts: 1 });
  const maxAttempts = options.maxAttempts ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const sleep = options.sleep ?? realSleep;

  // Only the schema's fields: nothing else the caller's object might carry reaches the bus.
  const expiredEntry = (detail: TokenExpiredDetail): PutEventsRequestEntry => ({
    EventBusName: options.busName,
    Source: eventSource,
    DetailType: detailTypes.tokenExpired,
    Detail: JSON.stringify({
      accountId: detail.accountId,
      generation: detail.generation,
      expiresAt: detail.expiresAt,
      reason: detail.reason,
    }),
  });
  const refreshedEntry = (detail: TokenRefreshedDetail): PutEventsRequestEntry => ({
    EventBusName: options.busName,
    Source: eventSource,
    DetailType: detailTypes.tokenRefreshed,
    Detail: JSON.stringify({
      accountId: detail.accountId,
      generation: detail.generation,
      expiresAt: detail.expiresAt,
      by: detail.by,
    }),
  });

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
    async publishTokenExpired(details) {
      const outcome: PublishOutcome = { accepted: [], rejected: [] };
      for (let start = 0; start < details.length; start += maxEntriesPerCall) {
        await publishChunk(details.slice(start, start + maxEntriesPerCall), expiredEntry, outcome);
      }
      return outcome;
    },
    async publishTokenRefreshed(detail) {
      const outcome: PublishOutcome<TokenRefreshedDetail> = { accepted: [], rejected: [] };
      await publishChunk([detail], refreshedEntry, outcome);
      const [rejected] = outcome.rejected;
      if (rejected) {
        throw new EventNotPublishedError(`EventBridge refused the event: ${rejected.errorCode}`);
      }
    },
  };
}
