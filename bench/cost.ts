/**
 * What a month of tokenwatch costs in AWS (issue #18): a seeded fleet (20,000 accounts; 2,000
 * with --quick) through the real handlers for a simulated month (bench/cost-month.ts), every
 * request counted by service, kind and function (bench/cost-meter.ts), priced at list prices
 * (bench/prices.ts) per million watched accounts a month, beside the least any design keeping
 * the same promises could spend and a scheduled full-table Scan (bench/cost-model.ts).
 * The notifier's DynamoDB requests per email are the notifier benchmark's (bench/notifier.ts).
 */
import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { asOf } from '../functions/platform/clock';
import { createBenchTable, type BenchTable } from './data';
import { round, type Benchmark, type Figure } from './harness';
import {
  captureOutput,
  installSdkMeter,
  metering,
  newMeter,
  type DynamoCount,
  type Meter,
} from './cost-meter';
import { DAY, HOUR, loadFleet, mix, planFleet } from './cost-fleet';
import { jobEvery, runMonth, type Job, type MonthCounts } from './cost-month';
import { costFigures, fixedUsage, idlePolls, runsPerMonth, usageOfMeter } from './cost-report';
import type { Usage, Workload } from './cost-model';
import { startCostSystem, type CostSystem } from './cost-system';

const idleRuns = 5;

/** Each job on the empty table, `idleRuns` times after a first that warms it: one run's base. */
async function idleBase(system: CostSystem, start: number, use: (m?: Meter) => void) {
  const base = {} as Record<Job, Usage>;
  for (const job of Object.keys(jobEvery) as Job[]) {
    const meter = newMeter();
    for (let run = 0; run <= idleRuns; run += 1) {
      use(run === 0 ? undefined : meter);
      await asOf(new Date(start - (run + 1) * DAY), () => system.job(job));
    }
    const usage = usageOfMeter(meter, { batches: 0, queueSends: 0 });
    for (const key of Object.keys(usage) as (keyof Usage)[]) usage[key] /= idleRuns;
    base[job] = { ...usage, metrics: 0 };
  }
  use(undefined);
  return base;
}

/**
 * Custom metrics as CloudWatch bills them: each by the hours in which it received data, a month
 * being 730, and at a million accounts (its hours grow with the fleet, up to every hour). The
 * functions send a count only when it is not zero (functions/platform/metrics.ts).
 */
function metricMonths(meter: Meter, accounts: number): number {
  let months = 0;
  for (const hours of meter.metricHours.values()) {
    months += Math.min(730, (hours.size * 1e6) / accounts) / 730;
  }
  return months;
}

