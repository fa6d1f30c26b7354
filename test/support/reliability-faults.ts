/**
 * Fault injection for the reliability suite. One middleware, put on the real SDK clients
 * (DynamoDB, SESv2, EventBridge), that does what a fault schedule says at a named step: crash
 * before or after the call, throw an AWS-shaped error, run a competing write first, lose the
 * answer of a call that succeeded, or rewrite the call (a PutEvents partial failure).
 *
 * The schedule belongs to an invocation, found through AsyncLocalStorage, so concurrent
 * invocations of concurrent runs share one client each and still see only their own faults.
 * A crash kills the invocation where it happens: every later call it makes throws CrashError
 * without reaching the service, so nothing after the crash point has an effect, as when a
 * Lambda process dies.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A small seeded PRNG (mulberry32): the same seed gives the same fault schedule. */
export interface Random {
  next(): number;
  int(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (probability) => next() < probability,
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
  };
}

/** The steps a schedule can name. */
export type Step =
  | 'due-query'
  | 'publish'
  | 'mark'
  | 'claim'
  | 'send'
  | 'record'
  | 'release'
  | 'replace'
  | 'read'
  | 'write'
  /** Not an SDK call: the invocation returning its answer to Lambda (the SQS acknowledgement). */
  | 'ack';

/** The process died here. Thrown inside the dependency, so the code sees a failing call. */
export class CrashError extends Error {
  override name = 'CrashError';
  constructor(readonly step: Step) {
    super(`the process died at ${step}`);
  }
}

type Next = (args: { input: unknown }) => Promise<{ output: unknown }>;

export type Fault =
  | { kind: 'crash-before' }
  | { kind: 'crash-after' }
  /** An error as the SDK would throw it; the call does not reach the service. */
  | { kind: 'throw'; error: () => Error }
  /** Something else writes first (outside this invocation), then the call goes on. */
  | { kind: 'race'; competitor: () => Promise<unknown> }
  /** The call succeeds, but its answer never arrives (a reset connection). */
  | { kind: 'answer-lost' }
  /** The call is made by `run`, which may change what is sent and what comes back. */
  | { kind: 'rewrite'; run: (next: Next, input: Record<string, unknown>) => Promise<unknown> };

export interface Invocation {
  /** Decides the fault, if any, for this call: the step and its input (SDK form). */
  faultFor(step: Step, input: Record<string, unknown>): Fault | undefined;
  /** Set when the invocation crashed; it stays dead. */
  crashedAt?: { step: Step; when: 'before' | 'after' };
  /** Called when a crash happens, with what the dying call was about. */
  onCrash?(step: Step, when: 'before' | 'after', input: Record<string, unknown>): void;
}

export const invocations = new AsyncLocalStorage<Invocation>();

/** Runs `fn` as one invocation with its own faults; answers whether it crashed. */
export async function invoke<T>(
  invocation: Invocation,
  fn: () => Promise<T>,
): Promise<{ result?: T; error?: unknown; crashed: boolean }> {
  try {
    const result = await invocations.run(invocation, fn);
    return { result, crashed: invocation.crashedAt !== undefined };
  } catch (error) {
    return { error, crashed: invocation.crashedAt !== undefined || error instanceof CrashError };
  }
}

/** Runs `fn` outside any invocation: no faults, e.g. for a competing writer. */
export const outsideInvocations = <T>(fn: () => Promise<T>): Promise<T> => invocations.exit(fn);

const dynamoStep = (command: string, input: string): Step => {
  const notification = input.includes('NOTIFIED#');
  if (command === 'PutItemCommand' && notification) return 'claim';
  // The notifier's one-request claim (notice-claim.ts): the claim's own condition names it.
  if (command === 'TransactWriteItemsCommand' && input.includes('tokenStatus = :tokenStatus')) {
    return 'claim';
  }
  if (command === 'UpdateItemCommand' && notification) return 'record';
  if (command === 'DeleteItemCommand' && notification) return 'release';
  if (command === 'UpdateItemCommand' && input.includes('SET tokenStatus')) return 'mark';
  if (command === 'UpdateItemCommand' && input.includes('generation + :one')) return 'replace';
  if (command === 'QueryCommand' && input.includes('due-tokens')) return 'due-query';
  if (/^(Get|BatchGet|Query|Scan)/.test(command)) return 'read';
  return 'write';
};

