/**
 * From the cost benchmark's meters to usage, dollars and its figures: ours by service and by
 * function, the floor term by term, the scan design, per million watched accounts a month.
 */
import type { Meter } from './cost-meter';
import {
  addUsage,
  costByService,
  emptyUsage,
  floorTerms,
  perMillion,
  scanDesign,
  total,
  usageOf,
  type Usage,
  type Workload,
} from './cost-model';
import { jobEvery, monthDays, type Job } from './cost-month';
import { DAY } from './cost-fleet';
import { dollars } from './prices';
import { round } from './harness';

/** lib/tokenwatch-function.ts's default; no function of the stack sets its own. */
export const memoryMb = 256;
/**
 * Lambda's own lines per invocation in the JSON log format (platform.start and platform.report),
 * which the handlers do not write and stdout does not show: about 700 bytes.
 */
export const platformLogBytes = 700;
/**
 * An SQS event source mapping long-polls with five pollers while the queue is empty (each
 * ReceiveMessage waits 20 s): three queues (notifications, refresh, email feedback).
 */
export const idlePolls = 3 * 5 * ((monthDays * DAY) / 20_000);
/** Secrets are read once per cold start; one cold start an hour of each of the 4 readers. */
export const secretReads = 4 * 24 * monthDays;

export const runsPerMonth = (job: Job) => (monthDays * DAY) / jobEvery[job];

const sum = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);

/** The usage a meter counted; SQS receives and deletes as the event source mapping makes them. */
export function usageOfMeter(meter: Meter, extra: { batches: number; queueSends: number }): Usage {
  let readUnits = 0;
  let writeUnits = 0;
  for (const count of meter.dynamo.values()) {
    readUnits += count.readUnits;
    writeUnits += count.writeUnits;
  }
  const invocations = [...meter.lambda.values()];
  const ms = invocations.reduce((s, i) => s + i.ms, 0);
  const requests = invocations.reduce((s, i) => s + i.count, 0);
  let sqs = extra.queueSends + 2 * extra.batches;
  let secretCalls = 0;
  for (const [key, count] of meter.requests) {
    if (key.includes(' SQS.')) sqs += count;
    if (key.includes(' SecretsManager.')) secretCalls += count;
  }
  const logBytes = sum(meter.logBytes);
  return {
    ...emptyUsage(),
    readUnits,
    writeUnits,
    lambdaRequests: requests,
    lambdaGbSeconds: (ms / 1000) * (memoryMb / 1024),
    sqsRequests: sqs,
    events: sum(meter.events),
    emails: sum(meter.emails),
    metrics: meter.metrics.size,
    logBytes: logBytes + platformLogBytes * requests,
    secretCalls,
  };
}

/** What does not grow with the fleet: each job run's idle base, the schedules, the pollers. */
export function fixedUsage(idle: Record<Job, Usage>): Usage {
  let fixed = emptyUsage();
  for (const job of Object.keys(idle) as Job[])
    fixed = addUsage(fixed, idle[job], runsPerMonth(job));
  const jobRuns = (Object.keys(idle) as Job[]).reduce((s, job) => s + runsPerMonth(job), 0);
  return {
    ...fixed,
    schedulerInvocations: jobRuns,
    sqsRequests: fixed.sqsRequests + idlePolls,
    secretCalls: secretReads,
  };
}

export const scaleWorkload = (w: Workload): Workload => {
  const scale = 1e6 / w.accounts;
  const scaled = { ...w };
  for (const key of Object.keys(w) as (keyof Workload)[])
    if (key !== 'jobRuns') scaled[key] = w[key] * scale;
  return scaled;
};

const dollarsOf = (usage: Usage) => {
  const byService = costByService(usage);
  return {
    byService: Object.fromEntries(Object.entries(byService).map(([k, v]) => [k, round(v, 2)])),
    total: total(byService),
  };
};

