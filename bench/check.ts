/**
 * The check, measured through its real code path: `runExpiryCheck` with the store's `dueTokens`
 * and `markTokenExpired` on DynamoDB Local and the real publisher, whose PutEvents is an HTTP
 * call to the local EventBridge stand-in.
 *
 * - read amplification: items the check's queries read (DynamoDB's own ScannedCount) ÷ tokens due;
 * - cost vs table size: check time at the large table ÷ at the small one, the same tokens due;
 * - throughput: due tokens published and marked per second ÷ bare conditional UpdateItems (the
 *   same update as the mark) per second at the check's concurrency (ten marks at a time).
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../functions/platform/dynamodb';
import { maxEntriesPerCall } from '../functions/platform/eventbridge';
import { createEventPublisher } from '../functions/tokens/event-publisher';
import { runExpiryCheck } from '../functions/tokens/expiry-check';
import { type LogSink } from '../functions/platform/observability';
import { createTableStore as createStore } from '../local/table-store';
import { keys } from '../functions/storage/keys';
import {
  createBenchTable,
  generateTokens,
  writeItems,
  type BenchTable,
  type TokenSet,
} from './data';
import {
  meteredClient,
  round,
  requiredEnv,
  timeCalls,
  type Benchmark,
  type Figure,
} from './harness';
import { BusyTime, median, pairedRatio, timed, withConcurrency } from './stats';

/** A fixed instant, so the data set and the buckets the check reads are the same on every run. */
const now = new Date('2026-06-01T12:00:00.000Z');
const lookbackDays = 7;
const quietLog: LogSink = { info: () => undefined, warn: () => undefined, error: () => undefined };

function checkOn(
  table: BenchTable,
  client = table.client,
  eventBridge = new EventBridgeClient({}),
) {
  const store = createStore(createDocumentClient(client), table.tableName);
  const publisher = createEventPublisher({
    client: eventBridge,
    busName: requiredEnv('EVENT_BUS_NAME'),
  });
  return () => runExpiryCheck({ store, publisher, clock: () => now, lookbackDays, log: quietLog });
}

async function loaded(name: string, set: TokenSet, log: (line: string) => void) {
  const table = await createBenchTable(name);
  const took = await timed(() => writeItems(table.db, table.tableName, set.items));
  log(`  ${name}: ${set.items.length} tokens loaded in ${(took / 1000).toFixed(1)} s`);
  return table;
}

