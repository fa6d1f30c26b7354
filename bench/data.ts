/**
 * Data sets for the benchmarks: generated from a seed (the same seed, the same items), shaped by
 * the store's own write methods (so a benchmark table holds exactly what production writes), and
 * loaded with BatchWrite, 25 items a call and many calls at once.
 */
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../functions/platform/dynamodb';
import {
  createTableStore as createStore,
  type TableStore as TokenwatchStore,
} from '../local/table-store';
import { createTableInput } from '../functions/storage/table';
import { dueKeys } from '../functions/tokens/filing';
import { seededRandom, withConcurrency } from './stats';

export type Item = Record<string, unknown>;

/**
 * The items the store would write for what `write` does, without writing them: the store runs
 * against a client that only records each PutItem.
 */
export async function itemsWrittenBy(
  write: (store: TokenwatchStore) => Promise<void>,
): Promise<Item[]> {
  const items: Item[] = [];
  const recorder = {
    send: (command: { input: { Item?: Item } }) => {
      if (!command.input.Item) throw new Error('Only PutItem can be recorded');
      items.push(command.input.Item);
      return Promise.resolve({});
    },
  } as unknown as DynamoDBDocumentClient;
  await write(createStore(recorder, 'recording'));
  return items;
}

const DAY_MS = 86_400_000;

export interface TokenSet {
  /** every account item of the table */
  items: Item[];
  /** the account items due at `now`: written again to make them due again between rounds */
  dueItems: Item[];
}

/**
 * `total` connected accounts of which `due` have a token due at `now` (expired within the
 * check's look-back). Of the rest, a third were already handled (expired, off the index) and the
 * others expire 7 to 60 days from now: their first warning (7 days before their expiry) is still
 * to come, for some later today, in the very buckets the check reads.
 */
export async function generateTokens(options: {
  seed: number;
  total: number;
  due: number;
  now: Date;
  prefix: string;
}): Promise<TokenSet> {
  const random = seededRandom(options.seed);
  const now = options.now.getTime();
  const dueItems: Item[] = [];
  const items = await itemsWrittenBy(async (store) => {
    for (let index = 0; index < options.total; index += 1) {
      const isDue = index % Math.floor(options.total / options.due) === 0;
      const handled = !isDue && random() < 1 / 3;
      const expiresAt = isDue
        ? now - 1 - Math.floor(random() * 7 * DAY_MS)
        : handled
          ? now - Math.floor(random() * 365 * DAY_MS)
          : now + 7 * DAY_MS + 1 + Math.floor(random() * 53 * DAY_MS);
      await store.putAccount(
        {
          accountId: `${options.prefix}${index.toString(36).padStart(6, '0')}`,
          ownerUserId: `owner-${Math.floor(random() * options.total)}`,
          username: `ig.${index.toString(36)}`,
          accessToken: `IGQ${Math.floor(random() * 1e15).toString(36)}`,
          expiresAt: new Date(expiresAt).toISOString(),
          tokenStatus: handled ? 'expired' : 'active',
          generation: 1 + Math.floor(random() * 3),
        },
        // Written when the token was issued, 60 days before it expires: filed under its own day.
        new Date(Math.min(now, expiresAt - 60 * DAY_MS)),
      );
    }
  });
  for (const item of items) {
    if (item.tokenStatus === 'active' && (item.expiresAt as string) <= options.now.toISOString()) {
      // Its warnings went out before: the check filed it for its expiry a day ahead of it, so it
      // is due now as an expiry, under its own day.
      const expiresAt = item.expiresAt as string;
      Object.assign(
        item,
        dueKeys(item.accountId as string, expiresAt, new Date(Date.parse(expiresAt) - DAY_MS)),
      );
      delete item.dueReason;
    }
    if (typeof item.dueAt === 'string' && item.dueAt <= options.now.toISOString()) {
      dueItems.push(item);
    }
  }
  if (dueItems.length !== options.due) {
    throw new Error(`Generated ${dueItems.length} due tokens instead of ${options.due}`);
  }
  return { items, dueItems };
}

