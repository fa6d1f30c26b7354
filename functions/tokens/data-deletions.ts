/**
 * Data deletion requests from Meta (DESIGN.md, "Meta's callbacks"): each gets an unguessable
 * confirmation code, and a record for its status page kept under the code's SHA-256, so the
 * table never holds the code itself nor the id of the account that was deleted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dataDeletionRecordDays, keys } from '#storage/keys';
import { timeToLiveAttribute } from '#storage/table';

export interface DataDeletionRecord {
  status: 'deleted';
  requestedAt: string;
}

export interface DataDeletions {
  /** Records a completed deletion and answers its new confirmation code. */
  record(now: Date): Promise<string>;
  find(confirmationCode: string): Promise<DataDeletionRecord | undefined>;
}

/** 256 random bits, base64url: 43 characters. */
export const newConfirmationCode = () => randomBytes(32).toString('base64url');

const codeHash = (code: string) => createHash('sha256').update(code).digest('hex');

export function createDataDeletions(db: DynamoDBDocumentClient, tableName: string): DataDeletions {
  return {
    async record(now) {
      const code = newConfirmationCode();
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...keys.dataDeletion(codeHash(code)),
            status: 'deleted',
            requestedAt: now.toISOString(),
            [timeToLiveAttribute]:
              Math.floor(now.getTime() / 1000) + dataDeletionRecordDays * 86_400,
          },
        }),
      );
      return code;
    },
    async find(confirmationCode) {
      const result = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.dataDeletion(codeHash(confirmationCode)),
          ConsistentRead: true,
        }),
      );
      if (!result.Item) return undefined;
      return { status: 'deleted', requestedAt: result.Item.requestedAt as string };
    },
  };
}