/** One eventually consistent Scan of the whole table: what each run of the scan design reads. */
async function scanTable(table: BenchTable) {
  let readUnits = 0;
  let items = 0;
  let bytes = 0;
  let reported = true;
  let ExclusiveStartKey: ScanCommandOutput['LastEvaluatedKey'];
  do {
    const page: ScanCommandOutput = await table.client.send(
      new ScanCommand({
        TableName: table.tableName,
        ReturnConsumedCapacity: 'TOTAL',
        ExclusiveStartKey,
      }),
    );
    const pageBytes = Buffer.byteLength(JSON.stringify(page.Items ?? []));
    if (page.ConsumedCapacity?.CapacityUnits === undefined) reported = false;
    // DynamoDB counts a Scan page's items together, in 4 KB units, half for eventual consistency.
    readUnits += page.ConsumedCapacity?.CapacityUnits ?? Math.ceil(pageBytes / 4096) * 0.5;
    items += page.Count ?? 0;
    bytes += pageBytes;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  // DynamoDB stores 100 bytes of overhead per item; the JSON of AttributeValues overstates names a little.
  return { readUnitsPerScan: readUnits, items, tableBytes: bytes + 100 * items, reported };
}

/** The month's work as the promises define it, from what the month counted. */
function workloadOf(input: {
  accounts: number;
  meter: Meter;
  month: MonthCounts;
  queueSends: number;
  apiRequests: number;
  scan: { tableBytes: number };
}): Workload {
  const { meter, month } = input;
  const sums = meter.metricSums;
  return {
    accounts: input.accounts,
    jobRuns: (Object.keys(jobEvery) as Job[]).reduce((s, job) => s + runsPerMonth(job), 0),
    refreshes: meter.events.get('auto-refresh-token') ?? 0,
    rejections: sums.get('TokensRejectedOnRefresh') ?? 0,
    announcements: meter.events.get('check-expired-tokens') ?? 0,
    noticeEvents: input.queueSends,
    emails: [...meter.emails.values()].reduce((a, b) => a + b, 0),
    waitingNotices:
      (sums.get('NoticesWaitingForDigest') ?? 0) + (sums.get('NoticesHeldByStorm') ?? 0),
    trouble: (sums.get('TokensRejectedOnRefresh') ?? 0) + month.deauthorizeCalls,
    apiRequests: input.apiRequests,
    tokenWrites: month.reconnects,
    tableBytes: input.scan.tableBytes,
  };
}

/** Where each figure came from, for results.json: events by type, capacity, metrics. */
function sources(meter: Meter, accepted: readonly { 'detail-type': string }[]) {
  const eventsByType: Record<string, number> = {};
  for (const event of accepted)
    eventsByType[event['detail-type']] = (eventsByType[event['detail-type']] ?? 0) + 1;
  const perKey = (count: (c: DynamoCount) => number) =>
    Object.fromEntries(
      [...meter.dynamo].filter(([, c]) => count(c) > 0).map(([k, c]) => [k, count(c)]),
    );
  return {
    eventsByType,
    capacityNotReported: perKey((c) => c.computed),
    conditionFailures: perKey((c) => c.conditionFailures),
    metrics: [...meter.metrics].sort(),
  };
}

/** The benchmark's rows: the ratio to the floor, and the dollars. */
function figuresOf(
  result: ReturnType<typeof costFigures>,
  details: Record<string, unknown>,
): Figure[] {
  return [
    {
      benchmark: 'cost',
      figure: 'cost per million watched accounts-month (ours ÷ floor; goal ≤ 1.5 × floor)',
      goal: { atMost: 1.5 },
      measured: round(result.ours.total / result.floor.total, 2),
      details,
    },
    {
      benchmark: 'cost',
      figure: `cost per million watched accounts-month, $ (floor $${result.floor.total.toFixed(2)}, scan design $${result.scan.total.toFixed(2)})`,
      goal: { atMost: round(1.5 * result.floor.total, 2) },
      measured: round(result.ours.total, 2),
      details: {
        byService: result.ours.byService,
        floor: result.floor.byService,
        scanDesign: result.scan.byService,
      },
    },
  ];
}

export const run: Benchmark = async ({ quick, seed, log }) => {
  const accounts = quick ? 2_000 : 20_000;
  installSdkMeter();
  captureOutput();
  const table = await createBenchTable('cost');
  let current: Meter | undefined;
  const use = (meter?: Meter) => {
    current = meter;
    metering(meter);
  };
  const system = await startCostSystem(table.tableName, () => current);
  const started = Date.now();
  // The month starts at the next hour of the real clock: Meta's callback files by the real one.
  const start = Math.ceil(Date.now() / HOUR) * HOUR;
  try {
    const idle = await idleBase(system, start, use);
    const fleet = planFleet(seed, accounts, start);
    const loaded = await loadFleet(table.db, table.tableName, fleet, seed, start);
    for (const account of fleet.accounts)
      if (account.rejection)
        system.instagram.setRefreshOutcome(account.accessToken, account.rejection);
    log(
      `  ${accounts} accounts, ${fleet.users} users, ${fleet.developerRoles} developer roles (${loaded} items) in ${Math.round((Date.now() - started) / 1000)} s`,
    );
    const meter = newMeter();
    use(meter);
    const acceptedBefore = system.accepted.length;
    system.batches.clear();
    system.queueSends.clear();
    const month = await runMonth({
      fleet,
      system,
      db: table.db,
      tableName: table.tableName,
      start,
      meter,
      log,
    });
    use(undefined);
    const batches = [...system.batches.values()].reduce((a, b) => a + b, 0);
    const queueSends = system.queueSends.get('notifications') ?? 0;
    // Runs predicted idle were not made: each costs what an idle run on the empty table did.
    let ours = usageOfMeter(meter, { batches, queueSends });
    for (const job of Object.keys(jobEvery) as Job[]) {
      for (const key of Object.keys(ours) as (keyof Usage)[])
        ours[key] += idle[job][key] * month.skipped[job];
    }
    const scan = await scanTable(table);
    const apiRequests = month.deauthorizeCalls + month.reconnects + month.stormReleases;
    const metrics = metricMonths(meter, accounts);
    const fixed = { ...fixedUsage(idle), metrics };
    ours.metrics = metrics;
    ours = {
      ...ours,
      schedulerInvocations: fixed.schedulerInvocations,
      storedBytes: scan.tableBytes,
      apiRequests,
    };
    ours.sqsRequests += idlePolls;
    ours.secretCalls = Math.max(ours.secretCalls, fixed.secretCalls);
    const accepted = system.accepted.slice(acceptedBefore);
    const workload = workloadOf({ accounts, meter, month, queueSends, apiRequests, scan });
    const result = costFigures({ accounts, ours, fixed, workload, scan, meter, log });
    const found = sources(meter, accepted);
    const details = {
      accounts,
      mix,
      seconds: Math.round((Date.now() - started) / 1000),
      month,
      workload,
      eventsByType: found.eventsByType,
      dollarsPerMillionAccountsMonth: {
        ours: result.ours,
        floor: result.floor,
        scanDesign: result.scan,
      },
      oursOverFloorByService: result.over,
      topContributors: result.top,
      floorTerms: result.floorTerms,
      usagePerMillion: result.usage,
      idleRunBase: idle,
      scan,
      capacityNotReported: found.capacityNotReported,
      metrics: found.metrics,
      conditionFailures: found.conditionFailures,
    };
    log(
      `  ${details.seconds} s; capacity computed for ${JSON.stringify(found.capacityNotReported)}; mispredicted idle runs ${month.mispredicted}`,
    );
    return figuresOf(result, details);
  } finally {
    use(undefined);
    await system.stop();
    await table.drop();
  }
};
