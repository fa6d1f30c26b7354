/**
 * The accounts a user owns or develops for, through the member index: never a scan. The account
 * items file their owner there and the role items their developer, so one query finds both.
 * Send-once records are filed there too (under `NOTIFIED#…`, for erasure) and skipped here.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, queryAll } from '#platform/dynamodb';
import { keys, memberRelationKey } from '#storage/keys';
import { memberIndex } from '#storage/table';
import type { AccountSummary } from './account';
import { strongerRelation, type Relation } from './access';
import { summaryAttributes, summaryOf } from './accounts';

export interface AccountForMember extends AccountSummary {
  relation: Relation;
}

export interface Memberships {
  listAccountsOf(userId: string): Promise<AccountForMember[]>;
}

export function createMemberships(db: DynamoDBDocumentClient, tableName: string): Memberships {
  return {
    async listAccountsOf(userId) {
      const memberships = await queryAll(db, {
        TableName: tableName,
        IndexName: memberIndex.name,
        KeyConditionExpression: '#member = :userId',
        ExpressionAttributeNames: { '#member': memberIndex.partitionKey },
        ExpressionAttributeValues: { ':userId': userId },
      });
      const relationOf = new Map<string, Relation>();
      for (const item of memberships) {
        // The index also files each send-once record under its recipient (for erasure): no
        // relation to the account.
        if (!memberRelationKey.isMembership(item.memberRelation as string)) continue;
        const accountId = item.accountId as string;
        const relation = memberRelationKey.isOwner(item.memberRelation as string)
          ? 'owner'
          : 'developer';
        relationOf.set(accountId, strongerRelation(relationOf.get(accountId), relation));
      }
      const items = await batchGetAll(
        db,
        tableName,
        [...relationOf.keys()].map(keys.account),
        summaryAttributes,
      );
      return items
        .map((item) => ({
          ...summaryOf(item),
          relation: relationOf.get(item.accountId as string) ?? 'developer',
        }))
        .sort((a, b) => a.username.localeCompare(b.username));
    },
  };
}
