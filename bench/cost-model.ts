/**
 * The cost benchmark's arithmetic, apart from any measuring: what the counted requests of a month
 * cost by service, the least any design keeping the same promises could spend on the same
 * workload (the floor), and what the design users would otherwise build (a scheduled Scan of the
 * whole table) would, all scaled to a million watched accounts.
 */
import { dollars, type PriceName } from './prices';

/** What one simulated month made, as counted (or, where said, modelled). */
export interface Usage {
  readUnits: number;
  writeUnits: number;
  /** table and index bytes, for storage */
  storedBytes: number;
  lambdaRequests: number;
  /** duration × configured memory */
  lambdaGbSeconds: number;
  sqsRequests: number;
  events: number;
  schedulerInvocations: number;
  emails: number;
  metrics: number;
  logBytes: number;
  apiRequests: number;
  secretCalls: number;
}

export type Service =
  | 'DynamoDB'
  | 'Lambda'
  | 'SQS'
  | 'EventBridge'
  | 'Scheduler'
  | 'SES'
  | 'CloudWatch'
  | 'API Gateway'
  | 'Secrets Manager';

/** Logs are archived compressed; a sixth of the raw size is the usual ratio for JSON lines. */
export const logCompression = 1 / 6;

export function costByService(usage: Usage): Record<Service, number> {
  const gb = 1024 ** 3;
  const p = (name: PriceName, count: number) => dollars(name, count);
  return {
    DynamoDB:
      p('dynamoRead', usage.readUnits) +
      p('dynamoWrite', usage.writeUnits) +
      p('dynamoStorage', usage.storedBytes / gb),
    Lambda:
      p('lambdaRequest', usage.lambdaRequests) + p('lambdaArmGbSecond', usage.lambdaGbSeconds),
    SQS: p('sqsRequest', usage.sqsRequests),
    EventBridge: p('eventBridgeEvent', usage.events),
    Scheduler: p('schedulerInvocation', usage.schedulerInvocations),
    SES: p('sesEmail', usage.emails),
    CloudWatch:
      p('cloudWatchMetric', usage.metrics) +
      p('logsIngestion', usage.logBytes / gb) +
      p('logsStorage', (usage.logBytes * logCompression) / gb),
    'API Gateway': p('apiRequest', usage.apiRequests),
    'Secrets Manager': p('secretsManagerCall', usage.secretCalls),
  };
}

export const total = (costs: Record<string, number>) =>
  Object.values(costs).reduce((sum, cost) => sum + cost, 0);

export const emptyUsage = (): Usage => ({
  readUnits: 0,
  writeUnits: 0,
  storedBytes: 0,
  lambdaRequests: 0,
  lambdaGbSeconds: 0,
  sqsRequests: 0,
  events: 0,
  schedulerInvocations: 0,
  emails: 0,
  metrics: 0,
  logBytes: 0,
  apiRequests: 0,
  secretCalls: 0,
});

export function addUsage(a: Usage, b: Usage, factor = 1): Usage {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof Usage)[]) sum[key] += b[key] * factor;
  return sum;
}

/**
 * A month's usage for a million accounts: what does not grow with the fleet (each job run's
 * base, the schedules, the queue pollers, the metrics) once, the rest in proportion.
 */
export function perMillion(usage: Usage, fixed: Usage, accounts: number): Usage {
  const scale = 1e6 / accounts;
  const scaled = emptyUsage();
  for (const key of Object.keys(scaled) as (keyof Usage)[]) {
    const base = Math.min(fixed[key], usage[key]);
    scaled[key] = base + (usage[key] - base) * scale;
  }
  return scaled;
}

/** What the product had to do in the month: the promises' work, whatever the design. */
export interface Workload {
  accounts: number;
  /** job runs at the deployed schedules: check, refresh job, digest flush */
  jobRuns: number;
  /** tokens refreshed with Instagram */
  refreshes: number;
  /** refreshes Instagram refused (the token is then invalid) */
  rejections: number;
  /** events announcing a token expired, invalid, expiring or still lost */
  announcements: number;
  /** announcements the notifier handled (one read of the account and its people each) */
  noticeEvents: number;
  emails: number;
  /** notices written down to wait for a digest or a storm's end */
  waitingNotices: number;
  /** tokens counted by the storm guard (refused, failed, app removed) */
  trouble: number;
  /** the widget service's and Meta's calls to the API */
  apiRequests: number;
  /** of those, the ones that store a token (a reconnect) */
  tokenWrites: number;
  /** bytes of the table's items, for storage */
  tableBytes: number;
}

