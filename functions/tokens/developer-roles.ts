/**
 * Developer roles: a user the client gave a developer role on their Instagram account. A role
 * item sits beside the account's token item and is also filed in the member index, so a user's
 * accounts are one query away (memberships.ts).
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { queryAll } from '#platform/dynamodb';
import { accountItemPrefixes, keys, memberRelationKey } from '#storage/keys';
import { developerRole as developerRoleSchema, type DeveloperRole } from './account';

/** Who holds a role on an account: what access and the recipients rule ask. */
export interface DeveloperRoleReader {
  listDeveloperIds(accountId: string): Promise<string[]>;
  hasDeveloperRole(accountId: string, userId: string): Promise<boolean>;
}

export interface DeveloperRoleRepository extends DeveloperRoleReader {
  putDeveloperRole(role: DeveloperRole, now: Date): Promise<void>;
  deleteDeveloperRole(accountId: string, userId: string): Promise<void>;
}

export function createDeveloperRoleRepository(
  db: DynamoDBDocumentClient,
  tableName: string,
): DeveloperRoleRepository {
  return {
    async putDeveloperRole(role, now) {
      const valid = developerRoleSchema.parse(role);
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...keys.developerRole(valid.accountId, valid.userId),
            accountId: valid.accountId,
            userId: valid.userId,
            grantedAt: valid.grantedAt ?? now.toISOString(),
            memberUserId: valid.userId,
            memberRelation: memberRelationKey.developer(valid.accountId),
          },
        }),
      );
    },

    async deleteDeveloperRole(accountId, userId) {
      await db.send(
        new DeleteCommand({ TableName: tableName, Key: keys.developerRole(accountId, userId) }),
      );
    },

    async listDeveloperIds(accountId) {
      const items = await queryAll(db, {
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: {
          ':pk': keys.account(accountId).pk,
          ':prefix': accountItemPrefixes.developerRole,
        },
        ProjectionExpression: 'userId',
      });
      return items.map((item) => item.userId as string);
    },

    async hasDeveloperRole(accountId, userId) {
      const role = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.developerRole(accountId, userId),
          ProjectionExpression: 'userId',
        }),
      );
      return role.Item !== undefined;
    },
  };
}
