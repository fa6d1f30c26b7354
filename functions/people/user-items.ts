/**
 * Every item that names a user, found without a scan: their own partition (profile,
 * preferences), whatever the member index files under them (the accounts they own, their
 * developer roles, the send-once records of the emails they were sent), and what SES said about
 * their address (suppression-store.ts, under its hash). For erasure (users.ts).
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchDeleteAll, partitionKeys, queryAll } from '#platform/dynamodb';
import { emailAddressPartition, keys, userPartition } from '#storage/keys';
import { memberIndex } from '#storage/table';
import { addressHash } from './suppression';

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
  /** The items about the user's address (its status, its feedback markers), if they have one. */
  addressItemsOf(userId: string): Promise<ItemKey[]>;
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

    async addressItemsOf(userId) {
      const profile = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.profile(userId),
          ProjectionExpression: 'email',
          ConsistentRead: true,
        }),
      );
      const email = profile.Item?.email as string | undefined;
      if (email === undefined) return [];
      return partitionKeys(db, tableName, emailAddressPartition(addressHash(email)));
    },

    deleteItems: (itemKeys) =>
      batchDeleteAll(
        db,
        tableName,
        itemKeys.map((key) => ({ ...key })),
      ),
  };
}
