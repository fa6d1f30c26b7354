/**
 * Instagram accounts and their tokens. The access token leaves this module in exactly one place,
 * `getAccountWithToken`, which the refresh flow needs to call Instagram, and the widget service's
 * token route (connect.ts) to hand it back; every other read projects it away.
 */
import {
  GetCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, projectionOf, updateIf, type Item } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import type { AccountSummary } from './account';
import { dueReasonOf } from './due-tokens';
import { activeTokenFiling, dueKeys, filingUpdate, refreshAttributes } from './filing';
import { GenerationConflictError } from './errors';
import { toInstant, type InvalidCause, type TokenCause, type TokenStatus } from './lifecycle';
import { defaultTokenSchedule, type TokenSchedule } from './token-schedule';

/** The attributes of an account's summary: every read but the refresh flow's projects these. */
export const summaryAttributes = [
  'accountId',
  'ownerUserId',
  'username',
  'expiresAt',
  'tokenStatus',
  'cause',
  'generation',
] as const;

export const summaryOf = (item: Item): AccountSummary => ({
  accountId: item.accountId as string,
  ownerUserId: item.ownerUserId as string,
  username: item.username as string,
  expiresAt: item.expiresAt as string,
  tokenStatus: item.tokenStatus as TokenStatus,
  // Only a token that is not active carries one (lifecycle.ts, displayedCause).
  ...(item.cause === undefined ? {} : { cause: item.cause as TokenCause }),
  generation: item.generation as number,
});

/**
 * A condition (for a transaction) that holds while the account's token is as `account` read it:
 * the same generation, status and expiry, all an announcement's staleness is judged on
 * (lifecycle.ts), so what held of the account as read holds of it as it is.
 */
export const tokenUnchangedCheck = (tableName: string, account: AccountSummary) => ({
  TableName: tableName,
  Key: keys.account(account.accountId),
  ConditionExpression:
    'generation = :generation AND tokenStatus = :tokenStatus AND expiresAt = :expiresAt',
  ExpressionAttributeValues: {
    ':generation': account.generation,
    ':tokenStatus': account.tokenStatus,
    ':expiresAt': account.expiresAt,
  },
});

/** An account with its secret: only for calling Instagram, never for an answer. */
export type AccountWithToken = AccountSummary & {
  accessToken: string;
  tokenIssuedAt: string;
  /** when the automatic refresh is due (none: not on its schedule), after how many failures */
  refreshAt?: string;
  refreshFailures?: number;
};

/** Reading an account without its token: what most callers need. */
export interface AccountReader {
  getAccount(accountId: string): Promise<AccountSummary | undefined>;
}

/** What the token flows need: the secret to call Instagram, and the generation-safe writes. */
export interface TokenKeeper extends AccountReader {
  getAccountWithToken(accountId: string): Promise<AccountWithToken | undefined>;
  replaceToken(
    accountId: string,
    expectedGeneration: number,
    token: { accessToken: string; expiresAt: string },
    now: Date,
    /** who stores it (`tokenBy`: a user id, `auto`, `link:<linkId>`), as the event names them */
    by?: string,
  ): Promise<AccountSummary>;
  /**
   * Instagram refused the token (or Meta said the app was removed): file it as due now, with
   * its cause, for the check to announce. False when the token is no longer that active
   * generation (someone replaced or marked it meanwhile).
   */
  markTokenDueAsInvalid(
    accountId: string,
    generation: number,
    now: Date,
    cause: InvalidCause,
  ): Promise<boolean>;
}

export type AccountRepository = TokenKeeper;

/**
 * An update of the account item that holds only while it is still at `generation`: the new
 * summary, or a GenerationConflictError when someone moved the account on meanwhile.
 */
export async function updateAtGeneration(
  db: DynamoDBDocumentClient,
  tableName: string,
  accountId: string,
  generation: number,
  update: Pick<
    UpdateCommandInput,
    'UpdateExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
  >,
): Promise<AccountSummary> {
  try {
    const result = await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.account(accountId),
        ...update,
        ConditionExpression: 'generation = :expected',
        ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':expected': generation },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return summaryOf(result.Attributes ?? {});
  } catch (error) {
    if (isConditionFailure(error)) throw new GenerationConflictError(accountId, generation);
    throw error;
  }
}

