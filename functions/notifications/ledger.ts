/**
 * The send-once ledger: one record per email, keyed by (account, token generation, occasion,
 * recipient), so each person hears of each occasion of a token once. A record is claimed with a
 * conditional write before the send and completed after it; a claim left by a process that died
 * is taken over once its lease has run out.
 *
 * Records written before occasions existed carry none and a key without one: they are the
 * `expired` email (occasions.ts), and `sentBefore` finds them, so nothing already sent is sent
 * again across the upgrade.
 */
import {
  DeleteCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, type Item } from '#platform/dynamodb';
import { keys, memberRelationKey, notificationRecordDays } from '#storage/keys';
import { occasionOfRecord, type Occasion } from './occasions';

/** One email: an occasion of an account's token generation, and the person it goes to. */
export interface NotificationKey {
  accountId: string;
  generation: number;
  occasion: Occasion;
  userId: string;
}

/**
 * `sent`: nothing more to do (sent, or settled without an email: dropped or discarded);
 * `waiting`: written down for a digest or held in a storm (waiting-notices.ts), the digest
 * flush's to send.
 */
export type NotificationClaim = 'claimed' | 'sent' | 'in-progress' | 'waiting';

/** Records that need no email from this delivery: sent, or settled without one. */
const settledStatuses = new Set(['sent', 'dropped', 'discarded']);
const waitingStatuses = new Set(['pending', 'held']);

export interface EarlierRecords {
  sent: Set<string>;
  /** waiting for a digest or held in a storm: the digest flush sends them */
  waiting: Set<string>;
  /** claimed by the version before occasions, whose lease still runs */
  sending: Set<string>;
}

export interface SendOnceLedger {
  /**
   * Claims the right to send one email. `claimId` names this claim: only its holder may release
   * it, so a delivery that outlived its lease cannot give away the claim of the one that took
   * over.
   */
  claimNotification(
    email: NotificationKey,
    claim: { claimId: string; now: Date; leaseSeconds: number },
  ): Promise<NotificationClaim>;
  completeNotification(
    email: NotificationKey,
    claimId: string,
    sent: { messageId: string; sentAt: Date },
  ): Promise<'recorded' | 'already-recorded'>;
  releaseNotification(email: NotificationKey, claimId: string): Promise<void>;
  /**
   * Records that this email is not sent, and why (its address is suppressed): a settled record
   * (`dropped`), so no retry of the event tries it again. Written only where there is no record
   * yet: an email sent, being sent or waiting stays as it is (`exists`).
   */
  recordNotSent(
    email: NotificationKey,
    end: { reason: string; at: Date },
  ): Promise<'recorded' | 'exists'>;
}

const keyOf = (email: NotificationKey) =>
  keys.notification(email.accountId, email.generation, email.occasion, email.userId);

/**
 * Each record is filed in the member index under its recipient, so erasing a user reaches every
 * record that holds their id with one query (people/users.ts). Memberships skip these.
 */
const recipientIndexKeys = (email: NotificationKey) => ({
  memberUserId: email.userId,
  memberRelation: memberRelationKey.notified(email.accountId, email.generation, email.occasion),
});

/** What every record of an email holds, whatever its status: its key, its email, its index keys. */
const recordOf = (email: NotificationKey) => ({
  ...keyOf(email),
  accountId: email.accountId,
  generation: email.generation,
  occasion: email.occasion,
  userId: email.userId,
  ...recipientIndexKeys(email),
});

/**
 * Who already has this occasion's email of this generation, and who is being sent it by the
 * previous version still: records from before occasions carry none (their key neither), and a
 * claim such a version holds must be respected for its lease as it would have, or the person
 * gets two emails across the upgrade.
 *
 * From the records of the account's generation (the items under its `notificationsOf` prefix),
 * which the notifier reads with the account (notice-reads.ts).
 */
