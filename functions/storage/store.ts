/**
 * The repository over the single table of DESIGN.md. It is the only module that knows keys and
 * attribute names; everything else speaks in owners, developers, tokens and generations.
 *
 * The access token leaves this module in exactly one place, `getAccountWithToken`, which the
 * refresh flow needs to call Instagram. Every other read projects it away.
 */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  defaultNotificationPreferences,
  developerRole as developerRoleSchema,
  instagramAccount as instagramAccountSchema,
  userProfile as userProfileSchema,
  type AccountSummary,
  type DeveloperRole,
  type ExpiryReason,
  type InstagramAccount,
  type InstagramAccountInput,
  type NotificationPreferences,
  type PreferenceName,
  type StoredNotificationPreferences,
  type TokenStatus,
  type UserProfile,
} from '#platform/schemas';
import { dueIndex, dueShards, memberIndex } from './table';

const DAY_MS = 86_400_000;
const accountAttributes = [
  'accountId',
  'ownerUserId',
  'username',
  'expiresAt',
  'tokenStatus',
  'generation',
] as const;

export const keys = {
  profile: (userId: string) => ({ pk: `USER#${userId}`, sk: 'PROFILE' }),
  preferences: (userId: string) => ({ pk: `USER#${userId}`, sk: 'PREFS#NOTIFICATIONS' }),
  account: (accountId: string) => ({ pk: `IGACCOUNT#${accountId}`, sk: 'TOKEN' }),
  developerRole: (accountId: string, userId: string) => ({
    pk: `IGACCOUNT#${accountId}`,
    sk: `DEVELOPER#${userId}`,
  }),
  notification: (accountId: string, generation: number, userId: string) => ({
    pk: `IGACCOUNT#${accountId}`,
    sk: `NOTIFIED#${generation}#${userId}`,
  }),
};

/** A token the check has to publish: what the event carries, nothing more. */
export interface DueToken {
  accountId: string;
  generation: number;
  expiresAt: string;
  reason: ExpiryReason;
}

export type Relation = 'owner' | 'developer';
export interface AccountForMember extends AccountSummary {
  relation: Relation;
}

export type NotificationClaim = 'claimed' | 'sent' | 'in-progress';
/** One email: an account's token generation, and the person it goes to. */
export interface NotificationKey {
  accountId: string;
  generation: number;
  userId: string;
}

/** Thrown when a write lost a race: the token's generation moved on under it. */
export class GenerationConflictError extends Error {
  override name = 'GenerationConflictError';
  constructor(
    readonly accountId: string,
    readonly expectedGeneration: number,
  ) {
    super(`Account ${accountId} is no longer at generation ${expectedGeneration}`);
  }
}

export class AccountNotFoundError extends Error {
  override name = 'AccountNotFoundError';
  constructor(readonly accountId: string) {
    super(`Account ${accountId} does not exist`);
  }
}

/**
 * When a stored token was issued, if nobody told us: Instagram's long-lived tokens last 60
 * days, so a token expiring at T was issued at T - 60 days (and never later than now). The
 * refresh flow needs this, because Instagram refreshes only tokens at least a day old.
 */
export const longLivedTokenDays = 60;
function issuedAt(expiresAt: string, now: Date): string {
  const inferred = new Date(expiresAt).getTime() - longLivedTokenDays * DAY_MS;
  return new Date(Math.min(inferred, now.getTime())).toISOString();
}

/** UTC ISO 8601 with milliseconds: the one form stored, so that strings sort as instants. */
export const toInstant = (value: string | Date): string => new Date(value).toISOString();
const dayOf = (instant: string): string => instant.slice(0, 10);

