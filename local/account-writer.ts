/**
 * Writing an account item as DESIGN.md lists its fields, status, generation and cause included:
 * what `/_local/seed`, the tests and the bench need to set up any state. Production writes
 * accounts only through the widget service's connect (tokens/connect.ts) and the token flows.
 */
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Item } from '../functions/platform/dynamodb';
import { keys, memberRelationKey } from '../functions/storage/keys';
import type { AccountSummary } from '../functions/tokens/account';
import { summaryOf } from '../functions/tokens/accounts';
import { activeTokenFiling, refreshAttributes } from '../functions/tokens/filing';
import { defaultTokenSchedule } from '../functions/tokens/token-schedule';
import { defaultCause, toInstant } from '../functions/tokens/lifecycle';
import {
  seededAccount as instagramAccountSchema,
  seededIssuedAt,
  type SeededAccount as InstagramAccount,
  type SeededAccountInput as InstagramAccountInput,
} from './seeded-account';

export interface AccountWriter {
  putAccount(input: InstagramAccountInput, now: Date): Promise<AccountSummary>;
}

export function createAccountWriter(db: DynamoDBDocumentClient, tableName: string): AccountWriter {
  return { putAccount: (input, now) => writeAccount(db, tableName, input, now) };
}

/**
 * Stores a connected account, over whatever was there. Without an explicit generation, a
 * token stored over an existing one is its next generation, so the records of the old
 * token's emails cannot silence the new token's expiry.
 */
async function writeAccount(
  db: DynamoDBDocumentClient,
  tableName: string,
  input: InstagramAccountInput,
  now: Date,
): Promise<AccountSummary> {
  const account: InstagramAccount = instagramAccountSchema.parse(input);
  const expiresAt = toInstant(account.expiresAt);
  const watched = account.tokenStatus === 'active';
  const issuedAt = seededIssuedAt(account, now);
  const filing = watched
    ? activeTokenFiling(account.accountId, { expiresAt, issuedAt }, now, defaultTokenSchedule)
    : { set: {}, remove: ['dueBucket', 'dueAt', 'dueReason', ...refreshAttributes] };
  const attributes: Item = {
    accountId: account.accountId,
    ownerUserId: account.ownerUserId,
    username: account.username,
    accessToken: account.accessToken,
    expiresAt,
    tokenStatus: account.tokenStatus,
    // A token that is not active carries its cause; a new active one has none (removed below).
    ...(account.tokenStatus === 'active'
      ? {}
      : { cause: account.cause ?? defaultCause(account.tokenStatus) }),
    tokenIssuedAt: issuedAt,
    memberUserId: account.ownerUserId,
    memberRelation: memberRelationKey.owner(account.accountId),
    ...filing.set,
  };
  if (account.generation !== undefined) {
    const item = {
      ...keys.account(account.accountId),
      ...attributes,
      generation: account.generation,
    };
    await db.send(new PutCommand({ TableName: tableName, Item: item }));
    return summaryOf(item);
  }
  const names = Object.keys(attributes);
  const removed = watched ? [...filing.remove, 'cause'] : filing.remove;
  const result = await db.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.account(account.accountId),
      UpdateExpression:
        `SET ${names.map((_, i) => `#a${i} = :a${i}`).join(', ')}, ` +
        '#generation = if_not_exists(#generation, :zero) + :one ' +
        `REMOVE ${removed.map((_, i) => `#r${i}`).join(', ')}`,
      ExpressionAttributeNames: {
        ...Object.fromEntries(names.map((name, i) => [`#a${i}`, name])),
        ...Object.fromEntries(removed.map((name, i) => [`#r${i}`, name])),
        '#generation': 'generation',
      },
      ExpressionAttributeValues: {
        ...Object.fromEntries(names.map((name, i) => [`:a${i}`, attributes[name]])),
        ':zero': 0,
        ':one': 1,
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return summaryOf(result.Attributes ?? {});
}
