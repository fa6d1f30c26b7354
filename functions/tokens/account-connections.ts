/**
 * Writing what the widget service says about an account (connect.ts): a connected token stored
 * whole as a given generation, the owner and name changed in place, or every item of the account
 * deleted. Apart from accounts.ts so each stays small; both spell the same item through
 * storage/keys.ts and read it through `summaryOf`.
 */
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchDeleteAll, isConditionFailure, partitionKeys, type Item } from '#platform/dynamodb';
import { accountPartition, keys, memberRelationKey } from '#storage/keys';
import type { AccountConnection, AccountSummary } from './account';
import { summaryOf, updateAtGeneration, type AccountWithToken } from './accounts';
import { activeTokenFiling } from './filing';
import { GenerationConflictError } from './errors';
import { inferredIssuedAt, toInstant } from './lifecycle';
import { defaultTokenSchedule, type TokenSchedule } from './token-schedule';

/** What connecting an account from the widget service needs (connect.ts). */
export interface AccountConnector {
  getAccountWithToken(accountId: string): Promise<AccountWithToken | undefined>;
  /**
   * Stores a connected token as `generation`, watched from now on, over the stored
   * `previousGeneration` (undefined: only if there is no account yet). Throws a
   * GenerationConflictError when the stored account moved on meanwhile.
   */
  storeConnectedToken(
    accountId: string,
    connection: AccountConnection,
    generation: number,
    previousGeneration: number | undefined,
    now: Date,
  ): Promise<AccountSummary>;
  /** Changes who owns the account and its name, only at `generation` (else a conflict). */
  updateAccountDetails(
    accountId: string,
    generation: number,
    details: Pick<AccountConnection, 'ownerUserId' | 'username'>,
  ): Promise<AccountSummary>;
}

/** Deleting an account: every item of its partition (token, roles, records, links). */
export interface AccountEraser {
  deleteAccountItems(accountId: string): Promise<void>;
}

export function createAccountConnections(
  db: DynamoDBDocumentClient,
  tableName: string,
  /** when the tokens it stores are refreshed and warned about */
  schedule: TokenSchedule = defaultTokenSchedule,
): Omit<AccountConnector, 'getAccountWithToken'> & AccountEraser {
  return {
    async storeConnectedToken(accountId, connection, generation, previousGeneration, now) {
      const expiresAt = toInstant(connection.expiresAt);
      const issuedAt = connection.issuedAt
        ? toInstant(connection.issuedAt)
        : inferredIssuedAt(expiresAt, now);
      const item: Item = {
        ...keys.account(accountId),
        accountId,
        ownerUserId: connection.ownerUserId,
        username: connection.username,
        accessToken: connection.accessToken,
        expiresAt,
        tokenStatus: 'active',
        tokenIssuedAt: issuedAt,
        generation,
        memberUserId: connection.ownerUserId,
        memberRelation: memberRelationKey.owner(accountId),
        // Watched from now on: a token stored already expired is due today (due-tokens.ts), and
        // refreshed from its first refresh on.
        ...activeTokenFiling(accountId, { expiresAt, issuedAt }, now, schedule).set,
      };
      try {
        // A whole new item: whatever the old token left (its cause, a refresh lease) goes.
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: item,
            ...(previousGeneration === undefined
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: 'generation = :previous',
                  ExpressionAttributeValues: { ':previous': previousGeneration },
                }),
          }),
        );
      } catch (error) {
        if (isConditionFailure(error))
          throw new GenerationConflictError(accountId, previousGeneration ?? 0);
        throw error;
      }
      return summaryOf(item);
    },

    updateAccountDetails: (accountId, generation, details) =>
      updateAtGeneration(db, tableName, accountId, generation, {
        UpdateExpression: 'SET ownerUserId = :owner, username = :username, memberUserId = :owner',
        ExpressionAttributeValues: { ':owner': details.ownerUserId, ':username': details.username },
      }),

    async deleteAccountItems(accountId) {
      const items = await partitionKeys(db, tableName, accountPartition(accountId));
      await batchDeleteAll(db, tableName, items);
    },
  };
}
