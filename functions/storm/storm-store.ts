/**
 * Where the storm guard keeps what it knows: one counter item per clock hour of trouble (tokens
 * Instagram refused, refreshes that failed), by cause, and one item for the storm's state. Both
 * are small and written only when something goes wrong, so a calm fleet pays one read of the
 * state per announcement the notifier tells (read with the recipients' addresses) and per
 * refresh batch, and nothing else.
 */
import {
  DescribeTableCommand,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#platform/dynamodb';
import { keys, noticeBuckets } from '#storage/keys';
import { dueIndex, dueShards } from '#storage/table';

/** Trouble counted in one clock hour: how many, and how many of each cause. */
export interface TroubleCount {
  tokens: number;
  causes: Record<string, number>;
}

export type StormEnding = 'release' | 'discard';

/** A point in the hour counters: the hour, and its count after one caller's addition. */
export interface CountedUpTo {
  hour: string;
  upTo: number;
}

export interface StormState {
  /** `storm` while one is declared and nobody ended it */
  status: 'storm' | 'calm';
  /** when the storm was declared: it names the storm, and the notices it held */
  since?: string;
  /** trouble counted since the storm was declared, by cause */
  trouble?: TroubleCount;
  /**
   * how far the hour's counter had gone when the storm was declared: trouble counted after it
   * is added to the storm's, trouble counted before is in it already
   */
  counted?: CountedUpTo;
  /** when operators were last told (declared, then every hour until it ends) */
  reportedAt?: string;
  /** when the last storm ended */
  endedAt?: string;
  /** how each storm that ended was ended, by its `since`: what became of its held notices */
  endings?: Record<string, { action: StormEnding; at: string }>;
}

export interface StormStore {
  /** Counts trouble in `now`'s hour; answers the hour's count and the hour before's. */
  countTrouble(
    causes: Record<string, number>,
    now: Date,
  ): Promise<{ current: TroubleCount; previous: TroubleCount }>;
  getStormState(): Promise<StormState>;
  /** Declares a storm unless one is on: true when this call declared it. */
  declareStorm(trouble: TroubleCount, now: Date, counted?: CountedUpTo): Promise<boolean>;
  /** Adds trouble to the storm on, if one is. */
  addStormTrouble(causes: Record<string, number>): Promise<void>;
  markStormReported(since: string, now: Date): Promise<void>;
  /** Ends the storm `state` read: false when it is not (any longer) the one on. */
  endStorm(state: StormState, action: StormEnding, now: Date): Promise<boolean>;
  /** How many notices a storm holds now (released or discarded ones are no longer held). */
  countHeldNotices(): Promise<number>;
  /** Roughly how many tokens are watched (refreshed six-hourly by DynamoDB); undefined unknown. */
  watchedTokens(): Promise<number | undefined>;
}

export const hourOf = (instant: Date) => instant.toISOString().slice(0, 13);
const causeAttribute = (cause: string) => `cause:${cause}`;
/** An hour's counter is kept two days: long enough to read the hour before, and to look back. */
const troubleRecordSeconds = 2 * 86_400;

function troubleOf(item: Record<string, unknown> | undefined): TroubleCount {
  const causes: Record<string, number> = {};
  for (const [name, value] of Object.entries(item ?? {})) {
    if (name.startsWith('cause:') && typeof value === 'number') causes[name.slice(6)] = value;
  }
  return { tokens: typeof item?.tokens === 'number' ? item.tokens : 0, causes };
}

/** `ADD tokens :n, #c0 :c0, …` for a breakdown by cause. */
function addCauses(causes: Record<string, number>) {
  const entries = Object.entries(causes).filter(([, count]) => count > 0);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  return {
    expression: ['tokens :total', ...entries.map((_, index) => `#c${index} :c${index}`)].join(', '),
    names: Object.fromEntries(
      entries.map(([cause], index) => [`#c${index}`, causeAttribute(cause)]),
    ),
    values: {
      ':total': total,
      ...Object.fromEntries(entries.map(([, count], index) => [`:c${index}`, count])),
    },
  };
}

async function countTrouble(
  db: DynamoDBDocumentClient,
  tableName: string,
  causes: Record<string, number>,
  now: Date,
): Promise<{ current: TroubleCount; previous: TroubleCount }> {
  const add = addCauses(causes);
  const hour = hourOf(now);
  const written = await db.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.stormTrouble(hour),
      UpdateExpression: `SET #ttl = if_not_exists(#ttl, :ttl) ADD ${add.expression}`,
      ExpressionAttributeNames: { '#ttl': 'ttl', ...add.names },
      ExpressionAttributeValues: {
        ':ttl': Math.floor(now.getTime() / 1000) + troubleRecordSeconds,
        ...add.values,
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const before = await db.send(
    new GetCommand({
      TableName: tableName,
      Key: keys.stormTrouble(hourOf(new Date(now.getTime() - 3_600_000))),
    }),
  );
  return { current: troubleOf(written.Attributes), previous: troubleOf(before.Item) };
}

/** The storm's state from its item: calm without one. */
export function stormStateOf(Item: Record<string, unknown> | undefined): StormState {
  if (!Item) return { status: 'calm' };
  return {
    status: Item.status === 'storm' ? 'storm' : 'calm',
    since: Item.since as string | undefined,
    trouble: {
      tokens: typeof Item.tokens === 'number' ? Item.tokens : 0,
      causes: (Item.causes as Record<string, number> | undefined) ?? {},
    },
    counted: Item.counted as CountedUpTo | undefined,
    reportedAt: Item.reportedAt as string | undefined,
    endedAt: Item.endedAt as string | undefined,
    endings: Item.endings as StormState['endings'],
  };
}

async function getStormState(db: DynamoDBDocumentClient, tableName: string): Promise<StormState> {
  const { Item } = await db.send(
    new GetCommand({ TableName: tableName, Key: keys.stormState(), ConsistentRead: true }),
  );
  return stormStateOf(Item);
}

async function declareStorm(
  db: DynamoDBDocumentClient,
  tableName: string,
  trouble: TroubleCount,
  now: Date,
  counted: CountedUpTo,
): Promise<boolean> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.stormState(),
        // The storm's trouble as a whole map: nothing of an earlier storm's causes stays.
        UpdateExpression:
          'SET #status = :storm, since = :now, reportedAt = :now, tokens = :tokens, ' +
          'causes = :causes, counted = :counted',
        ConditionExpression: 'attribute_not_exists(pk) OR #status <> :storm',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':storm': 'storm',
          ':now': now.toISOString(),
          ':tokens': trouble.tokens,
          ':causes': trouble.causes,
          ':counted': counted,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

async function addStormTrouble(
  db: DynamoDBDocumentClient,
  tableName: string,
  causes: Record<string, number>,
): Promise<void> {
  const entries = Object.entries(causes).filter(([, count]) => count > 0);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.stormState(),
        // ADD takes no nested path: each cause is set to what it was plus this.
        UpdateExpression: [
          'SET tokens = tokens + :total',
          ...entries.map(
            (_, index) =>
              `causes.#c${String(index)} = if_not_exists(causes.#c${String(index)}, :zero) + :c${String(index)}`,
          ),
        ].join(', '),
        ConditionExpression: '#status = :storm',
        ExpressionAttributeNames: {
          '#status': 'status',
          ...Object.fromEntries(entries.map(([cause], index) => [`#c${String(index)}`, cause])),
        },
        ExpressionAttributeValues: {
          ':storm': 'storm',
          ':total': total,
          ':zero': 0,
          ...Object.fromEntries(entries.map(([, count], index) => [`:c${String(index)}`, count])),
        },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

async function markStormReported(
  db: DynamoDBDocumentClient,
  tableName: string,
  since: string,
  now: Date,
): Promise<void> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.stormState(),
        UpdateExpression: 'SET reportedAt = :now',
        ConditionExpression: '#status = :storm AND since = :since',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':storm': 'storm',
          ':since': since,
          ':now': now.toISOString(),
        },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

async function endStorm(
  db: DynamoDBDocumentClient,
  tableName: string,
  state: StormState,
  action: StormEnding,
  now: Date,
): Promise<boolean> {
  const since = state.since;
  if (state.status !== 'storm' || !since) return false;
  try {
    await db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              Key: keys.stormState(),
              // The storm ends together with the record of what becomes of its held notices,
              // or not at all. Its counts stay, so the status can say what the last one was.
              UpdateExpression: 'SET #status = :calm, endedAt = :now, endings = :endings',
              ConditionExpression: '#status = :storm AND since = :since',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':calm': 'calm',
                ':storm': 'storm',
                ':since': since,
                ':now': now.toISOString(),
                ':endings': { ...state.endings, [since]: { action, at: now.toISOString() } },
              },
            },
          },
          // The trouble an operator has decided on is not counted again: without this, the next
          // refused token would find the hour's counters past the threshold and start a storm.
          ...[now, new Date(now.getTime() - 3_600_000)].map((hour) => ({
            Delete: { TableName: tableName, Key: keys.stormTrouble(hourOf(hour)) },
          })),
        ],
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof TransactionCanceledException || isConditionFailure(error)) return false;
    throw error;
  }
}

