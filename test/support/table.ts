/**
 * A fresh table per test file, built from the same definition as the CDK stack: files run in
 * parallel without seeing each other's items.
 */
import { afterAll, beforeAll } from 'vitest';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { createTableInput } from '#storage/table';
import { createDocumentClient } from '#platform/dynamodb';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '#storage/keys';
import type { Occasion } from '#notifications/occasions';
import { createTableStore, type TableStore } from '../../local/table-store';

export interface TestTable {
  tableName: string;
  client: DynamoDBClient;
  store: TableStore;
  /** The send-once ledger's record of one email, as stored; only tests need to read one. */
  notificationRecord(
    accountId: string,
    generation: number,
    userId: string,
    occasion?: Occasion,
  ): Promise<NotificationRecord | undefined>;
  /** Every item of the table, read with a Scan: only tests may, to prove nothing is left. */
  scanAll(): Promise<Record<string, unknown>[]>;
  /** The items anywhere in the table that hold `value` in a key or an attribute. */
  itemsMentioning(value: string): Promise<Record<string, unknown>[]>;
  drop(): Promise<void>;
}

export interface NotificationRecord {
  status: 'sending' | 'sent';
  occasion: Occasion;
  messageId?: string;
  sentAt?: string;
  ttl: number;
}

export async function createTestTable(prefix = 'tokenwatch-test'): Promise<TestTable> {
  const tableName = `${prefix}-${randomUUID()}`;
  const client = new DynamoDBClient({});
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  const db = createDocumentClient(client);
  const scanAll = async () => {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({ TableName: tableName, ExclusiveStartKey, ConsistentRead: true }),
      );
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  };
  return {
    tableName,
    client,
    store: createTableStore(db, tableName),
    async notificationRecord(accountId, generation, userId, occasion = 'expired') {
      const result = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.notification(accountId, generation, occasion, userId),
          ConsistentRead: true,
        }),
      );
      return result.Item as NotificationRecord | undefined;
    },
    scanAll,
    async itemsMentioning(value) {
      return (await scanAll()).filter((item) => JSON.stringify(item).includes(value));
    },
    async drop() {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

/**
 * A fresh table for the test file that calls it, dropped after its last test: `set` receives it
 * before the first test runs.
 */
export function useTestTable(set: (table: TestTable) => void): void {
  let created: TestTable | undefined;
  beforeAll(async () => {
    created = await createTestTable();
    set(created);
  });
  afterAll(async () => {
    await created?.drop();
  });
}

/** Every page a due-token read yields, as one list. */
export async function collect<T>(generator: AsyncGenerator<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of generator) all.push(...page);
  return all;
}
