/**
 * One DynamoDB document client per cold start, and the few ways every repository reads and
 * writes with it (paging, batch gets, conditional writes). The endpoint comes from the SDK's standard
 * settings (AWS_ENDPOINT_URL_DYNAMODB locally and in tests), so there is no special case here.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  UpdateCommand,
  type BatchGetCommandOutput,
  type BatchWriteCommandOutput,
  type QueryCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { backoffDelay, sleep } from './retry';

export function createDocumentClient(client = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

let shared: DynamoDBDocumentClient | undefined;
export function documentClient(): DynamoDBDocumentClient {
  shared ??= createDocumentClient();
  return shared;
}

/** Whether a write was refused by its condition: a lost race or a repeat, never a fault. */
export const isConditionFailure = (error: unknown): error is ConditionalCheckFailedException =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

/** `#p0, #p1, …` for a list of attribute names, so no name ever clashes with a reserved word. */
export function projectionOf(names: readonly string[]) {
  const attributeNames = Object.fromEntries(names.map((name, i) => [`#p${i}`, name]));
  return {
    ProjectionExpression: Object.keys(attributeNames).join(', '),
    ExpressionAttributeNames: attributeNames,
  };
}

export type Item = Record<string, unknown>;

/**
 * An update that holds only under its condition: true when written, false when the condition
 * refused it (a lost race or a repeat, never a fault).
 */
export async function updateIf(
  db: DynamoDBDocumentClient,
  input: UpdateCommandInput,
): Promise<boolean> {
  try {
    await db.send(new UpdateCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Every item of a query, page after page. */
export async function queryAll(
  db: DynamoDBDocumentClient,
  input: QueryCommandInput,
): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await db.send(new QueryCommand({ ...input, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** BatchGet in chunks of 100 (DynamoDB's limit), retrying with backoff what it left unprocessed. */
export async function batchGetAll(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Item[],
  /** the attributes to read; none: the whole items */
  projection: readonly string[],
  options: { consistent?: boolean } = {},
): Promise<Item[]> {
  const items: Item[] = [];
  for (let start = 0; start < keys.length; start += 100) {
    let pending: Item[] | undefined = keys.slice(start, start + 100);
    for (let attempt = 0; pending && pending.length > 0; attempt += 1) {
      if (attempt > 0) await sleep(backoffDelay(attempt, 50, 1_000));
      const result: BatchGetCommandOutput = await db.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ...(projection.length > 0 ? projectionOf(projection) : {}),
              ...(options.consistent ? { ConsistentRead: true } : {}),
            },
          },
        }),
      );
      items.push(...(result.Responses?.[tableName] ?? []));
      pending = result.UnprocessedKeys?.[tableName]?.Keys;
    }
  }
  return items;
}

/**
 * BatchWrite deletes in chunks of 25 (DynamoDB's limit), retrying with backoff what it left
 * unprocessed. Deleting a key that is not there is no error, so a repeat is harmless.
 */
export async function batchDeleteAll(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Item[],
): Promise<void> {
  for (let start = 0; start < keys.length; start += 25) {
    let pending: NonNullable<BatchWriteCommandOutput['UnprocessedItems']>[string] | undefined = keys
      .slice(start, start + 25)
      .map((key) => ({ DeleteRequest: { Key: key } }));
    for (let attempt = 0; pending && pending.length > 0; attempt += 1) {
      if (attempt > 0) await sleep(backoffDelay(attempt, 50, 1_000));
      const result: BatchWriteCommandOutput = await db.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: pending } }),
      );
      pending = result.UnprocessedItems?.[tableName];
    }
  }
}

/** The keys of every item in one partition, read consistently: what deleting it all needs. */
export async function partitionKeys(
  db: DynamoDBDocumentClient,
  tableName: string,
  partition: string,
): Promise<{ pk: string; sk: string }[]> {
  const items = await queryAll(db, {
    TableName: tableName,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': partition },
    ProjectionExpression: 'pk, sk',
    ConsistentRead: true,
  });
  return items.map((item) => ({ pk: item.pk as string, sk: item.sk as string }));
}
