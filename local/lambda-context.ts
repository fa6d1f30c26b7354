import type { Context } from 'aws-lambda';
import { InvokeStoreBase } from '@aws/lambda-invoke-store';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * A Lambda context good enough for handlers and middy: `getRemainingTimeInMillis` counts down
 * from the call, so timeouts behave. The deprecated callback members are left out: nothing
 * calls them.
 */
export function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as Context;
}

type Invocation = Record<string | symbol, unknown>;

/**
 * The Lambda runtime's store of what belongs to one invocation, as it runs when invocations
 * share a process (Lambda Managed Instances; and locally, where every function shares one):
 * one per invocation, carried through its async calls. With `AWS_LAMBDA_MAX_CONCURRENCY` set,
 * Powertools keeps each invocation's Lambda context and keys there, so one shared logger still
 * says which function spoke.
 */
class ConcurrentInvokeStore extends InvokeStoreBase {
  private readonly invocations = new AsyncLocalStorage<Invocation>();
  getContext() {
    return this.invocations.getStore();
  }
  hasContext() {
    return this.invocations.getStore() !== undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the base's signature
  get<T>(key: string | symbol) {
    return this.invocations.getStore()?.[key] as T | undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the base's signature
  set<T>(key: string | symbol, value: T) {
    const invocation = this.invocations.getStore();
    if (!invocation || this.isProtectedKey(key)) throw new Error(`Cannot set ${String(key)}`);
    invocation[key] = value;
  }
  run<T>(invocation: Invocation, fn: () => T): T {
    return this.invocations.run(invocation, fn);
  }
}

const invokeStore = new ConcurrentInvokeStore();

/**
 * Makes the store the one Powertools finds, before `AWS_LAMBDA_MAX_CONCURRENCY` is set (from
 * then on it expects one). Put over any store already there: the AWS SDK makes one for a single
 * invocation at a time on its first request, which would give every invocation the same slot.
 */
export function installInvokeStore(): void {
  const global = globalThis as { awslambda?: { InvokeStore?: InvokeStoreBase } };
  global.awslambda ??= {};
  global.awslambda.InvokeStore = invokeStore;
}

/** Calls a function as Lambda does: with its own context, in an invocation of its own. */
export function invoke<T>(
  functionName: string,
  timeoutMs: number,
  run: (context: Context) => T,
): T {
  const context = lambdaContext(functionName, timeoutMs);
  const invocation = { [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId };
  return invokeStore.run(invocation, () => run(context));
}
