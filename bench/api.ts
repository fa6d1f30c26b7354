/**
 * API overhead: p99 latency of PUT /me/notification-preferences through the local HTTP API
 * (JWT check, the route's middy chain, validation, the store's PutItem) at 20 concurrent clients
 * ÷ p99 of a bare PutItem of the same item to the same DynamoDB Local at the same concurrency.
 * The whole local system runs in this process, as `npm start` runs it.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../functions/platform/dynamodb';
import { keys } from '../functions/storage/keys';
import { freePort } from '../local/services';
import { startLocalSystem } from '../local/system';
import { type Benchmark } from './harness';
import { percentile, withConcurrency } from './stats';

const clients = 20;

export const run: Benchmark = async ({ quick, log }) => {
  const perClient = quick ? 25 : 100;
  const rounds = quick ? 2 : 3;
  const system = await startLocalSystem({
    apiPort: await freePort(),
    sesPort: await freePort(),
    checkIntervalMs: 0,
    loadDemoData: false,
    runCheckAtStart: false,
    logLevel: 'WARN',
  });
  const db = createDocumentClient(
    new DynamoDBClient({ endpoint: system.urls.dynamodb, region: process.env.AWS_REGION }),
  );
  try {
    const users = Array.from({ length: clients }, (_, index) => `bench-user-${index}`);
    const tokens = await Promise.all(users.map((user) => system.tokenFor(user)));
    const url = `${system.urls.api}/me/notification-preferences`;

    const throughApi = async (client: number, request: number) => {
      const started = performance.now();
      const response = await fetch(url, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${tokens[client] ?? ''}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ ownerExpiredToken: request % 2 === 0, developerExpiredToken: true }),
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`PUT answered ${response.status}`);
      return performance.now() - started;
    };
    // The same item the store writes, written directly: the least the route could cost.
    const bare = async (client: number, request: number) => {
      const userId = users[client] ?? '';
      const started = performance.now();
      await db.send(
        new PutCommand({
          TableName: system.tableName,
          Item: {
            ...keys.preferences(userId),
            userId,
            ownerExpiredToken: request % 2 === 0,
            developerExpiredToken: true,
            updatedAt: new Date().toISOString(),
          },
        }),
      );
      return performance.now() - started;
    };
    const load = async (call: (client: number, request: number) => Promise<number>) => {
      const latencies: number[] = [];
      await withConcurrency(users, clients, async (_, client) => {
        for (let request = 0; request < perClient; request += 1) {
          latencies.push(await call(client, request));
        }
      });
      return latencies;
    };

    await load(throughApi);
    await load(bare);
    const api: number[] = [];
    const direct: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      api.push(...(await load(throughApi)));
      direct.push(...(await load(bare)));
      log(
        `  round ${round + 1}: p99 through the API ${percentile(api, 99).toFixed(1)} ms, bare PutItem ${percentile(direct, 99).toFixed(1)} ms`,
      );
    }
    const summary = (values: number[]) => ({
      p50: Number(percentile(values, 50).toFixed(1)),
      p99: Number(percentile(values, 99).toFixed(1)),
      requests: values.length,
    });
    return [
      {
        benchmark: 'API overhead',
        figure: `p99 of PUT /me/notification-preferences through the local HTTP API ÷ p99 of a bare PutItem, ${clients} concurrent clients`,
        goal: { atMost: 2.0 },
        measured: percentile(api, 99) / percentile(direct, 99),
        details: { clients, api: summary(api), bare: summary(direct) },
      },
    ];
  } finally {
    db.destroy();
    await system.stop();
  }
};