export const run: Benchmark = async ({ quick, seed, log }) => {
  const due = quick ? 100 : 1_000;
  const largeSize = quick ? 10_000 : 100_000;
  const smallSize = largeSize / 10;
  const rounds = quick ? 3 : 7;

  const [largeSet, smallSet] = await Promise.all([
    generateTokens({ seed, total: largeSize, due, now, prefix: 'L' }),
    generateTokens({ seed: seed + 1, total: smallSize, due, now, prefix: 'S' }),
  ]);
  const large = await loaded('check-large', largeSet, log);
  const small = await loaded('check-small', smallSet, log);
  const makeDue = (table: BenchTable, set: TokenSet) =>
    writeItems(table.db, table.tableName, set.dueItems);

  try {
    // Read amplification, from DynamoDB's own count of the items each query read.
    const metered = meteredClient();
    const summary = await checkOn(large, metered.client)();
    if (summary.marked !== due) throw new Error(`The check marked ${summary.marked} of ${due}`);
    const checkReads = { ...metered.meter };

    // The baseline the index exists to avoid: a scan for the same tokens.
    await makeDue(large, largeSet);
    const scanMeter = meteredClient();
    let scanFound = 0;
    let ExclusiveStartKey: Record<string, never> | undefined;
    do {
      const page = await scanMeter.client.send(
        new ScanCommand({
          TableName: large.tableName,
          FilterExpression: 'attribute_exists(dueBucket) AND dueAt <= :now',
          ExpressionAttributeValues: { ':now': { S: now.toISOString() } },
          Select: 'COUNT',
          ExclusiveStartKey,
        }),
      );
      scanFound += page.Count ?? 0;
      ExclusiveStartKey = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (ExclusiveStartKey);
    metered.client.destroy();
    scanMeter.client.destroy();

    // Side by side, interleaved: small check, large check, bare marks on the small table.
    const times = { small: [] as number[], large: [] as number[], bare: [] as number[] };
    const bareMarks = (dueItems: TokenSet['dueItems']) =>
      withConcurrency(dueItems, maxEntriesPerCall, async (item) => {
        await small.db.send(
          new UpdateCommand({
            TableName: small.tableName,
            Key: keys.account(item.accountId as string),
            UpdateExpression:
              'SET tokenStatus = :reason, #cause = :cause REMOVE dueBucket, dueAt, dueReason',
            ConditionExpression: 'generation = :generation AND attribute_exists(dueBucket)',
            ExpressionAttributeNames: { '#cause': 'cause' },
            ExpressionAttributeValues: {
              ':reason': 'expired',
              ':cause': 'expired',
              ':generation': item.generation,
            },
          }),
        );
      });
    const checkSmall = checkOn(small);
    const checkLarge = checkOn(large);
    // One untimed round first: DynamoDB Local's JIT and the SDK's connections warm up.
    await makeDue(small, smallSet);
    await checkSmall();
    await makeDue(large, largeSet);
    await checkLarge();
    await makeDue(small, smallSet);
    await bareMarks(smallSet.dueItems);
    for (let round = 0; round < rounds; round += 1) {
      await makeDue(small, smallSet);
      await makeDue(large, largeSet);
      const order = round % 2 === 0 ? (['small', 'large'] as const) : (['large', 'small'] as const);
      for (const size of order) {
        times[size].push(await timed(size === 'small' ? checkSmall : checkLarge));
      }
      await makeDue(small, smallSet);
      times.bare.push(await timed(() => bareMarks(smallSet.dueItems)));
      log(
        `  round ${round + 1}: check ${times.small.at(-1)?.toFixed(0)} ms at ${smallSize}, ${times.large.at(-1)?.toFixed(0)} ms at ${largeSize}; bare marks ${times.bare.at(-1)?.toFixed(0)} ms`,
      );
    }

    // The profile: where one more check on the small table spends its time, call by call.
    const busy = new BusyTime();
    const profiledClient = new DynamoDBClient({});
    const profiledBus = new EventBridgeClient({});
    timeCalls(profiledClient, busy);
    timeCalls(profiledBus, busy);
    await makeDue(small, smallSet);
    const profiledMs = await timed(checkOn(small, profiledClient, profiledBus));
    const profile = { totalMs: Math.round(profiledMs), busyMs: busy.summary() };
    log(`  profile: ${JSON.stringify(profile)}`);
    profiledClient.destroy();
    profiledBus.destroy();

    const checkRate = due / (median(times.small) / 1000);
    const bareRate = due / (median(times.bare) / 1000);
    const figures: Figure[] = [
      {
        benchmark: 'check read amplification',
        figure: `items the check reads ÷ tokens due (${largeSize.toLocaleString('en')} tokens, ${due.toLocaleString('en')} due)`,
        goal: { atMost: 1.05 },
        measured: checkReads.scanned / due,
        details: {
          tokens: largeSize,
          due,
          queries: checkReads.queries,
          itemsRead: checkReads.scanned,
          itemsReturned: checkReads.returned,
          readCapacityUnits: round(checkReads.readCapacity, 1),
          tableScan: {
            itemsRead: scanMeter.meter.scanned,
            found: scanFound,
            ratio: round(scanMeter.meter.scanned / due, 1),
            readCapacityUnits: round(scanMeter.meter.readCapacity, 1),
          },
        },
      },
      {
        benchmark: 'check cost vs table size',
        figure: `check time at ${largeSize.toLocaleString('en')} tokens ÷ at ${smallSize.toLocaleString('en')}, ${due.toLocaleString('en')} due`,
        goal: { atMost: 1.2 },
        measured: pairedRatio(times.large, times.small),
        details: {
          rounds,
          msLarge: times.large.map(Math.round),
          msSmall: times.small.map(Math.round),
        },
      },
      {
        benchmark: 'check throughput',
        figure: `due tokens published and marked per second ÷ bare conditional UpdateItems per second, ${maxEntriesPerCall} at a time`,
        goal: { atLeast: 0.7 },
        // Rates for the same tokens: check rate ÷ bare rate is bare time ÷ check time.
        measured: pairedRatio(times.bare, times.small),
        details: {
          checkTokensPerSecond: Math.round(checkRate),
          bareUpdatesPerSecond: Math.round(bareRate),
          msCheck: times.small.map(Math.round),
          msBare: times.bare.map(Math.round),
          profile,
        },
      },
    ];
    return figures;
  } finally {
    await Promise.all([large.drop(), small.drop()]);
  }
};
