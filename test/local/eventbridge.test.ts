import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { matches, startEventBridgeStandIn, type EventBridgeStandIn } from '../../local/eventbridge';

let bus: EventBridgeStandIn;
let client: EventBridgeClient;
const delivered: string[] = [];

beforeAll(async () => {
  bus = await startEventBridgeStandIn({
    eventBusNames: ['tokenwatch'],
    rules: [
      {
        name: 'expired-to-queue',
        eventBusName: 'tokenwatch',
        pattern: { source: ['tokenwatch'], 'detail-type': ['Instagram Token Expired'] },
        target: (envelope) => delivered.push(envelope),
      },
    ],
  });
  client = new EventBridgeClient({
    endpoint: bus.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});
afterAll(async () => {
  client.destroy();
  await bus.stop();
});

describe('the local event bus', () => {
  it('accepts PutEvents from the real SDK and routes matching events to the rule target as SQS would receive them', async () => {
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'tokenwatch',
            Source: 'tokenwatch',
            DetailType: 'Instagram Token Expired',
            Detail: JSON.stringify({ accountId: 'a1', generation: 1 }),
          },
          {
            EventBusName: 'tokenwatch',
            Source: 'tokenwatch',
            DetailType: 'Instagram Token Refreshed',
            Detail: JSON.stringify({ accountId: 'a1', generation: 2 }),
          },
          { EventBusName: 'nope', Source: 'tokenwatch', DetailType: 'x', Detail: '{}' },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries?.[2]?.ErrorCode).toBeDefined();
    expect(delivered).toHaveLength(1);
    expect(JSON.parse(delivered[0] ?? '')).toMatchObject({
      version: '0',
      source: 'tokenwatch',
      'detail-type': 'Instagram Token Expired',
      detail: { accountId: 'a1', generation: 1 },
    });
    expect(bus.accepted).toHaveLength(2);
  });

  it('matches nested patterns on the detail', () => {
    const pattern = { source: ['tokenwatch'], detail: { reason: ['invalid'] } };
    expect(matches(pattern, { source: 'tokenwatch', detail: { reason: 'invalid' } })).toBe(true);
    expect(matches(pattern, { source: 'tokenwatch', detail: { reason: 'expired' } })).toBe(false);
    expect(matches(pattern, { source: 'tokenwatch' })).toBe(false);
  });

  it("matches EventBridge's prefix patterns on strings only, as the link-used rule needs", () => {
    const pattern = { detail: { by: [{ prefix: 'link:' }] } };
    expect(matches(pattern, { detail: { by: 'link:abc' } })).toBe(true);
    expect(matches(pattern, { detail: { by: 'link:' } })).toBe(true);
    expect(matches(pattern, { detail: { by: 'u-link:abc' } })).toBe(false);
    expect(matches(pattern, { detail: { by: 'auto' } })).toBe(false);
    expect(matches(pattern, { detail: { by: 7 } })).toBe(false);
    expect(matches(pattern, { detail: {} })).toBe(false);
    // A list mixes exact values and prefixes: any one of them matches.
    expect(matches({ by: ['auto', { prefix: 'link:' }] }, { by: 'auto' })).toBe(true);
    expect(matches({ by: ['auto', { prefix: 'link:' }] }, { by: 'link:x' })).toBe(true);
    expect(matches({ by: ['auto', { prefix: 'link:' }] }, { by: 'u-1' })).toBe(false);
  });
});
