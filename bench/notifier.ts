/**
 * Notifier requests per email: the DynamoDB requests the real notifier makes (every command its
 * document client sends, counted by an SDK middleware) ÷ the emails it sent, for token-expired
 * events with three recipients each (the owner and two opted-in developers), through the real
 * handler module with its deployed settings (digests on, so the storm and the digest window are
 * part of each email, as in production), two instances fed by the local queue. Request counts,
 * unlike timings, do not depend on the machine: the same code makes the same requests.
 *
 * The emails per second are recorded beside it; the speed figure is send-rate discipline's.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { notifierConcurrency } from '../lib/notifications';
import { createBenchTable, writeItems } from './data';
import { round, sesArrivals, type Benchmark } from './harness';
import { documentClient } from '../functions/platform/dynamodb';
import { expiredAccounts, startNotifierFleet } from './notifier-fleet';
import { timed } from './stats';

/** Counts every command a client sends, by name (as `timeCalls` in harness.ts times them). */
function countCommands(client: { middlewareStack: unknown }): Map<string, number> {
  const counts = new Map<string, number>();
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, context) => (args) => {
      const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchCommandCounter' },
  );
  return counts;
}

export const run: Benchmark = async ({ quick, log }) => {
  const perRound = quick ? 60 : 200;
  // The stack's default rate (10 emails/s) gives this many notifiers.
  const concurrency = notifierConcurrency(10);
  const now = new Date();

  const table = await createBenchTable('notifier');
  // One set to warm up (cold starts, the unsubscribe key), one measured: each event needs its
  // emails once.
  const [warmUp, measured] = await Promise.all(
    ['warm', 'measured'].map((prefix) =>
      expiredAccounts({ prefix, count: perRound, developerEvery: 1, developersEach: 2, now }),
    ),
  );
  if (!warmUp || !measured) throw new Error('no accounts');
  await writeItems(table.db, table.tableName, [...warmUp.items, ...measured.items]);
  // The notifiers share this module's document client: counting its commands counts theirs.
  const counts = countCommands(documentClient());
  const fleet = await startNotifierFleet({
    tableName: table.tableName,
    instances: concurrency,
    sesMaxSendRate: 1_000_000,
  });

  try {
    await fleet.deliver(warmUp.details);
    counts.clear();
    const started = Date.now();
    const ms = await timed(() => fleet.deliver(measured.details));
    const sent = (await sesArrivals(started + 1, Date.now())).length;
    if (sent !== measured.emails) {
      throw new Error(`The notifier sent ${sent} of ${measured.emails} emails`);
    }
    const requests = [...counts.values()].reduce((sum, n) => sum + n, 0);
    const byCommand = Object.fromEntries([...counts].sort(([, a], [, b]) => b - a));
    log(`  ${requests} DynamoDB requests for ${sent} emails: ${JSON.stringify(byCommand)}`);
    return [
      {
        benchmark: 'notifier requests per email',
        figure: 'DynamoDB requests the notifier makes per email, 3 recipients per event',
        goal: { atMost: 3 },
        measured: requests / sent,
        details: {
          events: measured.details.length,
          emails: sent,
          requests,
          byCommand,
          emailsPerSecond: round(sent / (ms / 1000), 1),
          concurrency,
        },
      },
    ];
  } finally {
    await fleet.stop();
    await table.drop();
  }
};
