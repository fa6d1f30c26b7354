/**
 * The reconnect link item (`IGACCOUNT#<accountId>` / `RECONNECT#<linkId>`): written once, then
 * changed only by conditional writes, so that of two uses of one link exactly one claims it and
 * a used link is never used again. The item is filed in the member index under its creator, so
 * that erasing the creator finds it (people/users.ts), and carries a TTL 30 days past its expiry.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queryAll, updateIf, type Item } from '#platform/dynamodb';
import { keys, memberRelationKey } from '#storage/keys';
import { timeToLiveAttribute } from '#storage/table';
import { linkClaimSeconds, linkRecordDaysAfterExpiry, type ReconnectLink } from './reconnect-links';

export interface ReconnectLinkReader {
  /** One link of an account, or undefined. Read consistently. */
  getReconnectLink(accountId: string, linkId: string): Promise<ReconnectLink | undefined>;
}

export interface ReconnectLinkStore extends ReconnectLinkReader {
  listReconnectLinks(accountId: string): Promise<ReconnectLink[]>;
  putReconnectLink(link: ReconnectLink): Promise<void>;
  /** Revokes a link not used yet; false when there is no such link (a used one is left as is). */
  revokeReconnectLink(accountId: string, linkId: string, now: Date): Promise<boolean>;
  /**
   * Claims an active link for one use, for linkClaimSeconds: true for exactly one of concurrent
   * callers; false when it is used, revoked, expired, gone, or claimed by another use.
   */
  claimReconnectLink(
    accountId: string,
    linkId: string,
    claimId: string,
    now: Date,
  ): Promise<boolean>;
  /** Gives a claim back (the use failed and the link stays usable); only the claim's holder can. */
  releaseReconnectLink(accountId: string, linkId: string, claimId: string): Promise<void>;
  /** Marks the link used, once: false when it already was (or is gone). */
  markReconnectLinkUsed(accountId: string, linkId: string, now: Date): Promise<boolean>;
  /** Who stored the account's current token (`tokenBy`, set by replaceToken), if recorded. */
  currentTokenBy(accountId: string): Promise<string | undefined>;
}

const linkOf = (item: Item): ReconnectLink => ({
  accountId: item.accountId as string,
  linkId: item.linkId as string,
  createdBy: item.createdBy as string,
  createdAt: item.createdAt as string,
  expiresAt: item.expiresAt as string,
  secretHash: item.secretHash as string,
  generation: item.generation as number,
  ...(typeof item.usedAt === 'string' ? { usedAt: item.usedAt } : {}),
  ...(typeof item.revokedAt === 'string' ? { revokedAt: item.revokedAt } : {}),
  ...(typeof item.claimedUntil === 'string' ? { claimedUntil: item.claimedUntil } : {}),
});

type Table = { db: DynamoDBDocumentClient; tableName: string };

/** A conditional update of one link: false when the condition did not hold. */
async function updateLink(
  { db, tableName }: Table,
  accountId: string,
  linkId: string,
  input: {
    UpdateExpression: string;
    ConditionExpression: string;
    ExpressionAttributeValues?: Record<string, unknown>;
  },
): Promise<boolean> {
  return updateIf(db, {
    TableName: tableName,
    Key: keys.reconnectLink(accountId, linkId),
    ...input,
  });
}

async function getLink(
  { db, tableName }: Table,
  accountId: string,
  linkId: string,
): Promise<ReconnectLink | undefined> {
  const result = await db.send(
    new GetCommand({
      TableName: tableName,
      Key: keys.reconnectLink(accountId, linkId),
      ConsistentRead: true,
    }),
  );
  return result.Item ? linkOf(result.Item) : undefined;
}

export function createReconnectLinkStore(
  db: DynamoDBDocumentClient,
  tableName: string,
): ReconnectLinkStore {
  const table = { db, tableName };
  const get = (accountId: string, linkId: string) => getLink(table, accountId, linkId);
  const update = (accountId: string, linkId: string, input: Parameters<typeof updateLink>[3]) =>
    updateLink(table, accountId, linkId, input);

  return {
    getReconnectLink: get,

    async listReconnectLinks(accountId) {
      const { pk, skPrefix } = keys.reconnectLinksOf(accountId);
      const items = await queryAll(db, {
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': skPrefix },
        ConsistentRead: true,
      });
      return items.map(linkOf).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },

    async putReconnectLink(link) {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...keys.reconnectLink(link.accountId, link.linkId),
            ...link,
            memberUserId: link.createdBy,
            memberRelation: memberRelationKey.reconnectLinkCreator(link.accountId, link.linkId),
            [timeToLiveAttribute]:
              Math.floor(Date.parse(link.expiresAt) / 1000) + linkRecordDaysAfterExpiry * 86_400,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    },

    async revokeReconnectLink(accountId, linkId, now) {
      // Read first, so that an unknown link or a repeat writes nothing at all.
      const link = await get(accountId, linkId);
      if (!link) return false;
      if (link.usedAt !== undefined || link.revokedAt !== undefined) return true;
      const revoked = await update(accountId, linkId, {
        UpdateExpression: 'SET revokedAt = :now',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(usedAt) AND attribute_not_exists(revokedAt)',
        ExpressionAttributeValues: { ':now': now.toISOString() },
      });
      // Lost to a use, a repeat, or the account's deletion: there only if the link still is.
      return revoked || (await get(accountId, linkId)) !== undefined;
    },

    claimReconnectLink: (accountId, linkId, claimId, now) =>
      update(accountId, linkId, {
        UpdateExpression: 'SET claimedUntil = :until, claimId = :claimId',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(usedAt) AND ' +
          'attribute_not_exists(revokedAt) AND expiresAt > :now AND ' +
          '(attribute_not_exists(claimedUntil) OR claimedUntil <= :now)',
        ExpressionAttributeValues: {
          ':until': new Date(now.getTime() + linkClaimSeconds * 1000).toISOString(),
          ':claimId': claimId,
          ':now': now.toISOString(),
        },
      }),

    async releaseReconnectLink(accountId, linkId, claimId) {
      await update(accountId, linkId, {
        UpdateExpression: 'REMOVE claimedUntil, claimId',
        ConditionExpression: 'claimId = :claimId',
        ExpressionAttributeValues: { ':claimId': claimId },
      });
    },

    markReconnectLinkUsed: (accountId, linkId, now) =>
      update(accountId, linkId, {
        UpdateExpression: 'SET usedAt = :now REMOVE claimedUntil, claimId',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt)',
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),

    async currentTokenBy(accountId) {
      const result = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.account(accountId),
          ProjectionExpression: 'tokenBy',
          ConsistentRead: true,
        }),
      );
      return typeof result.Item?.tokenBy === 'string' ? result.Item.tokenBy : undefined;
    },
  };
}
