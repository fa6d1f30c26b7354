/**
 * The local services answer this machine only: nobody else on the network may read or write the
 * local table or the inbox. Checked for the services the tests share, and for DynamoDB Local as
 * `npm start` and the benchmark start it (test/local-stack.e2e.test.ts checks `npm start` too).
 */
import { describe, expect, inject, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamoDbLocal } from '../support/services';
import { accepts, externalAddresses, isLoopback, listeningAddresses } from '../support/listening';

async function expectLoopbackOnly(endpoint: string) {
  const port = Number(new URL(endpoint).port);
  const listening = listeningAddresses(port);
  if (listening !== undefined) {
    expect(listening.length).toBeGreaterThan(0);
    expect(listening.filter((address) => !isLoopback(address))).toEqual([]);
  }
  const reachable: string[] = [];
  for (const address of externalAddresses()) {
    if (await accepts(address, port)) reachable.push(address);
  }
  expect(reachable).toEqual([]);
}

describe('the local services listen on loopback only', () => {
  it("the tests' DynamoDB Local", async () => {
    await expectLoopbackOnly(inject('dynamoEndpoint'));
  });

  it("the tests' SES emulator", async () => {
    await expectLoopbackOnly(inject('sesEndpoint'));
  });

  it('DynamoDB Local in memory, as the benchmark and npm start run it', async () => {
    const dynamo = await startDynamoDbLocal();
    try {
      await expectLoopbackOnly(dynamo.endpoint);
    } finally {
      await dynamo.stop();
    }
  });

  it('DynamoDB Local with its files in a folder, as npm start -- --persist runs it', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'tokenwatch-dynamodb-'));
    const dynamo = await startDynamoDbLocal({ path: folder });
    try {
      await expectLoopbackOnly(dynamo.endpoint);
    } finally {
      await dynamo.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
