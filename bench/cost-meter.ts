/**
 * Counts every AWS request the product makes in this process, by service, operation and the
 * function that made it: one wrapper around the SDK's shared `Client.prototype.send`, which every
 * client the handlers create (the document client, SQS, EventBridge, SESv2, Secrets Manager)
 * sends through. DynamoDB requests are asked for their consumed capacity there; the Lambda
 * invocations are timed by `runAs`, and the structured logger's lines counted where they leave:
 * process.stdout.
 */
import { now } from '../functions/platform/clock';
import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface DynamoCount {
  requests: number;
  readUnits: number;
  writeUnits: number;
  /** requests DynamoDB Local answered without ConsumedCapacity: units computed from item sizes */
  computed: number;
  /** conditional writes refused (AWS still charges their write units) */
  conditionFailures: number;
}

export interface Invocations {
  count: number;
  ms: number;
}

export interface Meter {
  /** `${function} ${operation}` → DynamoDB count */
  dynamo: Map<string, DynamoCount>;
  /** `${function} ${service}.${operation}` → requests (SQS counts 64 KB chunks) */
  requests: Map<string, number>;
  /** EventBridge PutEvents entries (64 KB chunks), by function */
  events: Map<string, number>;
  /** SES recipients (each one an email), by function */
  emails: Map<string, number>;
  lambda: Map<string, Invocations>;
  /** bytes the handlers wrote to stdout and stderr, by function */
  logBytes: Map<string, number>;
  logLines: Map<string, number>;
  /** metric name × dimension values, as EMF lines declare them */
  metrics: Set<string>;
  /** the (simulated) clock hours in which each metric received data: CloudWatch bills by them */
  metricHours: Map<string, Set<string>>;
  /** each metric's values added up, by name */
  metricSums: Map<string, number>;
}

const caller = new AsyncLocalStorage<string>();

export function newMeter(): Meter {
  return {
    dynamo: new Map(),
    requests: new Map(),
    events: new Map(),
    emails: new Map(),
    lambda: new Map(),
    logBytes: new Map(),
    logLines: new Map(),
    metrics: new Set(),
    metricHours: new Map(),
    metricSums: new Map(),
  };
}

let active: Meter | undefined;
/** Requests outside any metered window (seeding, peeking) are not the product's. */
export const metering = (meter: Meter | undefined) => {
  active = meter;
};

const add = (map: Map<string, number>, key: string, amount = 1) =>
  map.set(key, (map.get(key) ?? 0) + amount);

/** Runs one Lambda invocation of `name`, timed; its requests and log lines are counted under it. */
export async function runAs<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await caller.run(name, work);
  } finally {
    const meter = active;
    if (meter) {
      const entry = meter.lambda.get(name) ?? { count: 0, ms: 0 };
      entry.count += 1;
      entry.ms += performance.now() - started;
      meter.lambda.set(name, entry);
    }
  }
}

const capacityOps = new Set([
  'GetItemCommand',
  'GetCommand',
  'PutItemCommand',
  'PutCommand',
  'UpdateItemCommand',
  'UpdateCommand',
  'DeleteItemCommand',
  'DeleteCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'BatchGetCommand',
  'BatchWriteItemCommand',
  'BatchWriteCommand',
  'TransactWriteItemsCommand',
  'TransactWriteCommand',
  'TransactGetItemsCommand',
  'TransactGetCommand',
]);
const writeOps = /Put|Update|Delete|BatchWrite|TransactWrite/;

/** An item's size as DynamoDB counts it, near enough: names plus values, numbers ~ digits/2. */
export function itemBytes(value: unknown, name = ''): number {
  const own = Buffer.byteLength(name);
  if (value === null || value === undefined || typeof value === 'boolean') return own + 1;
  if (typeof value === 'number') return own + Math.ceil(String(value).length / 2) + 1;
  if (typeof value === 'string') return own + Buffer.byteLength(value);
  if (Array.isArray(value)) return own + 3 + value.reduce<number>((s, v) => s + itemBytes(v), 0);
  return (
    own +
    3 +
    Object.entries(value as Record<string, unknown>).reduce((s, [k, v]) => s + itemBytes(v, k), 0)
  );
}

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

