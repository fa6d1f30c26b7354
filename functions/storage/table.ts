/**
 * The single table's shape, as plain data. The CDK storage construct, the tests and the local
 * stack all build the table from this, so the three can never disagree about a key or an index.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const tableKeys = { partitionKey: 'pk', sortKey: 'sk' } as const;

/**
 * Sparse: only tokens that still need watching carry `dueBucket`/`dueAt`. A bucket is one day
 * (the day the token becomes due, never earlier than the day it was written) split into
 * `dueShards` partitions so that a busy day does not become a hot partition.
 */
export const dueIndex = {
  name: 'due-tokens',
  partitionKey: 'dueBucket',
  sortKey: 'dueAt',
  // Everything the check needs to publish an event; never the access token. `dueReason` carries
  // the cause of a token Instagram refused (tokens/due-tokens.ts). A GSI's projection cannot be
  // changed in place (CloudFormation: "Updates are not supported"), so a new attribute here
  // means a new index under another name, deployed beside this one and switched to.
  projected: ['accountId', 'generation', 'expiresAt', 'dueReason'],
} as const;

export const dueShards = 4;

/**
 * Sparse: only active tokens the automatic refresh will ask Instagram about carry
 * `refreshBucket`/`refreshAt`: when to refresh next (the first time, or again after a passing
 * failure), bucketed by day and shard as the due index is. The refresh job reads what is due
 * now, so its cost follows the tokens due for refresh, not the table.
 */
export const refreshIndex = {
  name: 'refresh-due',
  partitionKey: 'refreshBucket',
  sortKey: 'refreshAt',
  projected: ['accountId', 'generation', 'expiresAt'],
} as const;

/** Lists the accounts a user owns (from the account item) or develops for (from the role item). */
export const memberIndex = {
  name: 'accounts-by-member',
  partitionKey: 'memberUserId',
  sortKey: 'memberRelation',
  projected: ['accountId'],
} as const;

export const timeToLiveAttribute = 'ttl';

/**
 * Every index, in the order they were added: a deployed table takes one new index per update,
 * so a new one goes at the end (and ships alone).
 */
export const tableIndexes = [dueIndex, memberIndex, refreshIndex] as const;

export function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: tableKeys.partitionKey, AttributeType: 'S' },
      { AttributeName: tableKeys.sortKey, AttributeType: 'S' },
      { AttributeName: dueIndex.partitionKey, AttributeType: 'S' },
      { AttributeName: dueIndex.sortKey, AttributeType: 'S' },
      { AttributeName: memberIndex.partitionKey, AttributeType: 'S' },
      { AttributeName: memberIndex.sortKey, AttributeType: 'S' },
      { AttributeName: refreshIndex.partitionKey, AttributeType: 'S' },
      { AttributeName: refreshIndex.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: tableKeys.partitionKey, KeyType: 'HASH' },
      { AttributeName: tableKeys.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: tableIndexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.projected] },
    })),
  };
}
