/**
 * A fresh table per test file, built from the same definition as the CDK stack: files run in
 * parallel without seeing each other's items.
 */
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { createTableInput } from '#storage/table';
import { createDocumentClient } from '#platform/dynamodb';
import { createStore, type TokenwatchStore } from '#storage/store';

export interface TestTable {
  tableName: string;
  client: DynamoDBClient;
  store: TokenwatchStore;
  drop(): Promise<void>;
}

export async function createTestTable(prefix = 'tokenwatch-test'): Promise<TestTable> {
  const tableName = `${prefix}-${randomUUID()}`;
  const client = new DynamoDBClient({});
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  return {
    tableName,
    client,
    store: createStore(createDocumentClient(client), tableName),
    async drop() {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}
