/**
 * `connectAccount` reads an account before it writes it, one GetItem each: for an import of
 * thousands that is half its calls, and measured (bench/import.ts) it made the import half as
 * fast as bare writes. Here those first reads are made ahead of the writes, 100 accounts per
 * consistent BatchGetItem, a batch or two ahead of the writers, and handed to `connectAccount`
 * through its own port. Nothing else changes: the writes are the repository's, with their
 * conditions, and a write that finds the account moved on since the batch read (a refresh
 * meanwhile) makes connectAccount read again, this time with the repository's own GetItem.
 *
 * The batch read belongs in the account repository (`getAccountsWithToken(ids)`, beside
 * `getAccountWithToken`); it is here only until the repository grows one.
 */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Item } from '../functions/platform/dynamodb';
import { backoffDelay, sleep } from '../functions/platform/retry';
import { keys } from '../functions/storage/keys';
import type { AccountConnector } from '../functions/tokens/account-connections';
import { summaryOf, type AccountWithToken } from '../functions/tokens/accounts';

/** DynamoDB's limit for one BatchGetItem. */
const batchSize = 100;
/** How many batches are read ahead of the one the writers are on. */
const readAhead = 2;

/** What `getAccountWithToken` reads, as it maps it: the summary, the token and its issue time. */
const withToken = (item: Item): AccountWithToken => ({
  ...summaryOf(item),
  accessToken: item.accessToken as string,
  tokenIssuedAt: item.tokenIssuedAt as string,
});

/** One consistent BatchGetItem of up to 100 accounts, retrying what DynamoDB left unprocessed. */
async function readBatch(
  db: DynamoDBDocumentClient,
  tableName: string,
  accountIds: readonly string[],
): Promise<Map<string, AccountWithToken>> {
  const found = new Map<string, AccountWithToken>();
  let pending: Item[] | undefined = accountIds.map((accountId) => keys.account(accountId));
  for (let attempt = 0; pending && pending.length > 0; attempt += 1) {
    if (attempt > 0) await sleep(backoffDelay(attempt, 50, 1_000));
    const result: BatchGetCommandOutput = await db.send(
      new BatchGetCommand({
        RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } },
      }),
    );
    for (const item of result.Responses?.[tableName] ?? []) {
      found.set(item.accountId as string, withToken(item));
    }
    pending = result.UnprocessedKeys?.[tableName]?.Keys;
  }
  return found;
}

/**
 * An AccountConnector for connecting `accountIds`, in this order: each account's first read is
 * answered from a batch read; any later read of it (a retry) goes to `store`.
 */
export function prefetchingConnector(
  db: DynamoDBDocumentClient,
  tableName: string,
  store: AccountConnector,
  accountIds: readonly string[],
): AccountConnector {
  /** Which batch each account's first read is in; gone once it was answered. */
  const batchOf = new Map<string, number>();
  const remaining = new Map<number, number>();
  accountIds.forEach((accountId, index) => {
    if (batchOf.has(accountId)) return;
    const number = Math.floor(index / batchSize);
    batchOf.set(accountId, number);
    remaining.set(number, (remaining.get(number) ?? 0) + 1);
  });
  const batches = new Map<number, Promise<Map<string, AccountWithToken>>>();

  const batch = (number: number) => {
    let read = batches.get(number);
    if (!read) {
      const ids = accountIds.slice(number * batchSize, (number + 1) * batchSize);
      read = readBatch(db, tableName, ids);
      batches.set(number, read);
      // A failed read-ahead must not be an unhandled rejection; the writer that needs it sees it.
      read.catch(() => undefined);
    }
    return read;
  };

  return {
    async getAccountWithToken(accountId) {
      const number = batchOf.get(accountId);
      if (number === undefined) return store.getAccountWithToken(accountId);
      batchOf.delete(accountId);
      for (let ahead = 1; ahead <= readAhead; ahead += 1) {
        // Only batches that still have first reads to answer; a finished one is never read again.
        if (remaining.has(number + ahead)) void batch(number + ahead);
      }
      const found = await batch(number);
      const left = (remaining.get(number) ?? 1) - 1;
      // Held only until used: an import of many accounts keeps only a few batches in memory.
      if (left === 0) {
        remaining.delete(number);
        batches.delete(number);
      } else remaining.set(number, left);
      const account = found.get(accountId);
      found.delete(accountId);
      return account;
    },
    storeConnectedToken: (...args) => store.storeConnectedToken(...args),
    updateAccountDetails: (...args) => store.updateAccountDetails(...args),
  };
}
