/**
 * A local EventBridge that answers PutEvents in the service's JSON 1.1 wire format, matches
 * each event against the rules' patterns and hands the envelope, exactly as EventBridge
 * delivers it to an SQS target, to the rule's target. Handlers reach it through
 * AWS_ENDPOINT_URL_EVENTBRIDGE with their ordinary SDK client.
 */
import { randomUUID } from 'node:crypto';
import { awsError, startAwsJsonStandIn } from './standins/aws-json';

/**
 * The subset of EventBridge patterns tokenwatch's rules use: exact values, prefixes
 * (`{ prefix: 'link:' }`, for strings only, as EventBridge's), nested objects.
 */
export type PatternValue = string | number | boolean | { readonly prefix: string };
export type EventPattern = {
  [field: string]: readonly PatternValue[] | EventPattern;
};

/**
 * Whether one value of an event matches one value of a pattern's list. An array in the event
 * matches when any of its elements does, as in EventBridge (SES's `mail.tags` are arrays).
 */
const valueMatches = (expected: PatternValue, actual: unknown): boolean =>
  Array.isArray(actual)
    ? actual.some((element) => valueMatches(expected, element))
    : typeof expected === 'object'
      ? typeof actual === 'string' && actual.startsWith(expected.prefix)
      : expected === actual;

export interface LocalRule {
  name: string;
  eventBusName: string;
  pattern: EventPattern;
  target: (envelope: string) => void;
}

export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

/** An event exactly as EventBridge delivers it to an SQS target: the notifier's queue record body. */
export function eventEnvelope(event: {
  detailType: string;
  source: string;
  detail: unknown;
  time?: Date;
  resources?: string[];
}): EventEnvelope {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': event.detailType,
    source: event.source,
    account: '000000000000',
    time: (event.time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: process.env.AWS_REGION ?? 'local',
    resources: event.resources ?? [],
    detail: event.detail,
  };
}

export interface EventBridgeStandIn {
  endpoint: string;
  /** Every event the bus accepted, in order. */
  readonly accepted: EventEnvelope[];
  stop(): Promise<void>;
}

interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: number | string;
}

export function matches(pattern: EventPattern, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const actual = event[field];
    if (Array.isArray(expected)) {
      return (expected as readonly PatternValue[]).some((value) => valueMatches(value, actual));
    }
    if (actual === null || typeof actual !== 'object') return false;
    return matches(expected as EventPattern, actual as Record<string, unknown>);
  });
}

export async function startEventBridgeStandIn(options: {
  eventBusNames: readonly string[];
  rules: readonly LocalRule[];
  port?: number;
}): Promise<EventBridgeStandIn> {
  const accepted: EventEnvelope[] = [];

  function putEvents(entries: PutEventsEntry[]) {
    const results = entries.map((entry) => {
      if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: 'Source, DetailType and Detail are required.',
        };
      }
      const bus = entry.EventBusName ?? 'default';
      if (!options.eventBusNames.includes(bus)) {
        return {
          ErrorCode: 'NotAuthorizedForSourceException',
          ErrorMessage: `No event bus named ${bus}.`,
        };
      }
      let detail: unknown;
      try {
        detail = JSON.parse(entry.Detail);
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
      }
      if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail must be a JSON object.' };
      }
      const time =
        entry.Time === undefined
          ? new Date()
          : new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : entry.Time);
      const envelope = eventEnvelope({
        detailType: entry.DetailType,
        source: entry.Source,
        detail,
        time,
        resources: entry.Resources,
      });
      accepted.push(envelope);
      const body = JSON.stringify(envelope);
      for (const rule of options.rules) {
        if (
          rule.eventBusName === bus &&
          matches(rule.pattern, envelope as unknown as Record<string, unknown>)
        ) {
          rule.target(body);
        }
      }
      return { EventId: envelope.id };
    });
    return {
      FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length,
      Entries: results,
    };
  }

  const standIn = await startAwsJsonStandIn({
    port: options.port,
    operations: {
      'AWSEvents.PutEvents': (input) => {
        const entries = (input.Entries ?? []) as PutEventsEntry[];
        if (!Array.isArray(entries) || entries.length === 0 || entries.length > 10) {
          return awsError(
            400,
            'ValidationException',
            "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10",
          );
        }
        return { status: 200, body: putEvents(entries) };
      },
    },
  });
  return { endpoint: standIn.endpoint, accepted, stop: () => standIn.stop() };
}