export function createAccountRepository(
  db: DynamoDBDocumentClient,
  tableName: string,
  /** when the tokens it stores are refreshed and warned about */
  schedule: TokenSchedule = defaultTokenSchedule,
): AccountRepository {
  return {
    async getAccount(accountId) {
      const result = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.account(accountId),
          ...projectionOf(summaryAttributes),
          ConsistentRead: true,
        }),
      );
      return result.Item ? summaryOf(result.Item) : undefined;
    },

    async getAccountWithToken(accountId) {
      const result = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.account(accountId),
          ConsistentRead: true,
        }),
      );
      if (!result.Item) return undefined;
      return {
        ...summaryOf(result.Item),
        accessToken: result.Item.accessToken as string,
        tokenIssuedAt: result.Item.tokenIssuedAt as string,
        ...(typeof result.Item.refreshAt === 'string' ? { refreshAt: result.Item.refreshAt } : {}),
        refreshFailures:
          typeof result.Item.refreshFailures === 'number' ? result.Item.refreshFailures : 0,
      };
    },

    /**
     * Stores a new token as the next generation, but only if nobody replaced it since
     * `expectedGeneration` was read: two concurrent refreshes cannot both win. `tokenBy` says
     * who stored it, so a reconnect link that crashed after storing its token knows it did
     * (reconnect-link-flows.ts); a token stored without `by` has none.
     */
    async replaceToken(accountId, expectedGeneration, token, now, by) {
      const expiresAt = toInstant(token.expiresAt);
      const filing = filingUpdate(
        activeTokenFiling(accountId, { expiresAt, issuedAt: now.toISOString() }, now, schedule),
      );
      return updateAtGeneration(db, tableName, accountId, expectedGeneration, {
        UpdateExpression:
          'SET accessToken = :token, expiresAt = :expiresAt, tokenStatus = :active, ' +
          `generation = generation + :one, tokenIssuedAt = :now, ${filing.set.join(', ')}` +
          `${by === undefined ? '' : ', tokenBy = :by'} REMOVE ${[
            'refreshLeaseUntil',
            'refreshLeaseId',
            '#cause',
            ...(by === undefined ? ['tokenBy'] : []),
            ...filing.remove,
          ].join(', ')}`,
        ExpressionAttributeNames: { '#cause': 'cause' },
        ExpressionAttributeValues: {
          ':token': token.accessToken,
          ':expiresAt': expiresAt,
          ':active': 'active',
          ':one': 1,
          ':now': now.toISOString(),
          ...(by === undefined ? {} : { ':by': by }),
          ...filing.values,
        },
      });
    },

    /**
     * Instagram told us the token no longer works before its expiry: it is invalid at once, with
     * its cause (so no refresh asks Instagram about it again), and filed as due now, so the check
     * publishes it like any expired token (one publisher, one path to the emails).
     */
    markTokenDueAsInvalid(accountId, generation, now, cause) {
      const due = dueKeys(accountId, now.toISOString(), now);
      return updateIf(db, {
        TableName: tableName,
        Key: keys.account(accountId),
        UpdateExpression:
          'SET dueBucket = :bucket, dueAt = :dueAt, dueReason = :dueReason, ' +
          `tokenStatus = :invalid, #cause = :cause REMOVE ${refreshAttributes.join(', ')}`,
        ConditionExpression: 'generation = :generation AND tokenStatus = :active',
        ExpressionAttributeNames: { '#cause': 'cause' },
        ExpressionAttributeValues: {
          ':bucket': due.dueBucket,
          ':dueAt': due.dueAt,
          ':dueReason': dueReasonOf(cause),
          ':invalid': 'invalid',
          ':cause': cause,
          ':generation': generation,
          ':active': 'active',
        },
      });
    },
  };
}