/** BatchWrite in calls of 25, `parallel` calls at once, retrying what DynamoDB left unprocessed. */
export async function writeItems(
  db: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Item[],
  parallel = 16,
): Promise<void> {
  const chunks: Item[][] = [];
  for (let start = 0; start < items.length; start += 25)
    chunks.push(items.slice(start, start + 25));
  await withConcurrency(chunks, parallel, async (chunk) => {
    let pending: BatchWriteCommandOutput['UnprocessedItems'] = {
      [tableName]: chunk.map((Item) => ({ PutRequest: { Item } })),
    };
    for (let attempt = 0; pending?.[tableName]?.length; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      if (attempt > 8) throw new Error('BatchWrite kept leaving items unprocessed');
      const result: BatchWriteCommandOutput = await db.send(
        new BatchWriteCommand({ RequestItems: pending }),
      );
      pending = result.UnprocessedItems;
    }
  });
}

export interface BenchTable {
  tableName: string;
  client: DynamoDBClient;
  db: DynamoDBDocumentClient;
  drop(): Promise<void>;
}

/** A table built from the same definition as the stack's, on the DynamoDB Local of this run. */
export async function createBenchTable(name: string): Promise<BenchTable> {
  const client = new DynamoDBClient({});
  const tableName = `bench-${name}-${Date.now().toString(36)}`;
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  return {
    tableName,
    client,
    db: createDocumentClient(client),
    async drop() {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

export interface RefreshTokenSet {
  /** every account item of the table */
  items: Item[];
  /** how many are due for refresh at `now` */
  due: number;
  /** how many are filed for a refresh later on the day of `now`, in the very buckets read */
  laterToday: number;
}

/**
 * `total` active tokens for the automatic refresh, each written as it was when it was issued,
 * 60 days before its expiry (so filed by the writer's own `activeTokenFiling`): `due` of them
 * due for refresh at `now` (their refresh fell within the last 6 days, inside the job's
 * look-back), `laterToday` filed for a refresh later that same day (in the buckets the job
 * reads, after `now` in their sort key), and the rest expiring 15 to 60 days after `now`.
 */
export async function generateRefreshTokens(options: {
  seed: number;
  total: number;
  due: number;
  laterToday: number;
  now: Date;
  prefix: string;
}): Promise<RefreshTokenSet> {
  const random = seededRandom(options.seed);
  const now = options.now.getTime();
  const endOfDay = Math.ceil((now + 1) / DAY_MS) * DAY_MS;
  const refreshBefore = 14 * DAY_MS; // defaultTokenSchedule.refreshBeforeDays
  const items = await itemsWrittenBy(async (store) => {
    for (let index = 0; index < options.total; index += 1) {
      const expiresAt =
        index < options.due
          ? now + refreshBefore - Math.floor(random() * 6 * DAY_MS)
          : index < options.due + options.laterToday
            ? now + refreshBefore + 1 + Math.floor(random() * (endOfDay - now - 1))
            : now + 15 * DAY_MS + Math.floor(random() * 45 * DAY_MS);
      const issuedAt = expiresAt - 60 * DAY_MS;
      await store.putAccount(
        {
          accountId: `${options.prefix}${index.toString(36).padStart(6, '0')}`,
          ownerUserId: `owner-${Math.floor(random() * options.total)}`,
          username: `ig.${index.toString(36)}`,
          accessToken: `IGQ${Math.floor(random() * 1e15).toString(36)}`,
          expiresAt: new Date(expiresAt).toISOString(),
          issuedAt: new Date(issuedAt).toISOString(),
          tokenStatus: 'active',
          generation: 1 + Math.floor(random() * 3),
        },
        new Date(issuedAt),
      );
    }
  });
  const nowIso = options.now.toISOString();
  const today = nowIso.slice(0, 10);
  const due = items.filter(
    (item) => typeof item.refreshAt === 'string' && item.refreshAt <= nowIso,
  );
  const laterToday = items.filter(
    (item) =>
      typeof item.refreshAt === 'string' &&
      item.refreshAt > nowIso &&
      item.refreshAt.startsWith(today),
  );
  if (due.length !== options.due || laterToday.length !== options.laterToday) {
    throw new Error(
      `Generated ${due.length} tokens due and ${laterToday.length} later today instead of ${options.due} and ${options.laterToday}`,
    );
  }
  return { items, due: due.length, laterToday: laterToday.length };
}
