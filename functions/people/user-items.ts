/**
 * Every item that names a user, found without a scan: their own partition (profile,
 * preferences) and whatever the member index files under them (the accounts they own, their
 * developer roles, the send-once records of the emails they were sent). For erasure (users.ts).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchDeleteAll, partitionKeys, queryAll } from '#platform/dynamodb';
import { userPartition } from '#storage/keys';
import { memberIndex } from '#storage/table';

export interface ItemKey {
  pk: string;
  sk: string;
}

/** An item the member index files under a user, and how it names them (`memberRelation`). */
export interface NamedItem {
  key: ItemKey;
  relation: string;
}

export interface UserItemStore {
  /** The keys of every item in the user's own partition. */
  ownItemsOf(userId: string): Promise<ItemKey[]>;
  /** Every item the member index files under the user. */
  itemsNaming(userId: string): Promise<NamedItem[]>;
  deleteItems(keys: readonly ItemKey[]): Promise<void>;
}

export function createUserItemStore(db: DynamoDBDocumentClient, tableName: string): UserItemStore {
  return {
    ownItemsOf: (userId) => partitionKeys(db, tableName, userPartition(userId)),

    async itemsNaming(userId) {
      const items = await queryAll(db, {
        TableName: tableName,
        IndexName: memberIndex.name,
        KeyConditionExpression: '#member = :userId',
        ExpressionAttributeNames: {
          '#member': memberIndex.partitionKey,
          '#rel': memberIndex.sortKey,
        },
        ExpressionAttributeValues: { ':userId': userId },
        ProjectionExpression: 'pk, sk, #rel',
      });
      return items.map((item) => ({
        key: { pk: item.pk as string, sk: item.sk as string },
        relation: item[memberIndex.sortKey] as string,
      }));
    },

    deleteItems: (keys) =>
      batchDeleteAll(
        db,
        tableName,
        keys.map((key) => ({ ...key })),
      ),
  };
}
