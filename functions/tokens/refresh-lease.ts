/**
 * One refresh per token in flight. Before asking Instagram for a token's successor, a refresh
 * takes a short lease on the account item for that generation; a concurrent one finds it taken
 * and waits for the winner instead of calling Instagram too (fifty clicks would otherwise burn
 * fifty calls of the app's rate limit and throw away 49 fresh tokens). Storing the next
 * generation ends the lease; a refresh that stores nothing gives it back.
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#platform/dynamodb';
import { keys } from '#storage/keys';

export interface RefreshLease {
  /**
   * Takes the right to ask Instagram for this generation's successor, for `seconds`: false while
   * someone else holds it, or when the generation moved on. One refresh per token in flight, so
   * concurrent refreshes cost one Instagram call, not one each.
   */
  takeRefreshLease(
    accountId: string,
    generation: number,
    now: Date,
    seconds: number,
  ): Promise<boolean>;
  /** Gives the lease back after a refresh that stored nothing, so the next may try at once. */
  releaseRefreshLease(accountId: string, generation: number): Promise<void>;
}

export function createRefreshLease(db: DynamoDBDocumentClient, tableName: string): RefreshLease {
  return {
    async takeRefreshLease(accountId, generation, now, seconds) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(accountId),
            UpdateExpression: 'SET refreshLeaseUntil = :until',
            ConditionExpression:
              'generation = :generation AND ' +
              '(attribute_not_exists(refreshLeaseUntil) OR refreshLeaseUntil <= :now)',
            ExpressionAttributeValues: {
              ':until': new Date(now.getTime() + seconds * 1000).toISOString(),
              ':generation': generation,
              ':now': now.toISOString(),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async releaseRefreshLease(accountId, generation) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(accountId),
            UpdateExpression: 'REMOVE refreshLeaseUntil',
            ConditionExpression: 'generation = :generation',
            ExpressionAttributeValues: { ':generation': generation },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },
  };
}
