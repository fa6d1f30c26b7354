/**
 * The fleet's pace over DynamoDB Local: however many callers take slots at once, no calendar
 * second holds more calls than the rate, and each slot goes to one caller.
 */
import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '#platform/dynamodb';
import { createRateSlots } from '#platform/rate-slots';
import { keys } from '#storage/keys';
import { useTestTable, type TestTable } from '../support/table';

let table: TestTable;
useTestTable((created) => (table = created));

const perSecondCounts = (times: number[]) => {
  const counts = new Map<number, number>();
  for (const time of times)
    counts.set(Math.floor(time / 1000), (counts.get(Math.floor(time / 1000)) ?? 0) + 1);
  return [...counts.values()];
};

describe('rate slots', () => {
  it('keeps five callers at once to the rate in every second, each call in a slot of its own, at most two writes each', async () => {
    const rate = 20;
    const db = createDocumentClient(table.client);
    let writes = 0;
    const counting = {
      send: (command: Parameters<typeof db.send>[0]) => {
        writes += 1;
        return db.send(command);
      },
    } as unknown as typeof db;
    const slots = createRateSlots({
      db: counting,
      tableName: table.tableName,
      key: keys.refreshPace(),
      perSecond: rate,
    });
    const calls: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        for (let i = 0; i < 12; i += 1) {
          await slots.take();
          calls.push(Date.now());
        }
      }),
    );
    expect(calls).toHaveLength(60);
    // One write per call while callers keep the counter ahead; two when it fell behind (the
    // callers caught up with it): never a search for a free slot.
    expect(writes).toBeLessThanOrEqual(2 * 60);
    expect(Math.max(...perSecondCounts(calls))).toBeLessThanOrEqual(rate);
    // Spread out, not bunched at the start of each second: in any sliding second, at most one
    // more than the rate (a call late in its slot next to the next slot's call on time).
    const sorted = [...calls].sort((a, b) => a - b);
    const densest = Math.max(
      ...sorted.map(
        (start) => sorted.filter((time) => time >= start && time < start + 1000).length,
      ),
    );
    expect(densest).toBeLessThanOrEqual(rate + 1);
  });

  it('gives a slot claimed too late to call in away, and calls in a later one', async () => {
    const db = createDocumentClient(table.client);
    let first = true;
    const slowOnce = {
      send: async (command: Parameters<typeof db.send>[0]) => {
        const result = await db.send(command);
        // The first slot given takes longer than a slot (100 ms) to arrive: by then it is over.
        if (first) {
          first = false;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        return result;
      },
    } as unknown as typeof db;
    const slotMs = 100;
    const slots = createRateSlots({
      db: slowOnce,
      tableName: table.tableName,
      key: { pk: 'PACE#late', sk: 'NEXT' },
      perSecond: 1000 / slotMs,
    });
    const started = Date.now();
    const firstSlot = Math.ceil(started / slotMs);
    await slots.take();
    const calledAt = Date.now();
    expect(calledAt).toBeGreaterThanOrEqual((firstSlot + 1) * slotMs);
    // It called at the start of the slot it holds, not in the one it gave away.
    expect(calledAt % slotMs).toBeLessThan(40);
  });

  it('shares the pace between processes through the table alone', async () => {
    const make = () =>
      createRateSlots({
        db: createDocumentClient(table.client),
        tableName: table.tableName,
        key: { pk: 'PACE#shared', sk: 'NEXT' },
        perSecond: 10,
      });
    const [a, b] = [make(), make()];
    const calls: number[] = [];
    await Promise.all(
      [a, b].map(async (slots) => {
        for (let i = 0; i < 8; i += 1) {
          await slots.take();
          calls.push(Date.now());
        }
      }),
    );
    expect(Math.max(...perSecondCounts(calls))).toBeLessThanOrEqual(10);
  });
});
