/**
 * The automatic refresh's schedule: which active tokens are due to be refreshed now (a sparse,
 * bucketed read of the refresh index, so its cost follows the tokens due, not the table), and
 * moving a token's refresh on after an attempt that stored nothing.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { updateIf } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { refreshIndex } from '#storage/table';
import { dueBuckets, readBuckets, refreshAttributes, refreshKeys } from './filing';

/** A token due for refresh, as the refresh job hands it to the refresher. */
export interface RefreshRequest {
  accountId: string;
  generation: number;
}

export interface RefreshSchedule {
  /** The tokens due for refresh at `now`, page by page. */
  tokensDueForRefresh(now: Date, lookbackDays: number): AsyncGenerator<RefreshRequest[]>;
  /**
   * Files the token's next try at `retryAt` after `failures` passing failures in a row, only
   * while it is still that active generation. False: it moved on meanwhile.
   */
  fileRefreshRetry(
    request: RefreshRequest,
    retryAt: string,
    failures: number,
    now: Date,
  ): Promise<boolean>;
  /** Takes the token off the refresh schedule (Instagram can no longer refresh it). */
  dropRefresh(request: RefreshRequest): Promise<boolean>;
}

export function createRefreshSchedule(
  db: DynamoDBDocumentClient,
  tableName: string,
): RefreshSchedule {
  /** An update of the account that holds only while it is still that active generation. */
  const updateActive = (
    request: RefreshRequest,
    update: { UpdateExpression: string; ExpressionAttributeValues?: Record<string, unknown> },
  ): Promise<boolean> =>
    updateIf(db, {
      TableName: tableName,
      Key: keys.account(request.accountId),
      UpdateExpression: update.UpdateExpression,
      ConditionExpression: 'generation = :generation AND tokenStatus = :active',
      ExpressionAttributeValues: {
        ...update.ExpressionAttributeValues,
        ':generation': request.generation,
        ':active': 'active',
      },
    });

  return {
    async *tokensDueForRefresh(now, lookbackDays) {
      for await (const items of readBuckets(
        db,
        tableName,
        refreshIndex,
        dueBuckets(now, lookbackDays),
        now,
      )) {
        yield items.map((item) => ({
          accountId: item.accountId as string,
          generation: item.generation as number,
        }));
      }
    },

    fileRefreshRetry(request, retryAt, failures, now) {
      const filed = refreshKeys(request.accountId, retryAt, now);
      return updateActive(request, {
        UpdateExpression:
          'SET refreshBucket = :bucket, refreshAt = :at, refreshFailures = :failures',
        ExpressionAttributeValues: {
          ':bucket': filed.refreshBucket,
          ':at': filed.refreshAt,
          ':failures': failures,
        },
      });
    },

    dropRefresh: (request) =>
      updateActive(request, { UpdateExpression: `REMOVE ${refreshAttributes.join(', ')}` }),
  };
}
