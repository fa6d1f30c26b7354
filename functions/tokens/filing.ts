/**
 * Where a token is filed, and how a job reads what is filed: the two sparse indexes' keys (a day
 * split into shards, so a busy day is no hot partition), the filing of an active token (its next
 * announcement for the check, its refresh for the automatic refresh), and the bucket-by-bucket
 * read whose cost follows the work due, not the table.
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dueShards } from '#storage/table';
import { DAY_MS, toInstant } from './lifecycle';
import {
  firstRefreshAt,
  nextAnnouncement,
  warningReason,
  type TokenSchedule,
} from './token-schedule';

const dayOf = (instant: string): string => instant.slice(0, 10);

/** The shard of a bucket a key falls in (an account's id; a waiting notice's recipient). */
export function shardOf(key: string): number {
  let hash = 0;
  for (const char of key) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % dueShards;
}

/**
 * A token is filed under the day it becomes due, but never under a day before it was written:
 * a token stored already expired is due today, so a check with a short look-back still sees it.
 */
function bucketOf(accountId: string, at: string, now: Date) {
  const instant = toInstant(at);
  const day = dayOf(instant < now.toISOString() ? now.toISOString() : instant);
  return { bucket: `${day}#${shardOf(accountId)}`, at: instant };
}

export function dueKeys(accountId: string, dueAt: string, now: Date) {
  const { bucket, at } = bucketOf(accountId, dueAt, now);
  return { dueBucket: bucket, dueAt: at };
}

/** The refresh index's keys: the same days and shards, in their own partitions. */
export function refreshKeys(accountId: string, refreshAt: string, now: Date) {
  const { bucket, at } = bucketOf(accountId, refreshAt, now);
  return { refreshBucket: bucket, refreshAt: at };
}

/** An account item's index attributes to set, and those to remove. */
export interface Filing {
  set: Record<string, string>;
  remove: string[];
}

/** Attributes of the schedule that only an active token carries. */
export const refreshAttributes = ['refreshBucket', 'refreshAt', 'refreshFailures'] as const;

/**
 * Where an active token is filed: its next announcement (warning or expiry) in the due index,
 * and its first refresh in the refresh index (none when Instagram could not refresh it in time).
 */
export function activeTokenFiling(
  accountId: string,
  token: { expiresAt: string; issuedAt: string },
  now: Date,
  schedule: TokenSchedule,
): Filing {
  const announcement = announcementFiling(accountId, token.expiresAt, now, schedule);
  // A token stored already past its expiry can only be reconnected: nothing to refresh.
  const refreshAt =
    Date.parse(token.expiresAt) > now.getTime() ? firstRefreshAt(token, schedule) : undefined;
  return refreshAt === undefined
    ? { set: announcement.set, remove: [...announcement.remove, ...refreshAttributes] }
    : {
        set: { ...announcement.set, ...refreshKeys(accountId, refreshAt, now) },
        remove: [...announcement.remove, 'refreshFailures'],
      };
}

/** The due index entry of an active token's next announcement, after `warnedDaysLeft`. */
export function announcementFiling(
  accountId: string,
  expiresAt: string,
  now: Date,
  schedule: TokenSchedule,
  warnedDaysLeft?: number,
): Filing {
  const next = nextAnnouncement(expiresAt, now, schedule, warnedDaysLeft);
  const keys = dueKeys(accountId, next.at, now);
  return next.step === 'warning'
    ? { set: { ...keys, dueReason: warningReason(next.daysLeft) }, remove: [] }
    : { set: keys, remove: ['dueReason'] };
}

/** A filing as the parts of an UpdateExpression, its values named `:filing<n>`. */
export function filingUpdate(filing: Filing) {
  const entries = Object.entries(filing.set);
  return {
    set: entries.map(([name], index) => `${name} = :filing${index}`),
    remove: filing.remove,
    values: Object.fromEntries(entries.map(([, value], index) => [`:filing${index}`, value])),
  };
}

/** Every bucket a check reads: each shard of each day from the look-back to today. */
export function dueBuckets(now: Date, lookbackDays: number): string[] {
  const buckets: string[] = [];
  for (let back = lookbackDays; back >= 0; back -= 1) {
    const day = dayOf(new Date(now.getTime() - back * DAY_MS).toISOString());
    for (let shard = 0; shard < dueShards; shard += 1) buckets.push(`${day}#${shard}`);
  }
  return buckets;
}

/**
 * The items of a bucketed index due by `now` (sort key at or before it), page by page: the read
 * that makes the check's and the refresh job's cost follow the work due, not the table.
 */
export async function* readBuckets(
  db: DynamoDBDocumentClient,
  tableName: string,
  index: { name: string; partitionKey: string; sortKey: string },
  buckets: readonly string[],
  now: Date,
): AsyncGenerator<Record<string, unknown>[]> {
  for (const bucket of buckets) {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.name,
          KeyConditionExpression: '#bucket = :bucket AND #at <= :now',
          ExpressionAttributeNames: { '#bucket': index.partitionKey, '#at': index.sortKey },
          ExpressionAttributeValues: { ':bucket': bucket, ':now': now.toISOString() },
          ExclusiveStartKey,
        }),
      );
      ExclusiveStartKey = page.LastEvaluatedKey;
      if (page.Items && page.Items.length > 0) yield page.Items;
    } while (ExclusiveStartKey);
  }
}

/** A filing as a whole UpdateExpression (its values in `filingUpdate(...).values`). */
export function filingExpression(update: ReturnType<typeof filingUpdate>): string {
  return [
    update.set.length > 0 ? `SET ${update.set.join(', ')}` : '',
    update.remove.length > 0 ? `REMOVE ${update.remove.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}
