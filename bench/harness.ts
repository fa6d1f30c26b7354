import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BusyTime } from './stats';

/**
 * What a benchmark hands back: figures, each a ratio (or a count) with the goal it is held to.
 * Benchmarks measure and report; a missed goal is a finding for the README, never a failure.
 */

export type Goal = { atMost: number } | { atLeast: number } | { between: [number, number] };

export interface Figure {
  benchmark: string;
  /** what the number is, in the words */
  figure: string;
  goal: Goal;
  measured: number;
  /** how many decimals the measured figure is shown with */
  decimals?: number;
  /** the raw measurements the ratio came from, for results.json and the footnotes */
  details: Record<string, unknown>;
}

export interface BenchContext {
  /** a tenth of the data, fewer rounds: for iterating, never for the README */
  quick: boolean;
  seed: number;
  /** `--profile`: also find where the time goes, where a benchmark knows how */
  profile: boolean;
  log: (line: string) => void;
}

export type Benchmark = (context: BenchContext) => Promise<Figure[]>;

export function goalMet(goal: Goal, measured: number): boolean {
  if ('atMost' in goal) return measured <= goal.atMost;
  if ('atLeast' in goal) return measured >= goal.atLeast;
  return measured >= goal.between[0] && measured <= goal.between[1];
}

export function describeGoal(goal: Goal): string {
  if ('atMost' in goal) return `≤ ${goal.atMost}`;
  if ('atLeast' in goal) return `≥ ${goal.atLeast}`;
  return `${goal.between[0]}–${goal.between[1]}`;
}

export const round = (value: number, decimals = 2) => Number(value.toFixed(decimals));

/** The endpoints the orchestrator started, handed to each benchmark's process. */
export function requiredEnv(variable: string): string {
  const value = process.env[variable];
  if (!value) throw new Error(`${variable} is not set: run the benchmarks with npm run bench`);
  return value;
}

/**
 * The instants (ms) at which SendEmail calls reached the SES emulator between `from` and `to`,
 * as the orchestrator recorded them at the emulator itself.
 */
export async function sesArrivals(from: number, to: number): Promise<number[]> {
  const response = await fetch(`${requiredEnv('BENCH_CONTROL_URL')}/ses-arrivals`);
  const arrivals = (await response.json()) as number[];
  return arrivals.filter((instant) => instant >= from && instant <= to);
}

/** Records, per command, the time at least one call of it was in flight: a run's profile. */
export function timeCalls(client: { middlewareStack: unknown }, busy: BusyTime): void {
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, context) => async (args) => {
      const done = busy.begin(context.commandName ?? 'unknown');
      try {
        return await next(args);
      } finally {
        done();
      }
    },
    { step: 'initialize', name: 'benchCallTimer' },
  );
}

export interface ReadMeter {
  queries: number;
  scanned: number;
  returned: number;
  readCapacity: number;
}

/** A DynamoDB client that asks for consumed capacity and adds up what each Query and Scan read. */
export function meteredClient(): { client: DynamoDBClient; meter: ReadMeter } {
  const meter: ReadMeter = { queries: 0, scanned: 0, returned: 0, readCapacity: 0 };
  const client = new DynamoDBClient({});
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const reads = context.commandName === 'QueryCommand' || context.commandName === 'ScanCommand';
      if (reads)
        (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'INDEXES';
      const result = await next(args);
      if (reads) {
        const output = result.output as {
          ScannedCount?: number;
          Count?: number;
          ConsumedCapacity?: { CapacityUnits?: number };
        };
        meter.queries += 1;
        meter.scanned += output.ScannedCount ?? 0;
        meter.returned += output.Count ?? 0;
        meter.readCapacity += output.ConsumedCapacity?.CapacityUnits ?? 0;
      }
      return result;
    },
    { step: 'initialize', name: 'benchReadMeter' },
  );
  return { client, meter };
}
