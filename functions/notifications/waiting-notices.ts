/**
 * Notices that wait: a notice that may not go at once is written into the send-once ledger
 * (ledger.ts) as its own record, `pending` (for the digest at the end of its recipient's window)
 * or `held` (in a storm, until an operator ends it), and filed in the due index under a bucket of
 * its own (`NOTICE#<day>#<shard>` by when it is due, `HELD#<shard>`), which the check never reads
 * and the digest flush reads alone, so the flush costs what is waiting, not what is not.
 *
 * A waiting record goes through the same states as any email's: claimed (`sending`, with a
 * lease), then `sent` with the digest's message id; or `dropped` (stale by then: the token
 * replaced, the account gone, the preference off, no address) or `discarded` (an operator
 * discarded the storm that held it). Every end leaves the record and takes it off the index, so
 * each notice is in exactly one email or recorded as why none.
 *
 * A recipient's window (`USER#<userId>` / `DIGEST#WINDOW`) says until when their next notice
 * waits: the first notice of a window opens it and goes at once.
 */
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#platform/dynamodb';
import { memberRelationKey, noticeBuckets, notificationRecordDays } from '#storage/keys';
import { dueIndex, dueShards } from '#storage/table';
import { readBuckets, shardOf } from '#tokens/filing';
import type { AnnouncedEvent } from './announcements';
import { createDigestWindows, type DigestWindows } from './digest-windows';
import { createHeldClaims, type HeldClaims } from './held-claims';
import { heldBucket, keyOf } from './notice-keys';
import type { NotificationKey } from './ledger';
import type { Audience, Occasion } from './occasions';

/** A notice to write down instead of sending: its email's key, audience and event. */
export interface WaitingNotice extends NotificationKey {
  audience: Audience;
  event: AnnouncedEvent;
}

export type WaitingAs = 'pending' | 'held';

/** A waiting notice as the flush claimed it: everything needed to tell of it. */
export interface ClaimedNotice extends WaitingNotice {
  waitingAs: WaitingAs;
  /** for a held notice: the storm that held it (its `since`) */
  heldIn?: string;
}

/** A waiting notice as the due index lists it: enough to claim it. */
export type DueNotice = NotificationKey;

/** How a notice is written down: waiting for a digest or held, due when. */
export interface FileAs {
  waitingAs: WaitingAs;
  dueAt: Date;
  heldIn?: string;
  now: Date;
}

/** Why a claimed notice needs no email: stale by now (`dropped`), or its storm discarded. */
export interface SettleEnd {
  status: 'dropped' | 'discarded';
  reason: string;
  at: Date;
}

export type ClaimResult =
  | { kind: 'claimed'; notice: ClaimedNotice }
  /** sent, dropped or discarded already; taken off the index if it was still on it */
  | { kind: 'settled' }
  /** another flush holds it; its lease decides */
  | { kind: 'busy' };

export interface WaitingNoticeStore extends DigestWindows, HeldClaims {
  /**
   * Writes the notice down as waiting, once: `written`, or `exists` when a record of that email
   * is there already (waiting, being sent or sent).
   */
  fileWaitingNotice(notice: WaitingNotice, as: FileAs): Promise<'written' | 'exists'>;
  /** The waiting notices due by `now`: pending ones from the look-back, and held ones if asked. */
  dueNotices(
    now: Date,
    options: { lookbackDays: number; held: boolean },
  ): AsyncGenerator<DueNotice[]>;
  claimWaitingNotice(
    notice: DueNotice,
    claim: { claimId: string; now: Date; leaseSeconds: number },
  ): Promise<ClaimResult>;
  /** The claimed notices went out in the email `messageId`. */
  completeWaitingNotice(
    notice: DueNotice,
    claimId: string,
    sent: { messageId: string; sentAt: Date },
  ): Promise<void>;
  /** The claimed notice needs no email after all (`dropped`) or an operator discarded it. */
  settleWaitingNotice(notice: DueNotice, claimId: string, end: SettleEnd): Promise<void>;
  /** Gives a claim back: the notice waits again as it did. */
  releaseWaitingNotice(notice: DueNotice, claimId: string): Promise<void>;
}