export interface FloorTerm {
  term: string;
  why: string;
  usage: Partial<Usage>;
}

/** Lambda's least: 128 MB for 10 ms, about one DynamoDB round trip. */
export const minimalInvocation = { gbSeconds: (128 / 1024) * 0.01 };

/** The least any design keeping the same promises could spend, term by term. */
export function floorTerms(w: Workload): FloorTerm[] {
  const invocations = w.jobRuns + w.apiRequests;
  return [
    {
      term: 'one scheduler invocation and one Lambda run per job run',
      why: 'the schedules are the promise of how soon things happen (check 15 min, refresh 1 h, digests 5 min)',
      usage: { schedulerInvocations: w.jobRuns },
    },
    {
      term: 'one Lambda request of 128 MB × 10 ms per job run and per API request',
      why: 'nothing runs without an invocation; 10 ms is about one DynamoDB round trip',
      usage: {
        lambdaRequests: invocations,
        lambdaGbSeconds: invocations * minimalInvocation.gbSeconds,
      },
    },
    {
      term: 'per refresh (and refused refresh): 0.5 RRU to read the due token, 1 WRU to store the next generation (or mark it invalid)',
      why: 'an eventually consistent read of an item under 4 KB and a write of one under 1 KB',
      usage: {
        readUnits: 0.5 * (w.refreshes + w.rejections),
        writeUnits: w.refreshes + w.rejections,
      },
    },
    {
      term: 'per refresh: one event (Instagram Token Refreshed)',
      why: 'the event is a published contract (DESIGN.md)',
      usage: { events: w.refreshes },
    },
    {
      term: 'per announcement: 0.5 RRU for the check to read it, 1 WRU to mark it told, one event',
      why: 'each expired, invalid, expiring or reminder event is a contract, and must be published once',
      usage: {
        readUnits: 0.5 * w.announcements,
        writeUnits: w.announcements,
        events: w.announcements,
      },
    },
    {
      term: 'per notice event: 0.5 RRU to read the account with its people',
      why: 'one Query of the account partition, had the recipients been kept there',
      usage: { readUnits: 0.5 * w.noticeEvents },
    },
    {
      term: 'per email: 2 WRU (claim and completion) and one SES send',
      why: 'exactly-once per (account, generation, occasion, recipient) needs a claim before and a record after',
      usage: { writeUnits: 2 * w.emails, emails: w.emails },
    },
    {
      term: 'per notice waiting for a digest or held in a storm: 1 WRU, 0.5 RRU',
      why: 'the digest and the storm guard must remember it until it is sent',
      usage: { writeUnits: w.waitingNotices, readUnits: 0.5 * w.waitingNotices },
    },
    {
      term: 'per token counted by the storm guard: 1 WRU',
      why: 'a storm is declared within the hour: the count must be kept as it happens',
      usage: { writeUnits: w.trouble },
    },
    {
      term: 'per API request: the request, 0.5 RRU; 1 WRU per stored token',
      why: 'the widget service and Meta call the API; a new token is the next generation (the service route publishes no event)',
      usage: {
        apiRequests: w.apiRequests,
        readUnits: 0.5 * w.apiRequests,
        writeUnits: w.tokenWrites,
      },
    },
    {
      term: 'the table stored, one custom metric (the storm alarm)',
      why: 'the data is the product; operators must be alarmed in a storm',
      usage: { storedBytes: w.tableBytes, metrics: 1 },
    },
  ];
}

export const usageOf = (terms: readonly FloorTerm[]): Usage =>
  terms.reduce((sum, term) => addUsage(sum, { ...emptyUsage(), ...term.usage }), emptyUsage());

/**
 * The design users would otherwise build: the floor's work, but each check run Scans the whole
 * table (eventually consistent) instead of reading what is due.
 */
export function scanDesign(
  w: Workload,
  scan: { readUnitsPerScan: number; checkRuns: number },
): Usage {
  const floor = usageOf(floorTerms(w));
  return {
    ...floor,
    readUnits: floor.readUnits - 0.5 * w.announcements + scan.readUnitsPerScan * scan.checkRuns,
  };
}
