/**
 * List prices the cost benchmark converts its counts with: us-east-1, on-demand, the first
 * (most expensive) tier of each, free tiers ignored (a free tier is per account, not per fleet,
 * so it says nothing about what a million accounts cost). Each price carries the day it was read
 * and the AWS pricing page it comes from; on that day they were checked through pages quoting
 * those (the AWS CloudWatch page itself, and 2025–2026 guides for the others), not the live
 * pages. When AWS changes one, change it here and nowhere else.
 */
export interface Price {
  /** dollars per `per` units */
  dollars: number;
  per: number;
  unit: string;
  /** the day the price was read (ISO date) */
  read: string;
  source: string;
}

const read = '2026-12-01';

export const prices = {
  // After the November 2024 cut of on-demand throughput by half.
  dynamoWrite: {
    dollars: 0.625,
    per: 1e6,
    unit: 'write request unit',
    read,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  dynamoRead: {
    dollars: 0.125,
    per: 1e6,
    unit: 'read request unit',
    read,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  dynamoStorage: {
    dollars: 0.25,
    per: 1,
    unit: 'GB-month (Standard table class, beyond the first 25 GB)',
    read,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  lambdaRequest: {
    dollars: 0.2,
    per: 1e6,
    unit: 'request',
    read,
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  // Arm, the first 7.5 billion GB-seconds a month.
  lambdaArmGbSecond: {
    dollars: 0.0000133334,
    per: 1,
    unit: 'GB-second (arm64)',
    read,
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  // Standard queue, the first 100 billion requests a month; each 64 KB chunk of a payload is a request.
  sqsRequest: {
    dollars: 0.4,
    per: 1e6,
    unit: 'request (64 KB chunk)',
    read,
    source: 'https://aws.amazon.com/sqs/pricing/',
  },
  // Custom events on a bus; each 64 KB chunk of an entry is an event.
  eventBridgeEvent: {
    dollars: 1.0,
    per: 1e6,
    unit: 'custom event (64 KB chunk)',
    read,
    source: 'https://aws.amazon.com/eventbridge/pricing/',
  },
  // Beyond the 14 million free invocations a month.
  schedulerInvocation: {
    dollars: 1.0,
    per: 1e6,
    unit: 'scheduler invocation',
    read,
    source: 'https://aws.amazon.com/eventbridge/pricing/',
  },
  sesEmail: {
    dollars: 0.1,
    per: 1000,
    unit: 'outbound email',
    read,
    source: 'https://aws.amazon.com/ses/pricing/',
  },
  // The first 10,000 metrics; a metric is a name with one set of dimension values.
  cloudWatchMetric: {
    dollars: 0.3,
    per: 1,
    unit: 'custom metric-month',
    read,
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  // Standard log class, the first 10 TB of Lambda logs (vended logs are tiered the same way).
  logsIngestion: {
    dollars: 0.5,
    per: 1,
    unit: 'GB ingested',
    read,
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  logsStorage: {
    dollars: 0.03,
    per: 1,
    unit: 'GB-month archived (compressed)',
    read,
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  // HTTP API, the first 300 million requests a month, each metered in 512 KB increments.
  apiRequest: {
    dollars: 1.0,
    per: 1e6,
    unit: 'HTTP API request',
    read,
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  secretsManagerCall: {
    dollars: 0.05,
    per: 10_000,
    unit: 'API call',
    read,
    source: 'https://aws.amazon.com/secrets-manager/pricing/',
  },
} as const satisfies Record<string, Price>;

export type PriceName = keyof typeof prices;

/** What `count` units cost at `name`'s list price, in dollars. */
export const dollars = (name: PriceName, count: number): number =>
  (count * prices[name].dollars) / prices[name].per;
