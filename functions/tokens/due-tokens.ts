/**
 * The schedule of what falls due when: a sparse index that only watched tokens appear in, keyed
 * by the day they fall due (split into shards, so that a busy day is no hot partition). The
 * check reads the tokens due now bucket by bucket, so its cost follows the number of due tokens,
 * not the size of the table, and marks each one expired once announced.
 */
import { UpdateCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { dueIndex, dueShards } from '#storage/table';
import {
  defaultCause,
  tokenCause,
  DAY_MS,
  toInstant,
  type ExpiryReason,
  type InvalidCause,
  type TokenCause,
} from './lifecycle';

/** A token the check has to publish: what the event carries, nothing more. */
export interface DueToken {
  accountId: string;
  generation: number;
  expiresAt: string;
  reason: ExpiryReason;
  cause: TokenCause;
}

/**
 * Why a filed token is due, as `dueReason` stores it: nothing for a token whose expiry comes,
 * the cause for one Instagram refused. The cause lives in `dueReason` rather than an attribute
 * of its own because the index already projects `dueReason`, and a GSI's projection cannot be
 * changed in place (a deploy that tried would fail). Versions before causes wrote `invalid`,
 * which reads as its default cause.
 */
export const dueReasonOf = (cause: InvalidCause): string => cause;
export function lossOf(dueReason: unknown): { reason: ExpiryReason; cause: TokenCause } {
  if (dueReason === undefined || dueReason === 'expired')
    return { reason: 'expired', cause: 'expired' };
  const cause = tokenCause.safeParse(dueReason);
  return {
    reason: 'invalid',
    cause: cause.success && cause.data !== 'expired' ? cause.data : defaultCause('invalid'),
  };
}

const dayOf = (instant: string): string => instant.slice(0, 10);

function shardOf(accountId: string): number {
  let hash = 0;
  for (const char of accountId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % dueShards;
}

/**
 * A token is filed under the day it becomes due, but never under a day before it was written:
 * a token stored already expired is due today, so a check with a short look-back still sees it.
 */
export function dueKeys(accountId: string, dueAt: string, now: Date) {
  const instant = toInstant(dueAt);
  const day = dayOf(instant < now.toISOString() ? now.toISOString() : instant);
  return { dueBucket: `${day}#${shardOf(accountId)}`, dueAt: instant };
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

/** The check's port: the tokens due now, and marking one as announced. */
export interface DueTokenSchedule {
  dueTokens(now: Date, lookbackDays: number): AsyncGenerator<DueToken[]>;
  markTokenExpired(token: DueToken): Promise<boolean>;
}

export function createDueTokenSchedule(
  db: DynamoDBDocumentClient,
  tableName: string,
): DueTokenSchedule {
  return {
    /** The tokens due at `now`, page by page, read from the sparse index bucket by bucket. */
    async *dueTokens(now, lookbackDays) {
      const nowInstant = now.toISOString();
      for (const bucket of dueBuckets(now, lookbackDays)) {
        let ExclusiveStartKey: Record<string, unknown> | undefined;
        do {
          const page = await db.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: dueIndex.name,
              KeyConditionExpression: '#bucket = :bucket AND #dueAt <= :now',
              ExpressionAttributeNames: {
                '#bucket': dueIndex.partitionKey,
                '#dueAt': dueIndex.sortKey,
              },
              ExpressionAttributeValues: { ':bucket': bucket, ':now': nowInstant },
              ExclusiveStartKey,
            }),
          );
          ExclusiveStartKey = page.LastEvaluatedKey;
          const tokens = (page.Items ?? []).map((item): DueToken => ({
            accountId: item.accountId as string,
            generation: item.generation as number,
            expiresAt: item.expiresAt as string,
            ...lossOf(item.dueReason),
          }));
          if (tokens.length > 0) yield tokens;
        } while (ExclusiveStartKey);
      }
    },

    /**
     * Marks a token expired (or invalid), with its cause, and takes it off the due index, only
     * if it is still
     * the generation the event was published for and still watched. False: someone got there
     * first (a refresh, or an earlier run of the check), which is not an error.
     */
    async markTokenExpired(token) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(token.accountId),
            UpdateExpression:
              'SET tokenStatus = :reason, #cause = :cause REMOVE dueBucket, dueAt, dueReason',
            ConditionExpression: 'generation = :generation AND attribute_exists(dueBucket)',
            ExpressionAttributeNames: { '#cause': 'cause' },
            ExpressionAttributeValues: {
              ':reason': token.reason,
              ':cause': token.cause,
              ':generation': token.generation,
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
  };
}
