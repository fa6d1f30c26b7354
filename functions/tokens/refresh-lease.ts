/**
 * One refresh per token in flight. Before asking Instagram for a token's successor, a refresh
 * takes a short lease on the account item for that generation; a concurrent one finds it taken
 * and waits for the winner instead of calling Instagram too (fifty clicks would otherwise burn
 * fifty calls of the app's rate limit and throw away 49 fresh tokens). Storing the next
 * generation ends the lease; a refresh that stores nothing gives it back.
 */
import { randomUUID } from 'node:crypto';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#platform/dynamodb';
import { keys } from '#storage/keys';

export interface RefreshLease {
  /**
   * Takes the right to ask Instagram for this generation's successor, for `seconds`: the lease's
   * id, or undefined while someone else holds it or when the generation moved on.
   */
  takeRefreshLease(
    accountId: string,
    generation: number,
    now: Date,
    seconds: number,
  ): Promise<string | undefined>;
  /**
   * Gives the lease back after a refresh that stored nothing, so the next may try at once. Only
   * its holder can: a refresh that outlived its lease cannot end the one that took over.
   */
  releaseRefreshLease(accountId: string, leaseId: string): Promise<void>;
}

export function createRefreshLease(db: DynamoDBDocumentClient, tableName: string): RefreshLease {
  return {
    async takeRefreshLease(accountId, generation, now, seconds) {
      const leaseId = randomUUID();
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(accountId),
            UpdateExpression: 'SET refreshLeaseUntil = :until, refreshLeaseId = :leaseId',
            ConditionExpression:
              'generation = :generation AND ' +
              '(attribute_not_exists(refreshLeaseUntil) OR refreshLeaseUntil <= :now)',
            ExpressionAttributeValues: {
              ':until': new Date(now.getTime() + seconds * 1000).toISOString(),
              ':leaseId': leaseId,
              ':generation': generation,
              ':now': now.toISOString(),
            },
          }),
        );
        return leaseId;
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
    },

    async releaseRefreshLease(accountId, leaseId) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(accountId),
            UpdateExpression: 'REMOVE refreshLeaseUntil, refreshLeaseId',
            ConditionExpression: 'refreshLeaseId = :leaseId',
            ExpressionAttributeValues: { ':leaseId': leaseId },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },
  };
}