export function earlierRecordsOf(
  records: readonly Item[],
  email: { occasion: Occasion },
  lease: { now: Date; leaseSeconds: number },
): EarlierRecords {
  const leaseRunsPast = new Date(lease.now.getTime() - lease.leaseSeconds * 1000).toISOString();
  const earlier: EarlierRecords = { sent: new Set(), waiting: new Set(), sending: new Set() };
  for (const record of records) {
    const stored = record.occasion as string | undefined;
    if (occasionOfRecord(stored) !== email.occasion) continue;
    const status = record.status as string;
    if (settledStatuses.has(status)) earlier.sent.add(record.userId as string);
    else if (waitingStatuses.has(status)) earlier.waiting.add(record.userId as string);
    else if (stored === undefined && (record.claimedAt as string) > leaseRunsPast) {
      earlier.sending.add(record.userId as string);
    }
  }
  return earlier;
}

async function recordNotSent(
  db: DynamoDBDocumentClient,
  tableName: string,
  email: NotificationKey,
  end: { reason: string; at: Date; ttl: number },
): Promise<'recorded' | 'exists'> {
  try {
    await db.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...recordOf(email),
          status: 'dropped',
          // As a waiting notice records why it went in no email (waiting-notices.ts).
          settledReason: end.reason,
          settledAt: end.at.toISOString(),
          ttl: end.ttl,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return 'recorded';
  } catch (error) {
    if (isConditionFailure(error)) return 'exists';
    throw error;
  }
}

/**
 * The claim of one email: its record written `sending`, where there is none or the claim on it
 * outlived its lease. Also a part of the notifier's one-request claim (notice-claim.ts).
 */
export function claimPut(
  tableName: string,
  email: NotificationKey,
  claim: { claimId: string; now: Date; leaseSeconds: number },
  ttl: number,
) {
  const { now } = claim;
  return {
    TableName: tableName,
    Item: {
      ...recordOf(email),
      status: 'sending',
      claimId: claim.claimId,
      claimedAt: now.toISOString(),
      ttl,
    },
    ConditionExpression:
      'attribute_not_exists(pk) OR (#status = :sending AND claimedAt < :leaseExpiredBefore)',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':sending': 'sending',
      ':leaseExpiredBefore': new Date(now.getTime() - claim.leaseSeconds * 1000).toISOString(),
    },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** What a claim that found a record there answers, from that record's status. */
export function claimRefusedBy(status: string | undefined): Exclude<NotificationClaim, 'claimed'> {
  if (status !== undefined && settledStatuses.has(status)) return 'sent';
  return status !== undefined && waitingStatuses.has(status) ? 'waiting' : 'in-progress';
}

/** When DynamoDB may delete a record claimed or sent at `at` (epoch seconds). */
export const recordExpiryOf = (at: Date, recordDays = notificationRecordDays) =>
  Math.floor(at.getTime() / 1000) + recordDays * 86_400;

export function createSendOnceLedger(
  db: DynamoDBDocumentClient,
  tableName: string,
  options: { recordDays?: number } = {},
): SendOnceLedger {
  const recordDays = options.recordDays ?? notificationRecordDays;
  const recordExpiry = (at: Date) => recordExpiryOf(at, recordDays);

  return {
    recordNotSent: (email, end) =>
      recordNotSent(db, tableName, email, { ...end, ttl: recordExpiry(end.at) }),

    async claimNotification(email, claim) {
      try {
        await db.send(new PutCommand(claimPut(tableName, email, claim, recordExpiry(claim.now))));
        return 'claimed';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return claimRefusedBy(
          (error.Item as Record<string, { S?: string }> | undefined)?.status?.S,
        );
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
    async completeNotification(email, claimId, sent) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keyOf(email),
            UpdateExpression:
              'SET #status = :sent, messageId = :messageId, sentAt = :sentAt, ' +
              'accountId = :accountId, generation = :generation, occasion = :occasion, ' +
              'userId = :userId, memberUserId = :userId, memberRelation = :relation, ' +
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
              ':occasion': email.occasion,
              ':userId': email.userId,
              ':relation': recipientIndexKeys(email).memberRelation,
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
    async releaseNotification(email, claimId) {
      try {
        await db.send(
          new DeleteCommand({
            TableName: tableName,
            Key: keyOf(email),
            ConditionExpression: '#status = :sending AND claimId = :claimId',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':sending': 'sending', ':claimId': claimId },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },
  };
}
