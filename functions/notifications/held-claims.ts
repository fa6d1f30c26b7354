/**
 * In a storm, a notice whose earlier delivery died holding its claim (before or after SES took
 * the email) is held with the rest, never sent by a retry while the storm is on; it goes out on
 * release (a second email only in the usual crash window).
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#platform/dynamodb';
import { heldBucket, keyOf } from './notice-keys';
import type { FileAs, WaitingNotice } from './waiting-notices';

export interface HeldClaims {
  /**
   * In a storm, holds a notice whose claim's lease ran out (its sender died), rather than let a
   * retry send it; otherwise says what the record is: a live claim (`in-progress`), `waiting`
   * (pending or held), or `settled` (sent, dropped, discarded).
   */
  holdExpiredClaim(
    notice: WaitingNotice,
    as: FileAs,
    leaseSeconds: number,
  ): Promise<'held' | 'in-progress' | 'waiting' | 'settled'>;
}

async function holdExpiredClaim(
  db: DynamoDBDocumentClient,
  tableName: string,
  notice: WaitingNotice,
  as: FileAs,
  leaseSeconds: number,
): Promise<'held' | 'in-progress' | 'waiting' | 'settled'> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keyOf(notice),
        UpdateExpression:
          'SET #status = :held, waitingAs = :held, audience = :audience, notice = :notice, ' +
          'heldIn = :heldIn, dueBucket = :bucket, dueAt = :dueAt, waitingSince = :now ' +
          'REMOVE claimId, claimedAt',
        ConditionExpression: '#status = :sending AND claimedAt < :leaseExpiredBefore',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':held': 'held',
          ':sending': 'sending',
          ':audience': notice.audience,
          ':notice': notice.event,
          ':heldIn': as.heldIn ?? 'unknown',
          ':bucket': heldBucket(notice.userId),
          ':dueAt': as.dueAt.toISOString(),
          ':now': as.now.toISOString(),
          ':leaseExpiredBefore': new Date(as.now.getTime() - leaseSeconds * 1000).toISOString(),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return 'held';
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const status = (error.Item as Record<string, { S?: string }> | undefined)?.status?.S;
    if (status === 'pending' || status === 'held') return 'waiting';
    if (status === 'sending' || status === undefined) return 'in-progress';
    return 'settled';
  }
}

export function createHeldClaims(db: DynamoDBDocumentClient, tableName: string): HeldClaims {
  return {
    holdExpiredClaim: (notice, as, leaseSeconds) =>
      holdExpiredClaim(db, tableName, notice, as, leaseSeconds),
  };
}