const DAY_MS = 86_400_000;

const pendingBucket = (userId: string, dueAt: Date) =>
  noticeBuckets.pending(dueAt.toISOString().slice(0, 10), shardOf(userId));

/** The record's key names the email: `NOTIFIED#<generation>#<occasion>#<userId>`. */
function noticeOfItem(item: Record<string, unknown>): DueNotice | undefined {
  const [, generation, occasion, ...userId] = String(item.sk).split('#');
  if (!generation || !occasion || userId.length === 0) return undefined;
  return {
    accountId: String(item.pk).slice('IGACCOUNT#'.length),
    generation: Number(generation),
    occasion: occasion as Occasion,
    userId: userId.join('#'),
  };
}

async function fileWaitingNotice(
  db: DynamoDBDocumentClient,
  tableName: string,
  notice: WaitingNotice,
  as: FileAs,
): Promise<'written' | 'exists'> {
  try {
    await db.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...keyOf(notice),
          accountId: notice.accountId,
          generation: notice.generation,
          occasion: notice.occasion,
          userId: notice.userId,
          // Filed under the recipient, as every record is, so erasing them reaches it.
          memberUserId: notice.userId,
          memberRelation: memberRelationKey.notified(
            notice.accountId,
            notice.generation,
            notice.occasion,
          ),
          status: as.waitingAs,
          waitingAs: as.waitingAs,
          audience: notice.audience,
          notice: notice.event,
          ...(as.heldIn ? { heldIn: as.heldIn } : {}),
          dueBucket:
            as.waitingAs === 'held'
              ? heldBucket(notice.userId)
              : pendingBucket(notice.userId, as.dueAt),
          dueAt: as.dueAt.toISOString(),
          waitingSince: as.now.toISOString(),
          ttl: Math.floor(as.now.getTime() / 1000) + notificationRecordDays * 86_400,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return 'written';
  } catch (error) {
    if (isConditionFailure(error)) return 'exists';
    throw error;
  }
}

async function* dueNotices(
  db: DynamoDBDocumentClient,
  tableName: string,
  now: Date,
  options: { lookbackDays: number; held: boolean },
): AsyncGenerator<DueNotice[]> {
  const buckets: string[] = [];
  for (let back = options.lookbackDays; back >= 0; back -= 1) {
    const day = new Date(now.getTime() - back * DAY_MS).toISOString().slice(0, 10);
    for (let shard = 0; shard < dueShards; shard += 1)
      buckets.push(noticeBuckets.pending(day, shard));
  }
  if (options.held) {
    for (let shard = 0; shard < dueShards; shard += 1) buckets.push(noticeBuckets.held(shard));
  }
  for await (const items of readBuckets(db, tableName, dueIndex, buckets, now)) {
    yield items.map(noticeOfItem).filter((notice) => notice !== undefined);
  }
}