async function countHeldNotices(db: DynamoDBDocumentClient, tableName: string): Promise<number> {
  let held = 0;
  for (let shard = 0; shard < dueShards; shard += 1) {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: dueIndex.name,
          KeyConditionExpression: '#bucket = :bucket',
          ExpressionAttributeNames: { '#bucket': dueIndex.partitionKey },
          ExpressionAttributeValues: { ':bucket': noticeBuckets.held(shard) },
          Select: 'COUNT',
          ExclusiveStartKey,
        }),
      );
      held += page.Count ?? 0;
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }
  return held;
}

export function createStormStore(
  db: DynamoDBDocumentClient,
  tableName: string,
  options: { describeTable?: () => Promise<number | undefined> } = {},
): StormStore {
  let watched: { count: number | undefined; readAt: number } | undefined;
  let plainClient: DynamoDBClient | undefined;
  const describeDueIndex =
    options.describeTable ??
    (async () => {
      // DescribeTable is not in the document client; one plain client, made on first use.
      const table = await (plainClient ??= new DynamoDBClient({})).send(
        new DescribeTableCommand({ TableName: tableName }),
      );
      const index = table.Table?.GlobalSecondaryIndexes?.find(
        (candidate) => candidate.IndexName === dueIndex.name,
      );
      return index?.ItemCount;
    });

  return {
    countTrouble: (causes, now) => countTrouble(db, tableName, causes, now),
    getStormState: () => getStormState(db, tableName),
    declareStorm: (trouble, now, counted) =>
      declareStorm(db, tableName, trouble, now, counted ?? { hour: hourOf(now), upTo: 0 }),
    addStormTrouble: (causes) => addStormTrouble(db, tableName, causes),
    markStormReported: (since, now) => markStormReported(db, tableName, since, now),
    endStorm: (state, action, now) => endStorm(db, tableName, state, action, now),
    countHeldNotices: () => countHeldNotices(db, tableName),
    async watchedTokens() {
      // Asked at most every ten minutes per process: DynamoDB itself refreshes it six-hourly.
      if (watched && Date.now() - watched.readAt < 600_000) return watched.count;
      const count = await describeDueIndex().catch(() => undefined);
      watched = { count: count && count > 0 ? count : undefined, readAt: Date.now() };
      return watched.count;
    },
  };
}