function shardOf(accountId: string): number {
  let hash = 0;
  for (const char of accountId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % dueShards;
}

/**
 * A token is filed under the day it becomes due, but never under a day before it was written:
 * a token stored already expired is due today, so a check with a short look-back still sees it.
 */
export function dueKeys(accountId: string, dueAt: string, now: Date) {
  const instant = toInstant(dueAt);
  const day = dayOf(instant < now.toISOString() ? now.toISOString() : instant);
  return { dueBucket: `${day}#${shardOf(accountId)}`, dueAt: instant };
}

/** Every bucket a check reads: each shard of each day from the look-back to today. */
export function dueBuckets(now: Date, lookbackDays: number): string[] {
  const buckets: string[] = [];
  for (let back = lookbackDays; back >= 0; back -= 1) {
    const day = dayOf(new Date(now.getTime() - back * DAY_MS).toISOString());
    for (let shard = 0; shard < dueShards; shard += 1) buckets.push(`${day}#${shard}`);
  }
  return buckets;
}

const isConditionFailure = (error: unknown): error is ConditionalCheckFailedException =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

export interface StoreOptions {
  /** How long a sent notification's record is kept, in days. */
  notificationRecordDays?: number;
}

export type TokenwatchStore = ReturnType<typeof createStore>;

export function createStore(
  db: DynamoDBDocumentClient,
  tableName: string,
  options: StoreOptions = {},
) {
  const recordDays = options.notificationRecordDays ?? 90;
  /** When DynamoDB may delete a notification record claimed or sent at `at` (epoch seconds). */
  const recordExpiry = (at: Date) => Math.floor(at.getTime() / 1000) + recordDays * 86_400;

  /** BatchGet in chunks of 100, retrying what DynamoDB left unprocessed. */
  async function batchGet(
    keyList: Record<string, string>[],
    projection: readonly string[],
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    const names = Object.fromEntries(projection.map((name, i) => [`#p${i}`, name]));
    for (let start = 0; start < keyList.length; start += 100) {
      let pending: Record<string, unknown>[] | undefined = keyList.slice(start, start + 100);
      for (let attempt = 0; pending && pending.length > 0; attempt += 1) {
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        const result: BatchGetCommandOutput = await db.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: {
                Keys: pending,
                ProjectionExpression: Object.keys(names).join(', '),
                ExpressionAttributeNames: names,
              },
            },
          }),
        );
        items.push(...(result.Responses?.[tableName] ?? []));
        pending = result.UnprocessedKeys?.[tableName]?.Keys;
      }
    }
    return items;
  }

  async function queryAll(input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName'>) {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new QueryCommand({ ...input, TableName: tableName, ExclusiveStartKey }),
      );
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  const accountSummary = (item: Record<string, unknown>): AccountSummary => ({
    accountId: item.accountId as string,
    ownerUserId: item.ownerUserId as string,
    username: item.username as string,
    expiresAt: item.expiresAt as string,
    tokenStatus: item.tokenStatus as TokenStatus,
    generation: item.generation as number,
  });

  const storedPreferences = (
    item: Record<string, unknown> | undefined,
  ): StoredNotificationPreferences => ({
    ownerExpiredToken:
      (item?.ownerExpiredToken as boolean | undefined) ??
      defaultNotificationPreferences.ownerExpiredToken,
    developerExpiredToken:
      (item?.developerExpiredToken as boolean | undefined) ??
      defaultNotificationPreferences.developerExpiredToken,
    updatedAt: (item?.updatedAt as string | undefined) ?? null,
  });

  return {
    tableName,

    // ---- user profiles --------------------------------------------------------------------

    async putProfile(profile: UserProfile): Promise<void> {
      const valid = userProfileSchema.parse(profile);
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...keys.profile(valid.userId), ...valid },
        }),
      );
    },

    async getProfiles(userIds: readonly string[]): Promise<Map<string, UserProfile>> {
      const unique = [...new Set(userIds)];
      const items = await batchGet(unique.map(keys.profile), ['userId', 'email', 'name']);
      return new Map(items.map((item) => [item.userId as string, item as unknown as UserProfile]));
    },

    // ---- notification preferences -----------------------------------------------------------

    async getPreferences(userId: string): Promise<StoredNotificationPreferences> {
      const result = await db.send(
        new GetCommand({ TableName: tableName, Key: keys.preferences(userId) }),
      );
      return storedPreferences(result.Item);
    },

    /** Preferences of many users at once; a user without an item gets the defaults. */
    async getPreferencesOf(
      userIds: readonly string[],
    ): Promise<Map<string, StoredNotificationPreferences>> {
      const unique = [...new Set(userIds)];
      const items = await batchGet(unique.map(keys.preferences), [
        'pk',
        'ownerExpiredToken',
        'developerExpiredToken',
        'updatedAt',
      ]);
      const byPk = new Map(items.map((item) => [item.pk as string, item]));
      return new Map(
        unique.map((id) => [id, storedPreferences(byPk.get(keys.preferences(id).pk))]),
      );
    },

    async putPreferences(
      userId: string,
      preferences: NotificationPreferences,
      now: Date,
    ): Promise<StoredNotificationPreferences> {
      const stored = {
        ownerExpiredToken: preferences.ownerExpiredToken,
        developerExpiredToken: preferences.developerExpiredToken,
        updatedAt: now.toISOString(),
      };
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...keys.preferences(userId), userId, ...stored },
        }),
      );
      return stored;
    },

    /** Turns one preference off and leaves the other as it was (or at its default). */
    async turnOffPreference(
      userId: string,
      name: PreferenceName,
      now: Date,
    ): Promise<StoredNotificationPreferences> {
      const other: PreferenceName =
        name === 'ownerExpiredToken' ? 'developerExpiredToken' : 'ownerExpiredToken';
      const result = await db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: keys.preferences(userId),
          UpdateExpression:
            'SET #name = :off, #other = if_not_exists(#other, :otherDefault), userId = :userId, updatedAt = :now',
          ExpressionAttributeNames: { '#name': name, '#other': other },
          ExpressionAttributeValues: {
            ':off': false,
            ':otherDefault': defaultNotificationPreferences[other],
            ':userId': userId,
            ':now': now.toISOString(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return storedPreferences(result.Attributes);
    },

    // ---- Instagram accounts and their tokens ---------------------------------------------

    /**
     * Stores a connected account (connect, seed), over whatever was there. Without an explicit
     * generation, a token stored over an existing one is its next generation, so the records
     * of the old token's emails cannot silence the new token's expiry.
     */
    async putAccount(input: InstagramAccountInput, now: Date): Promise<AccountSummary> {
      const account: InstagramAccount = instagramAccountSchema.parse(input);
      const expiresAt = toInstant(account.expiresAt);
      const watched = account.tokenStatus === 'active';
      const attributes: Record<string, unknown> = {
        accountId: account.accountId,
        ownerUserId: account.ownerUserId,
        username: account.username,
        accessToken: account.accessToken,
        expiresAt,
        tokenStatus: account.tokenStatus,
        tokenIssuedAt: issuedAt(expiresAt, now),
        memberUserId: account.ownerUserId,
        memberRelation: `OWNER#${account.accountId}`,
        ...(watched ? dueKeys(account.accountId, expiresAt, now) : {}),
      };
      if (account.generation !== undefined) {
        const item = {
          ...keys.account(account.accountId),
          ...attributes,
          generation: account.generation,
        };
        await db.send(new PutCommand({ TableName: tableName, Item: item }));
        return accountSummary(item);
      }
      const names = Object.keys(attributes);
      const removed = watched ? ['dueReason'] : ['dueBucket', 'dueAt', 'dueReason'];
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
      return accountSummary(result.Attributes ?? {});
    },

    async getAccount(accountId: string): Promise<AccountSummary | undefined> {
      const names = Object.fromEntries(accountAttributes.map((name, i) => [`#a${i}`, name]));
      const result = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.account(accountId),
          ProjectionExpression: Object.keys(names).join(', '),
          ExpressionAttributeNames: names,
          ConsistentRead: true,
        }),
      );
      return result.Item ? accountSummary(result.Item) : undefined;
    },

    /** The only read that returns the secret: for calling Instagram, never for a response. */
    async getAccountWithToken(
      accountId: string,
    ): Promise<(AccountSummary & { accessToken: string; tokenIssuedAt: string }) | undefined> {
      const result = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.account(accountId),
          ConsistentRead: true,
        }),
      );
      if (!result.Item) return undefined;
      return {
        ...accountSummary(result.Item),
        accessToken: result.Item.accessToken as string,
        tokenIssuedAt: result.Item.tokenIssuedAt as string,
      };
    },

    /**
     * Stores a new token as the next generation, but only if nobody replaced it since
     * `expectedGeneration` was read: two concurrent refreshes cannot both win.
     */
    async replaceToken(
      accountId: string,
      expectedGeneration: number,
      token: { accessToken: string; expiresAt: string },
      now: Date,
    ): Promise<AccountSummary> {
      const expiresAt = toInstant(token.expiresAt);
      const due = dueKeys(accountId, expiresAt, now);
      try {
        const result = await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(accountId),
            UpdateExpression:
              'SET accessToken = :token, expiresAt = :expiresAt, tokenStatus = :active, ' +
              'generation = generation + :one, tokenIssuedAt = :now, dueBucket = :bucket, dueAt = :dueAt ' +
              'REMOVE dueReason',
            ConditionExpression: 'generation = :expected',
            ExpressionAttributeValues: {
              ':token': token.accessToken,
              ':expiresAt': expiresAt,
              ':active': 'active',
              ':one': 1,
              ':now': now.toISOString(),
              ':bucket': due.dueBucket,
              ':dueAt': due.dueAt,
              ':expected': expectedGeneration,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return accountSummary(result.Attributes ?? {});
      } catch (error) {
        if (isConditionFailure(error))
          throw new GenerationConflictError(accountId, expectedGeneration);
        throw error;
      }
    },

    /**
     * Instagram told us the token no longer works before its expiry: file it as due now, so
     * the check publishes it like any expired token (one publisher, one path to the emails).
     */
    async markTokenDueAsInvalid(
      accountId: string,
      generation: number,
      now: Date,
    ): Promise<boolean> {
      const due = dueKeys(accountId, now.toISOString(), now);
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(accountId),
            UpdateExpression: 'SET dueBucket = :bucket, dueAt = :dueAt, dueReason = :invalid',
            ConditionExpression: 'generation = :generation AND tokenStatus = :active',
            ExpressionAttributeValues: {
              ':bucket': due.dueBucket,
              ':dueAt': due.dueAt,
              ':invalid': 'invalid',
              ':generation': generation,
              ':active': 'active',
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    /**
     * The tokens due at `now`, page by page, read from the sparse index bucket by bucket: the
     * cost follows the number of due tokens, not the size of the table.
     */
    async *dueTokens(now: Date, lookbackDays: number): AsyncGenerator<DueToken[]> {
      const nowInstant = now.toISOString();
      for (const bucket of dueBuckets(now, lookbackDays)) {
        let ExclusiveStartKey: Record<string, unknown> | undefined;
        do {
          const page = await db.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: dueIndex.name,
              KeyConditionExpression: '#bucket = :bucket AND #dueAt <= :now',
              ExpressionAttributeNames: {
                '#bucket': dueIndex.partitionKey,
                '#dueAt': dueIndex.sortKey,
              },
              ExpressionAttributeValues: { ':bucket': bucket, ':now': nowInstant },
              ExclusiveStartKey,
            }),
          );
          ExclusiveStartKey = page.LastEvaluatedKey;
          const tokens = (page.Items ?? []).map((item): DueToken => ({
            accountId: item.accountId as string,
            generation: item.generation as number,
            expiresAt: item.expiresAt as string,
            reason: (item.dueReason as ExpiryReason | undefined) ?? 'expired',
          }));
          if (tokens.length > 0) yield tokens;
        } while (ExclusiveStartKey);
      }
    },

    /**
     * Marks a token expired (or invalid) and takes it off the due index, only if it is still
     * the generation the event was published for and still watched. False: someone got there
     * first (a refresh, or an earlier run of the check), which is not an error.
     */
    async markTokenExpired(token: DueToken): Promise<boolean> {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(token.accountId),
            UpdateExpression: 'SET tokenStatus = :reason REMOVE dueBucket, dueAt, dueReason',
            ConditionExpression: 'generation = :generation AND attribute_exists(dueBucket)',
            ExpressionAttributeValues: {
              ':reason': token.reason,
              ':generation': token.generation,
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    // ---- developer roles ------------------------------------------------------------------

    async putDeveloperRole(role: DeveloperRole, now: Date): Promise<void> {
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
            memberRelation: `DEVELOPER#${valid.accountId}`,
          },
        }),
      );
    },

    async deleteDeveloperRole(accountId: string, userId: string): Promise<void> {
      await db.send(
        new DeleteCommand({ TableName: tableName, Key: keys.developerRole(accountId, userId) }),
      );
    },

    async listDeveloperIds(accountId: string): Promise<string[]> {
      const items = await queryAll({
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.account(accountId).pk, ':prefix': 'DEVELOPER#' },
        ProjectionExpression: 'userId',
      });
      return items.map((item) => item.userId as string);
    },

    /** How `userId` relates to an account, with the account; undefined when not at all. */
    async relationTo(
      accountId: string,
      userId: string,
    ): Promise<{ account: AccountSummary; relation: Relation } | undefined> {
      const [account, role] = await Promise.all([
        this.getAccount(accountId),
        db.send(
          new GetCommand({
            TableName: tableName,
            Key: keys.developerRole(accountId, userId),
            ProjectionExpression: 'userId',
          }),
        ),
      ]);
      if (!account) return undefined;
      if (account.ownerUserId === userId) return { account, relation: 'owner' };
      if (role.Item) return { account, relation: 'developer' };
      return undefined;
    },

    /** The accounts a user owns or develops for, through the member index: never a scan. */
    async listAccountsOf(userId: string): Promise<AccountForMember[]> {
      const memberships = await queryAll({
        IndexName: memberIndex.name,
        KeyConditionExpression: '#member = :userId',
        ExpressionAttributeNames: { '#member': memberIndex.partitionKey },
        ExpressionAttributeValues: { ':userId': userId },
      });
      const relationOf = new Map<string, Relation>();
      for (const item of memberships) {
        const relation = (item.memberRelation as string).startsWith('OWNER#')
          ? 'owner'
          : 'developer';
        // Owning beats developing: someone who is both sees the account once, as its owner.
        if (relationOf.get(item.accountId as string) !== 'owner') {
          relationOf.set(item.accountId as string, relation);
        }
      }
      const accounts = await batchGet([...relationOf.keys()].map(keys.account), accountAttributes);
      return accounts
        .map((item) => ({
          ...accountSummary(item),
          relation: relationOf.get(item.accountId as string) ?? 'developer',
        }))
        .sort((a, b) => a.username.localeCompare(b.username));
    },

    // ---- notification records -------------------------------------------------------------

    /**
     * Claims the right to send one email for (account, generation, recipient). A claim left
     * in `sending` by a process that died is taken over once its lease has run out. `claimId`
     * names this claim: only its holder may release it, so a delivery that outlived its lease
     * cannot give away the claim of the one that took over.
     */
    async claimNotification(
      email: NotificationKey,
      claim: { claimId: string; now: Date; leaseSeconds: number },
    ): Promise<NotificationClaim> {
      const { now } = claim;
      try {
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...keys.notification(email.accountId, email.generation, email.userId),
              accountId: email.accountId,
              generation: email.generation,
              userId: email.userId,
              status: 'sending',
              claimId: claim.claimId,
              claimedAt: now.toISOString(),
              ttl: recordExpiry(now),
            },
            ConditionExpression:
              'attribute_not_exists(pk) OR (#status = :sending AND claimedAt < :leaseExpiredBefore)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':sending': 'sending',
              ':leaseExpiredBefore': new Date(
                now.getTime() - claim.leaseSeconds * 1000,
              ).toISOString(),
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return 'claimed';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const status = (error.Item as Record<string, { S?: string }> | undefined)?.status?.S;
        return status === 'sent' ? 'sent' : 'in-progress';
      }
    },

    /**
     * Records the email as sent. An email that went out is always recorded unless another one
     * already is: also when another delivery took the claim over meanwhile (this send outlived
     * its lease), so that delivery can no longer release the claim for a third send, and also
     * when that delivery already released it (its own send failed), which recreates the record.
     * Answers `already-recorded`, writing nothing, when a different email is recorded as sent:
     * then this person got two. Repeating the same completion is harmless.
     */
    async completeNotification(
      email: NotificationKey,
      claimId: string,
      sent: { messageId: string; sentAt: Date },
    ): Promise<'recorded' | 'already-recorded'> {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.notification(email.accountId, email.generation, email.userId),
            UpdateExpression:
              'SET #status = :sent, messageId = :messageId, sentAt = :sentAt, ' +
              'accountId = :accountId, generation = :generation, userId = :userId, ' +
              '#ttl = if_not_exists(#ttl, :ttl)',
            ConditionExpression:
              'attribute_not_exists(pk) OR #status = :sending OR ' +
              '(claimId = :claimId AND messageId = :messageId)',
            ExpressionAttributeNames: { '#status': 'status', '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':sent': 'sent',
              ':sending': 'sending',
              ':claimId': claimId,
              ':messageId': sent.messageId,
              ':sentAt': sent.sentAt.toISOString(),
              ':accountId': email.accountId,
              ':generation': email.generation,
              ':userId': email.userId,
              ':ttl': recordExpiry(sent.sentAt),
            },
          }),
        );
        return 'recorded';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return 'already-recorded';
      }
    },

    /**
     * Gives a claim back after a send that certainly failed, so a retry can send at once. Only
     * the claim's holder can, and only while nothing was recorded as sent.
     */
    async releaseNotification(email: NotificationKey, claimId: string): Promise<void> {
      try {
        await db.send(
          new DeleteCommand({
            TableName: tableName,
            Key: keys.notification(email.accountId, email.generation, email.userId),
            ConditionExpression: '#status = :sending AND claimId = :claimId',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':sending': 'sending', ':claimId': claimId },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },

    async getNotification(accountId: string, generation: number, userId: string) {
      const result = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.notification(accountId, generation, userId),
          ConsistentRead: true,
        }),
      );
      return result.Item as
        | { status: 'sending' | 'sent'; messageId?: string; sentAt?: string; ttl: number }
        | undefined;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