async function claimWaitingNotice(
  db: DynamoDBDocumentClient,
  tableName: string,
  notice: DueNotice,
  claim: { claimId: string; now: Date; leaseSeconds: number },
): Promise<ClaimResult> {
  try {
    const { Attributes } = await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keyOf(notice),
        UpdateExpression: 'SET #status = :sending, claimId = :claimId, claimedAt = :now',
        ConditionExpression:
          'attribute_exists(waitingAs) AND (#status IN (:pending, :held) OR ' +
          '(#status = :sending AND claimedAt < :leaseExpiredBefore))',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':sending': 'sending',
          ':pending': 'pending',
          ':held': 'held',
          ':claimId': claim.claimId,
          ':now': claim.now.toISOString(),
          ':leaseExpiredBefore': new Date(
            claim.now.getTime() - claim.leaseSeconds * 1000,
          ).toISOString(),
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const item = Attributes ?? {};
    return {
      kind: 'claimed',
      notice: {
        ...notice,
        audience: item.audience as Audience,
        event: item.notice as AnnouncedEvent,
        waitingAs: item.waitingAs as WaitingAs,
        heldIn: item.heldIn as string | undefined,
      },
    };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const status = (error.Item as Record<string, { S?: string }> | undefined)?.status?.S;
    if (status === 'sending') return { kind: 'busy' };
    // Sent by the notifier after all (it took over a claim), or gone: off the index.
    await db
      .send(
        new UpdateCommand({
          TableName: tableName,
          Key: keyOf(notice),
          UpdateExpression: 'REMOVE dueBucket, dueAt',
          ConditionExpression:
            'attribute_exists(pk) AND NOT #status IN (:pending, :held, :sending)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':pending': 'pending',
            ':held': 'held',
            ':sending': 'sending',
          },
        }),
      )
      .catch((cleanup: unknown) => {
        if (!isConditionFailure(cleanup)) throw cleanup;
      });
    return { kind: 'settled' };
  }
}

async function completeWaitingNotice(
  db: DynamoDBDocumentClient,
  tableName: string,
  notice: DueNotice,
  claimId: string,
  sent: { messageId: string; sentAt: Date },
): Promise<void> {
  // Recorded even if another flush took the claim over meanwhile: this email went out, and
  // the record must say so, so no third flush sends it again.
  await db
    .send(
      new UpdateCommand({
        TableName: tableName,
        Key: keyOf(notice),
        UpdateExpression:
          'SET #status = :sent, messageId = :messageId, sentAt = :sentAt, digested = :true ' +
          'REMOVE dueBucket, dueAt',
        ConditionExpression: '#status = :sending OR claimId = :claimId',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':sent': 'sent',
          ':sending': 'sending',
          ':claimId': claimId,
          ':messageId': sent.messageId,
          ':sentAt': sent.sentAt.toISOString(),
          ':true': true,
        },
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
}

async function settleWaitingNotice(
  db: DynamoDBDocumentClient,
  tableName: string,
  notice: DueNotice,
  claimId: string,
  end: SettleEnd,
): Promise<void> {
  await db
    .send(
      new UpdateCommand({
        TableName: tableName,
        Key: keyOf(notice),
        UpdateExpression:
          'SET #status = :status, settledReason = :reason, settledAt = :at REMOVE dueBucket, dueAt',
        ConditionExpression: '#status = :sending AND claimId = :claimId',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': end.status,
          ':reason': end.reason,
          ':at': end.at.toISOString(),
          ':sending': 'sending',
          ':claimId': claimId,
        },
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
}

async function releaseWaitingNotice(
  db: DynamoDBDocumentClient,
  tableName: string,
  notice: DueNotice,
  claimId: string,
): Promise<void> {
  await db
    .send(
      new UpdateCommand({
        TableName: tableName,
        Key: keyOf(notice),
        UpdateExpression: 'SET #status = waitingAs REMOVE claimId, claimedAt',
        ConditionExpression: '#status = :sending AND claimId = :claimId',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':sending': 'sending', ':claimId': claimId },
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
}

export function createWaitingNoticeStore(
  db: DynamoDBDocumentClient,
  tableName: string,
): WaitingNoticeStore {
  return {
    fileWaitingNotice: (notice, as) => fileWaitingNotice(db, tableName, notice, as),
    ...createDigestWindows(db, tableName),
    ...createHeldClaims(db, tableName),
    dueNotices: (now, options) => dueNotices(db, tableName, now, options),
    claimWaitingNotice: (notice, claim) => claimWaitingNotice(db, tableName, notice, claim),
    completeWaitingNotice: (notice, claimId, sent) =>
      completeWaitingNotice(db, tableName, notice, claimId, sent),
    settleWaitingNotice: (notice, claimId, end) =>
      settleWaitingNotice(db, tableName, notice, claimId, end),
    releaseWaitingNotice: (notice, claimId) => releaseWaitingNotice(db, tableName, notice, claimId),
  };
}
