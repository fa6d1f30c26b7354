/**
 * What SES said about each address (suppression.ts), one item per address under the SHA-256 of
 * the address (`SUPPRESSED#<hash>` / `ADDRESS`): its status once bounced or complained, when,
 * and how many soft bounces. Each feedback event recorded leaves a marker beside it
 * (`FEEDBACK#<feedbackId>`, kept 30 days) written in the same transaction, so an event SES or
 * EventBridge delivers twice counts once. Nothing here holds the address itself.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { batchGetAll, type Item } from '#platform/dynamodb';
import { emailFeedbackRecordDays, keys } from '#storage/keys';
import type { ProfileRepository } from './profiles';
import {
  addressHash,
  type EmailFeedback,
  type EmailStatus,
  type FeedbackKind,
} from './suppression';

export interface EmailStatusReader {
  /** The status of one address: `ok` unless SES reported a hard bounce or a complaint. */
  emailStatusOf(address: string): Promise<EmailStatus>;
  /** The status of each of these addresses, keyed by the address as given. */
  emailStatusesOf(addresses: readonly string[]): Promise<Map<string, EmailStatus>>;
}

export interface EmailFeedbackRecorder {
  /** `duplicate`: this feedback event was recorded before, and changes nothing now. */
  recordEmailFeedback(address: string, feedback: EmailFeedback): Promise<'recorded' | 'duplicate'>;
}

export type SuppressionStore = EmailStatusReader & EmailFeedbackRecorder;

/** The status of a user's address on file; `ok` for a user without one. */
export async function emailStatusOfUser(
  store: Pick<ProfileRepository, 'getProfile'> & Pick<EmailStatusReader, 'emailStatusOf'>,
  userId: string,
): Promise<EmailStatus> {
  const profile = await store.getProfile(userId);
  return profile ? store.emailStatusOf(profile.email) : 'ok';
}

/** An address's status from its item: `ok` without one. */
export const statusOf = (item: Item | undefined): EmailStatus =>
  item?.status === 'bounced' || item?.status === 'complained' ? item.status : 'ok';

/**
 * The update `statusAfter` describes, as DynamoDB applies it atomically: a missing `status` is
 * `ok`, a hard bounce sets `bounced` only where there is none, a complaint sets `complained`.
 */
const updateFor: Record<FeedbackKind, string> = {
  'hard-bounce':
    'SET #status = if_not_exists(#status, :bounced), bouncedAt = if_not_exists(bouncedAt, :at)',
  complaint: 'SET #status = :complained, complainedAt = if_not_exists(complainedAt, :at)',
  'soft-bounce': 'SET lastSoftBounceAt = :at ADD softBounces :one',
};

const valuesFor: Record<FeedbackKind, Record<string, unknown>> = {
  'hard-bounce': { ':bounced': 'bounced' },
  complaint: { ':complained': 'complained' },
  'soft-bounce': { ':one': 1 },
};

export function createSuppressionStore(
  db: DynamoDBDocumentClient,
  tableName: string,
): SuppressionStore {
  return {
    async emailStatusOf(address) {
      const result = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.emailAddress(addressHash(address)),
          ProjectionExpression: '#status',
          ExpressionAttributeNames: { '#status': 'status' },
        }),
      );
      return statusOf(result.Item);
    },

    async emailStatusesOf(addresses) {
      const hashes = new Map(addresses.map((address) => [address, addressHash(address)]));
      const unique = [...new Set(hashes.values())];
      const items = await batchGetAll(db, tableName, unique.map(keys.emailAddress), [
        'pk',
        'status',
      ]);
      const byPk = new Map(items.map((item) => [item.pk as string, item]));
      return new Map(
        [...hashes].map(([address, hash]) => [
          address,
          statusOf(byPk.get(keys.emailAddress(hash).pk)),
        ]),
      );
    },

    async recordEmailFeedback(address, feedback) {
      const hash = addressHash(address);
      const at = feedback.at.toISOString();
      try {
        await db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: tableName,
                  Item: {
                    ...keys.emailFeedback(hash, feedback.feedbackId),
                    kind: feedback.kind,
                    at,
                    ttl:
                      Math.floor(feedback.at.getTime() / 1000) + emailFeedbackRecordDays * 86_400,
                  },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Update: {
                  TableName: tableName,
                  Key: keys.emailAddress(hash),
                  UpdateExpression: updateFor[feedback.kind],
                  ...(feedback.kind === 'soft-bounce'
                    ? {}
                    : { ExpressionAttributeNames: { '#status': 'status' } }),
                  ExpressionAttributeValues: { ':at': at, ...valuesFor[feedback.kind] },
                },
              },
            ],
          }),
        );
        return 'recorded';
      } catch (error) {
        if (isDuplicate(error)) return 'duplicate';
        throw error;
      }
    },
  };
}

/** The transaction failed on the marker's condition alone: this event was recorded before. */
function isDuplicate(error: unknown): boolean {
  const reasons =
    error instanceof TransactionCanceledException ||
    (error as { name?: string } | undefined)?.name === 'TransactionCanceledException'
      ? (error as TransactionCanceledException).CancellationReasons
      : undefined;
  return reasons?.[0]?.Code === 'ConditionalCheckFailed';
}
