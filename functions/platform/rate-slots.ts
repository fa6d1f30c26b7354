/**
 * A pace shared by every process that calls one outside service: time is cut into slots of
 * 1/rate of a second, and a caller may call only in a slot it claimed with a conditional write
 * (the first writer of a slot's item wins it). However many Lambdas run, no second holds more
 * calls than the rate, and each call leaves at the start of its slot, so they stay spread out
 * where the service receives them too.
 */
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamodb';
import { sleep as realSleep } from './retry';

export interface RateSlots {
  /** Resolves at the start of a slot the caller now holds: call then, once. */
  take(): Promise<void>;
}

export interface RateSlotOptions {
  db: DynamoDBDocumentClient;
  tableName: string;
  keyOf: (slot: number) => Record<string, string>;
  perSecond: number;
  /** The real clock in milliseconds: slots are real time, whatever the product's clock says. */
  nowMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How long a slot's item is kept, for TTL. @default 3600 */
  keepSeconds?: number;
}

/** Attempts before giving up: far more than any number of callers at once would need. */
const maxAttempts = 200;

export class NoRateSlotError extends Error {
  override name = 'NoRateSlotError';
}

export function createRateSlots(options: RateSlotOptions): RateSlots {
  const slotMs = 1000 / options.perSecond;
  const nowMs = options.nowMs ?? (() => Date.now());
  const sleep = options.sleep ?? realSleep;
  const keepSeconds = options.keepSeconds ?? 3600;

  async function claim(slot: number): Promise<boolean> {
    try {
      await options.db.send(
        new PutCommand({
          TableName: options.tableName,
          Item: {
            ...options.keyOf(slot),
            ttl: Math.ceil((slot * slotMs) / 1000) + keepSeconds,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  return {
    async take() {
      let slot = Math.ceil(nowMs() / slotMs);
      for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
        if (await claim(slot)) {
          const wait = slot * slotMs - nowMs();
          if (wait > 0) await sleep(wait);
          // Claimed too late to call inside it (a slow write): calling now would crowd the next
          // slot's call, so this one is given up and a later one taken.
          if (nowMs() < (slot + 1) * slotMs) return;
        }
        slot = Math.max(slot + 1, Math.ceil(nowMs() / slotMs));
      }
      throw new NoRateSlotError(`No free slot after ${maxAttempts} attempts`);
    },
  };
}
