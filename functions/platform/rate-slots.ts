/**
 * A pace shared by every process that calls one outside service: time is cut into slots of
 * 1/rate of a second, handed out in order from one counter item (an atomic update returns the
 * next free slot), and a caller calls only at the start of the slot it was given. However many
 * Lambdas run, no second holds more calls than the rate, and the calls stay spread out where the
 * service receives them too. One write per call while calls queue up, two when the counter fell
 * behind (the fleet was idle); no caller searches for a free slot.
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamodb';
import { sleep as realSleep } from './retry';

export interface RateSlots {
  /** Resolves at the start of a slot the caller now holds: call then, once. */
  take(): Promise<void>;
}

export interface RateSlotOptions {
  db: DynamoDBDocumentClient;
  tableName: string;
  /** The counter item's key. */
  key: Record<string, string>;
  perSecond: number;
  /** The real clock in milliseconds: slots are real time, whatever the product's clock says. */
  nowMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Attempts before giving up: far more than any number of callers at once would need. */
const maxAttempts = 50;

export class NoRateSlotError extends Error {
  override name = 'NoRateSlotError';
}

export function createRateSlots(options: RateSlotOptions): RateSlots {
  const slotMs = 1000 / options.perSecond;
  const nowMs = options.nowMs ?? (() => Date.now());
  const sleep = options.sleep ?? realSleep;

  // How long a write to the counter takes (a moving average): a slot is asked for that far
  // ahead, or at high rates every slot given would have begun by the time the answer came.
  let writeMs = 10;
  const timed = async <T>(write: () => Promise<T>): Promise<T> => {
    const started = nowMs();
    try {
      return await write();
    } finally {
      writeMs = 0.8 * writeMs + 0.2 * Math.max(0, nowMs() - started);
    }
  };

  /** The next slot from the counter, never one that has begun: the fleet may have been idle. */
  async function nextSlot(): Promise<number> {
    const earliest = Math.ceil((nowMs() + 2 * writeMs) / slotMs);
    try {
      const result = await timed(() =>
        options.db.send(
          new UpdateCommand({
            TableName: options.tableName,
            Key: options.key,
            UpdateExpression: 'SET nextSlot = nextSlot + :one',
            ConditionExpression: 'nextSlot >= :earliest',
            ExpressionAttributeValues: { ':one': 1, ':earliest': earliest },
            ReturnValues: 'UPDATED_OLD',
          }),
        ),
      );
      return result.Attributes?.nextSlot as number;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // The counter is behind (nobody called for a while), or missing: start it at `earliest`. If
    // another caller moved it meanwhile, this fails and the caller asks again.
    try {
      await timed(() =>
        options.db.send(
          new UpdateCommand({
            TableName: options.tableName,
            Key: options.key,
            UpdateExpression: 'SET nextSlot = :after',
            ConditionExpression: 'attribute_not_exists(nextSlot) OR nextSlot < :earliest',
            ExpressionAttributeValues: { ':after': earliest + 1, ':earliest': earliest },
          }),
        ),
      );
      return earliest;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return -1;
    }
  }

  return {
    async take() {
      for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
        const slot = await nextSlot();
        if (slot < 0) continue;
        const wait = slot * slotMs - nowMs();
        if (wait > 0) await sleep(wait);
        // Given a slot too late to call early in it (a slow write): calling now would crowd the
        // next slot's call, and a call late in the last slot of a second arrives in the next
        // second with all of that second's calls (npm run bench counted 21 at 20/s). So a call
        // leaves in the first half of its slot, or the slot is given up and a later one taken.
        if (nowMs() < (slot + 0.5) * slotMs) return;
      }
      throw new NoRateSlotError(`No slot after ${maxAttempts} attempts`);
    },
  };
}