/** Units from item sizes, for a request DynamoDB Local reported no capacity for. */
function computedUnits(operation: string, input: Record<string, unknown>, output: unknown) {
  const out = (output ?? {}) as Record<string, unknown>;
  if (writeOps.test(operation)) {
    const items = writtenItems(input);
    const factor = operation.startsWith('Transact') ? 2 : 1;
    return {
      read: 0,
      write: items.reduce<number>((s, item) => s + factor * Math.ceil(itemBytes(item) / 1024), 0),
    };
  }
  const consistent = input.ConsistentRead === true;
  const returned = [
    ...((out.Items as unknown[] | undefined) ?? []),
    ...(out.Item ? [out.Item] : []),
    ...Object.values((out.Responses as Record<string, unknown[]> | undefined) ?? {}).flat(),
  ];
  const units = returned.reduce<number>(
    (s, item) => s + Math.ceil(itemBytes(item) / 4096) * (consistent ? 1 : 0.5),
    0,
  );
  return { read: Math.max(units, consistent ? 1 : 0.5), write: 0 };
}

function writtenItems(input: Record<string, unknown>): unknown[] {
  if (input.Item) return [input.Item];
  if (input.Key) return [input.Key];
  const batch = input.RequestItems as Record<string, unknown[]> | undefined;
  if (batch) return Object.values(batch).flat();
  const transact = input.TransactItems as Record<string, unknown>[] | undefined;
  return transact ?? [];
}

const minimumRead = (operation: string, input: Record<string, unknown>) =>
  /^(Get|Query|Scan)/.test(operation) ? (input.ConsistentRead === true ? 1 : 0.5) : 0;

function recordDynamo(
  meter: Meter,
  key: string,
  operation: string,
  input: Record<string, unknown>,
  output: unknown,
  failedCondition: boolean,
) {
  const entry = meter.dynamo.get(key) ?? {
    requests: 0,
    readUnits: 0,
    writeUnits: 0,
    computed: 0,
    conditionFailures: 0,
  };
  entry.requests += 1;
  meter.dynamo.set(key, entry);
  if (failedCondition) {
    // A refused condition is charged as a write of the item; every item here is under 1 KB.
    entry.conditionFailures += 1;
    entry.writeUnits += operation.startsWith('Transact') ? 2 : 1;
    return;
  }
  const reported = (output as { ConsumedCapacity?: Capacity | Capacity[] } | undefined)
    ?.ConsumedCapacity;
  const list = reported === undefined ? [] : Array.isArray(reported) ? reported : [reported];
  if (list.length === 0 || list.every((c) => c.CapacityUnits === undefined)) {
    const units = computedUnits(operation, input, output);
    entry.computed += 1;
    entry.readUnits += units.read;
    entry.writeUnits += units.write;
    return;
  }
  for (const capacity of list) {
    const total = capacity.CapacityUnits ?? 0;
    if (writeOps.test(operation)) entry.writeUnits += total;
    // AWS charges a read that finds nothing its least unit; DynamoDB Local reports 0 for it.
    else entry.readUnits += Math.max(total, minimumRead(operation, input));
  }
}

const serviceOf: Record<string, string> = {
  DynamoDBDocumentClient: 'DynamoDB',
  DynamoDBClient: 'DynamoDB',
  SQSClient: 'SQS',
  EventBridgeClient: 'EventBridge',
  SESv2Client: 'SES',
  SecretsManagerClient: 'SecretsManager',
};

let dueHook: ((dueAt: string) => void) | undefined;
/**
 * Called with every `dueAt` a write files an item under (a token's next announcement, a waiting
 * notice): the month skips a job run only when nothing written can be due by then.
 */
export const onDueWrite = (hook: (dueAt: string) => void) => {
  dueHook = hook;
};

/** The `dueAt` values a DynamoDB write sets, from its item or its update expression. */
export function dueAtsOf(input: Record<string, unknown>): string[] {
  const found: string[] = [];
  const item = input.Item as Record<string, unknown> | undefined;
  if (typeof item?.dueAt === 'string') found.push(item.dueAt);
  const expression = input.UpdateExpression as string | undefined;
  if (expression) {
    const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
    for (const [, name, placeholder] of expression.matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
      const value = values[placeholder ?? ''];
      if ((names[name ?? ''] ?? name) === 'dueAt' && typeof value === 'string') found.push(value);
    }
  }
  for (const entry of (input.TransactItems as
    Record<string, Record<string, unknown>>[] | undefined) ?? [])
    for (const part of Object.values(entry)) found.push(...dueAtsOf(part));
  for (const requests of Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>))
    for (const request of requests as { PutRequest?: Record<string, unknown> }[])
      if (request.PutRequest) found.push(...dueAtsOf(request.PutRequest));
  return found;
}

