/**
 * A recipient's digest window (`USER#<userId>` / `DIGEST#WINDOW`): until when their next notice
 * waits for a digest instead of going at once. Under the user's own partition, so erasing the
 * user erases it too.
 */
import { DeleteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#platform/dynamodb';
import { keys } from '#storage/keys';

export type WindowOpening = { opened: true } | { opened: false; until: string };

export interface DigestWindows {
  /**
   * Opens the recipient's window until `until` for the notice `openedBy`, unless one is open:
   * then the open one's end, or `opened` again when that notice opened it (its retry).
   */
  openDigestWindow(
    userId: string,
    now: Date,
    until: Date,
    openedBy: string,
  ): Promise<WindowOpening>;
  /** Keeps the recipient's window open until `until` (after a digest went out). */
  extendDigestWindow(userId: string, until: Date): Promise<void>;
  /**
   * Takes the right to flush the recipient's notices for `leaseSeconds`: false while another
   * flush holds it. Two flushes at once would otherwise split one recipient's notices across two
   * emails.
   */
  takeRecipientFlush(
    userId: string,
    claim: { claimId: string; now: Date; leaseSeconds: number },
  ): Promise<boolean>;
  releaseRecipientFlush(userId: string, claimId: string): Promise<void>;
}

/**
 * The write that opens a recipient's window for the notice `openedBy`, where none is open. Also a
 * part of the notifier's one-request claim (notice-claim.ts).
 */
export function windowOpening(
  tableName: string,
  userId: string,
  now: Date,
  until: Date,
  openedBy: string,
) {
  return {
    TableName: tableName,
    Key: keys.digestWindow(userId),
    UpdateExpression: 'SET windowEnd = :until, openedBy = :openedBy, #ttl = :ttl',
    ConditionExpression: 'attribute_not_exists(pk) OR windowEnd <= :now',
    ExpressionAttributeNames: { '#ttl': 'ttl' },
    ExpressionAttributeValues: {
      ':until': until.toISOString(),
      ':openedBy': openedBy,
      ':now': now.toISOString(),
      ':ttl': Math.floor(until.getTime() / 1000) + 86_400,
    },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

async function openDigestWindow(
  db: DynamoDBDocumentClient,
  tableName: string,
  userId: string,
  now: Date,
  until: Date,
  openedBy: string,
): Promise<WindowOpening> {
  try {
    await db.send(new UpdateCommand(windowOpening(tableName, userId, now, until, openedBy)));
    return { opened: true };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const old = error.Item as Record<string, { S?: string }> | undefined;
    // The notice that opened it, delivered again (its send failed, or its process died): it is
    // still the window's first, and goes at once; the window keeps its end.
    if (old?.openedBy?.S === openedBy) return { opened: true };
    return { opened: false, until: old?.windowEnd?.S ?? until.toISOString() };
  }
}

async function extendDigestWindow(
  db: DynamoDBDocumentClient,
  tableName: string,
  userId: string,
  until: Date,
): Promise<void> {
  await db
    .send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.digestWindow(userId),
        UpdateExpression: 'SET windowEnd = :until, openedBy = :digest, #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(windowEnd) OR windowEnd < :until',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':until': until.toISOString(),
          ':digest': 'digest',
          ':ttl': Math.floor(until.getTime() / 1000) + 86_400,
        },
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
}

async function takeRecipientFlush(
  db: DynamoDBDocumentClient,
  tableName: string,
  userId: string,
  claim: { claimId: string; now: Date; leaseSeconds: number },
): Promise<boolean> {
  const until = new Date(claim.now.getTime() + claim.leaseSeconds * 1000);
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.digestFlush(userId),
        UpdateExpression: 'SET flushClaimId = :claimId, flushLeaseUntil = :until, #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(pk) OR flushLeaseUntil <= :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':claimId': claim.claimId,
          ':until': until.toISOString(),
          ':now': claim.now.toISOString(),
          ':ttl': Math.floor(until.getTime() / 1000) + 86_400,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

async function releaseRecipientFlush(
  db: DynamoDBDocumentClient,
  tableName: string,
  userId: string,
  claimId: string,
): Promise<void> {
  await db
    .send(
      new DeleteCommand({
        TableName: tableName,
        Key: keys.digestFlush(userId),
        ConditionExpression: 'flushClaimId = :claimId',
        ExpressionAttributeValues: { ':claimId': claimId },
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
}

export function createDigestWindows(db: DynamoDBDocumentClient, tableName: string): DigestWindows {
  return {
    openDigestWindow: (userId, now, until, openedBy) =>
      openDigestWindow(db, tableName, userId, now, until, openedBy),
    extendDigestWindow: (userId, until) => extendDigestWindow(db, tableName, userId, until),
    takeRecipientFlush: (userId, claim) => takeRecipientFlush(db, tableName, userId, claim),
    releaseRecipientFlush: (userId, claimId) =>
      releaseRecipientFlush(db, tableName, userId, claimId),
  };
}