/** Each request kind by function, in dollars at the measured fleet: where the money goes. */
export function contributors(meter: Meter, accounts: number) {
  const rows: { what: string; dollars: number }[] = [];
  for (const [key, count] of meter.dynamo) {
    rows.push({
      what: `${key} (DynamoDB, ${count.requests} requests, ${round(count.readUnits, 1)} RRU, ${round(count.writeUnits, 1)} WRU)`,
      dollars: dollars('dynamoRead', count.readUnits) + dollars('dynamoWrite', count.writeUnits),
    });
  }
  for (const [fn, invocations] of meter.lambda) {
    const gbSeconds = (invocations.ms / 1000) * (memoryMb / 1024);
    rows.push({
      what: `${fn} (Lambda, ${invocations.count} invocations, ${round(invocations.ms / invocations.count, 1)} ms each)`,
      dollars:
        dollars('lambdaRequest', invocations.count) + dollars('lambdaArmGbSecond', gbSeconds),
    });
  }
  for (const [fn, bytes] of meter.logBytes) {
    rows.push({
      what: `${fn} (CloudWatch Logs, ${Math.round(bytes / 1024)} KiB)`,
      dollars: dollars('logsIngestion', bytes / 1024 ** 3),
    });
  }
  for (const [fn, events] of meter.events)
    rows.push({
      what: `${fn} (EventBridge, ${events} events)`,
      dollars: dollars('eventBridgeEvent', events),
    });
  for (const [fn, emails] of meter.emails)
    rows.push({ what: `${fn} (SES, ${emails} emails)`, dollars: dollars('sesEmail', emails) });
  const scale = 1e6 / accounts;
  return rows
    .sort((a, b) => b.dollars - a.dollars)
    .slice(0, 15)
    .map((row) => ({ what: row.what, perMillionIfLinear: round(row.dollars * scale, 2) }));
}

export function costFigures(input: {
  accounts: number;
  ours: Usage;
  fixed: Usage;
  workload: Workload;
  scan: { readUnitsPerScan: number };
  meter: Meter;
  log: (line: string) => void;
}) {
  const oursPerMillion = perMillion(input.ours, input.fixed, input.accounts);
  const perMillionWork = scaleWorkload(input.workload);
  const floor = usageOf(floorTerms(perMillionWork));
  const scan = scanDesign(perMillionWork, {
    readUnitsPerScan: (input.scan.readUnitsPerScan * 1e6) / input.accounts,
    checkRuns: runsPerMonth('check-expired-tokens'),
  });
  const ours = dollarsOf(oursPerMillion);
  const floorDollars = dollarsOf(floor);
  const scanDollars = dollarsOf(scan);
  const over = Object.fromEntries(
    Object.entries(ours.byService).map(([service, value]) => [
      service,
      round(value - (floorDollars.byService[service] ?? 0), 2),
    ]),
  );
  const top = contributors(input.meter, input.accounts);
  input.log(
    `  $/M accounts-month: ours ${ours.total.toFixed(2)}, floor ${floorDollars.total.toFixed(2)}, scan ${scanDollars.total.toFixed(2)}`,
  );
  input.log(`  ours by service: ${JSON.stringify(ours.byService)}`);
  input.log(`  floor by service: ${JSON.stringify(floorDollars.byService)}`);
  input.log(`  ours over the floor: ${JSON.stringify(over)}`);
  for (const row of top) input.log(`    ${row.perMillionIfLinear.toFixed(2)}  ${row.what}`);
  return {
    ours,
    floor: floorDollars,
    scan: scanDollars,
    over,
    top,
    usage: { ours: oursPerMillion, floor, scan },
    floorTerms: floorTerms(perMillionWork).map(({ term, why }) => ({ term, why })),
  };
}

/**
 * The README's table of the cost benchmark: dollars per million watched accounts a month by
 * service, ours beside the floor and the scan design. Empty without a cost figure.
 */
export function costTable(
  figures: readonly { benchmark: string; details: Record<string, unknown> }[],
): string[] {
  const dollars = figures.find((figure) => figure.details.dollarsPerMillionAccountsMonth)?.details
    .dollarsPerMillionAccountsMonth as
    | Record<'ours' | 'floor' | 'scanDesign', { byService: Record<string, number>; total: number }>
    | undefined;
  if (!dollars) return [];
  const { ours, floor, scanDesign } = dollars;
  const money = (value: number | undefined) => `$${(value ?? 0).toFixed(2)}`;
  const services = Object.keys(ours.byService).sort(
    (a, b) => (ours.byService[b] ?? 0) - (ours.byService[a] ?? 0),
  );
  return [
    'Cost of a month, in dollars per million watched accounts (us-east-1 list prices, `bench/prices.ts`):',
    '',
    '| service | tokenwatch | floor | scheduled Scan |',
    '| --- | --- | --- | --- |',
    ...services.map(
      (service) =>
        `| ${service} | ${money(ours.byService[service])} | ${money(floor.byService[service])} | ${money(scanDesign.byService[service])} |`,
    ),
    `| **total** | **${money(ours.total)}** | **${money(floor.total)}** | **${money(scanDesign.total)}** |`,
    '',
    `tokenwatch ÷ floor: ${(ours.total / floor.total).toFixed(2)}; the scheduled Scan ÷ floor: ${(scanDesign.total / floor.total).toFixed(2)}. The workload, the floor's terms and what ours spends above it: [\`bench/README.md\`](bench/README.md).`,
    '',
  ];
}