type Send = (command: { input: Record<string, unknown> }, ...rest: unknown[]) => Promise<unknown>;

function recordOther(meter: Meter, fn: string, service: string, operation: string, input: never) {
  const request = input as Record<string, unknown>;
  if (service === 'SQS') {
    const entries = (request.Entries as { MessageBody?: string }[] | undefined) ?? [
      { MessageBody: request.MessageBody as string | undefined },
    ];
    const bytes = entries.reduce((s, e) => s + Buffer.byteLength(e.MessageBody ?? ''), 0);
    add(meter.requests, `${fn} SQS.${operation}`, Math.max(1, Math.ceil(bytes / 65_536)));
    return;
  }
  add(meter.requests, `${fn} ${service}.${operation}`);
  if (service === 'EventBridge') {
    for (const entry of (request.Entries as
      { Detail?: string; DetailType?: string }[] | undefined) ?? []) {
      const bytes = Buffer.byteLength(`${entry.Detail ?? ''}${entry.DetailType ?? ''}`);
      add(meter.events, fn, Math.ceil(bytes / 65_536));
    }
  }
  if (service === 'SES') {
    const destination = request.Destination as { ToAddresses?: string[] } | undefined;
    add(meter.emails, fn, destination?.ToAddresses?.length ?? 1);
  }
}

/** Wraps the SDK's one `send`: every client of every handler in this process goes through it. */
export function installSdkMeter(): void {
  const base = Object.getPrototypeOf(DynamoDBClient.prototype) as { send: Send };
  const original = base.send;
  base.send = async function meteredSend(this: object, command, ...rest) {
    const meter = active;
    const service = serviceOf[this.constructor.name];
    const operation = command.constructor.name;
    if (service === 'DynamoDB' && dueHook && writeOps.test(operation))
      for (const dueAt of dueAtsOf(command.input)) dueHook(dueAt);
    if (!meter || !service) return original.call(this, command, ...rest);
    const fn = caller.getStore() ?? 'bench';
    if (service !== 'DynamoDB') {
      recordOther(meter, fn, service, operation.replace(/Command$/, ''), command.input as never);
      return original.call(this, command, ...rest);
    }
    if (!capacityOps.has(operation)) return original.call(this, command, ...rest);
    command.input.ReturnConsumedCapacity = 'INDEXES';
    const key = `${fn} ${operation.replace(/Command$/, '')}`;
    try {
      const output = await original.call(this, command, ...rest);
      recordDynamo(meter, key, operation, command.input, output, false);
      return output;
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (/ConditionalCheckFailed|TransactionCanceled/.test(name)) {
        recordDynamo(meter, key, operation, command.input, undefined, true);
      }
      throw error;
    }
  };
}

/**
 * Counts what the structured logger and Powertools Metrics write, as CloudWatch Logs would: both
 * streams (the logger writes warnings and errors to stderr), while a handler runs.
 */
export function captureOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = (chunk: unknown, ...rest: unknown[]) => {
      const meter = active;
      const fn = caller.getStore();
      if (!meter || fn === undefined) return write(chunk, ...rest);
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
      add(meter.logBytes, fn, Buffer.byteLength(text));
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        add(meter.logLines, fn);
        if (line.includes('"CloudWatchMetrics"')) collectMetrics(meter, line);
      }
      // Counted, not shown: they are the handlers' lines, not the benchmark's.
      return true;
    };
  }
}

function collectMetrics(meter: Meter, line: string) {
  const emf = JSON.parse(line) as {
    _aws: {
      CloudWatchMetrics: {
        Namespace: string;
        Dimensions: string[][];
        Metrics: { Name: string }[];
      }[];
    };
  } & Record<string, unknown>;
  for (const directive of emf._aws.CloudWatchMetrics) {
    for (const dimensions of directive.Dimensions) {
      const values = dimensions.map((d) => `${d}=${String(emf[d])}`).join(',');
      for (const metric of directive.Metrics) {
        const key = `${directive.Namespace}/${metric.Name}{${values}}`;
        meter.metrics.add(key);
        const hours = meter.metricHours.get(key) ?? new Set<string>();
        hours.add(now().toISOString().slice(0, 13));
        meter.metricHours.set(key, hours);
        const value = emf[metric.Name];
        const sum = Array.isArray(value) ? (value as number[]).reduce((a, b) => a + b, 0) : value;
        if (typeof sum === 'number') add(meter.metricSums, metric.Name, sum);
      }
    }
  }
}