function classify(commandName: string, input: Record<string, unknown>): Step {
  if (commandName === 'SendEmailCommand') return 'send';
  if (commandName === 'PutEventsCommand') return 'publish';
  return dynamoStep(commandName, JSON.stringify(input));
}

/** A failure with no answer from the service: what a reset connection looks like to the SDK. */
export function connectionReset(): Error {
  return Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });
}

/** An error as the SDK throws it for an HTTP answer from the service. */
export function awsError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 },
    ...(status === 429 || /throttl/i.test(name) ? { $retryable: { throttling: true } } : {}),
  });
}

/** How many calls each step made inside invocations, in this worker. */
export const stepCalls = new Map<Step, number>();

/**
 * Puts the fault middleware on a client (DynamoDB, or the document client over it, SESv2,
 * EventBridge); returns the client.
 */
export function withFaults<
  C extends DynamoDBClient | SESv2Client | EventBridgeClient | DynamoDBDocumentClient,
>(client: C): C {
  (client.middlewareStack as { add: (mw: unknown, options: unknown) => void }).add(
    (next: Next, context: { commandName?: string }) =>
      async (args: { input: Record<string, unknown> }) => {
        const invocation = invocations.getStore();
        if (!invocation) return next(args);
        const step = classify(context.commandName ?? '', args.input);
        stepCalls.set(step, (stepCalls.get(step) ?? 0) + 1);
        const die = (when: 'before' | 'after') => {
          invocation.crashedAt ??= { step, when };
          invocation.onCrash?.(step, when, args.input);
          return new CrashError(step);
        };
        if (invocation.crashedAt) throw new CrashError(step);
        const fault = invocation.faultFor(step, args.input);
        if (!fault) return next(args);
        switch (fault.kind) {
          case 'crash-before':
            throw die('before');
          case 'crash-after':
            await next(args);
            throw die('after');
          case 'throw':
            throw fault.error();
          case 'race':
            await outsideInvocations(fault.competitor);
            return next(args);
          case 'answer-lost':
            await next(args);
            throw connectionReset();
          case 'rewrite':
            return fault.run(next, args.input);
        }
      },
    { step: 'initialize', name: 'reliabilityFaults', priority: 'low' },
  );
  return client;
}

/**
 * A schedule of one-shot faults for a run: each names a step and which call of that step in
 * the run (1 = the first) it hits, and fires once.
 */
export class FaultSchedule {
  private readonly counts = new Map<Step, number>();
  private readonly pending: {
    step: Step;
    call: number;
    fault: (input: Record<string, unknown>) => Fault;
    label: string;
  }[] = [];
  /** Labels of the faults that fired, in order. */
  readonly fired: string[] = [];

  add(
    step: Step,
    call: number,
    label: string,
    fault: (input: Record<string, unknown>) => Fault,
  ): this {
    this.pending.push({ step, call, fault, label });
    return this;
  }

  /** Faults not reached (their step was called fewer times than scheduled). */
  get unfired(): string[] {
    return this.pending.map((entry) => entry.label);
  }

  faultFor(step: Step, input: Record<string, unknown> = {}): Fault | undefined {
    const call = (this.counts.get(step) ?? 0) + 1;
    this.counts.set(step, call);
    const index = this.pending.findIndex((entry) => entry.step === step && entry.call === call);
    if (index === -1) return undefined;
    const [entry] = this.pending.splice(index, 1);
    if (!entry) return undefined;
    this.fired.push(entry.label);
    return entry.fault(input);
  }
}

/** Every `reliability:` figure line goes through here, so they are easy to find in the output. */
export function reportFigure(promise: string, figures: Record<string, number | string>): void {
  const parts = Object.entries(figures).map(([name, value]) => `${name}=${String(value)}`);
  console.log(`reliability: ${promise} ${parts.join(' ')}`);
}
