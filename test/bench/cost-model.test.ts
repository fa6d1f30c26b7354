import { describe, expect, it } from 'vitest';
import {
  costByService,
  emptyUsage,
  floorTerms,
  perMillion,
  scanDesign,
  total,
  usageOf,
  type Workload,
} from '../../bench/cost-model';
import { dueAtsOf, itemBytes } from '../../bench/cost-meter';
import { dollars, prices } from '../../bench/prices';

const workload: Workload = {
  accounts: 1_000,
  jobRuns: 12_240,
  refreshes: 600,
  rejections: 30,
  announcements: 100,
  noticeEvents: 100,
  emails: 150,
  waitingNotices: 20,
  trouble: 30,
  apiRequests: 40,
  tokenWrites: 15,
  tableBytes: 1_000_000,
};

describe('cost model', () => {
  it('prices each service at its list price', () => {
    const costs = costByService({ ...emptyUsage(), writeUnits: 1e6, readUnits: 1e6, emails: 1000 });
    expect(costs.DynamoDB).toBeCloseTo(0.75, 10);
    expect(costs.SES).toBeCloseTo(0.1, 10);
    expect(total(costs)).toBeCloseTo(0.85, 10);
    expect(dollars('lambdaArmGbSecond', 1)).toBe(prices.lambdaArmGbSecond.dollars);
  });

  it('scales only what grows with the fleet to a million accounts', () => {
    const usage = { ...emptyUsage(), schedulerInvocations: 12_240, writeUnits: 1_000 };
    const fixed = { ...emptyUsage(), schedulerInvocations: 12_240, writeUnits: 200 };
    const scaled = perMillion(usage, fixed, 10_000);
    expect(scaled.schedulerInvocations).toBe(12_240);
    expect(scaled.writeUnits).toBe(200 + 800 * 100);
  });

  it('builds the floor from the workload, term by term', () => {
    const floor = usageOf(floorTerms(workload));
    expect(floor.schedulerInvocations).toBe(12_240);
    expect(floor.emails).toBe(150);
    expect(floor.events).toBe(600 + 100);
    // refreshes and refusals, announcements, two per email, waiting notices, trouble, reconnects
    expect(floor.writeUnits).toBe(630 + 100 + 300 + 20 + 30 + 15);
    expect(floor.metrics).toBe(1);
  });

  it('replaces the check’s reads with a scan per run in the scan design', () => {
    const floor = usageOf(floorTerms(workload));
    const scan = scanDesign(workload, { readUnitsPerScan: 100, checkRuns: 2_880 });
    expect(scan.readUnits).toBe(floor.readUnits - 50 + 288_000);
    expect(scan.writeUnits).toBe(floor.writeUnits);
  });
});

describe('cost meter helpers', () => {
  it('finds the dueAt a write files an item under', () => {
    expect(dueAtsOf({ Item: { dueAt: '2026-01-01T00:00:00.000Z' } })).toEqual([
      '2026-01-01T00:00:00.000Z',
    ]);
    expect(
      dueAtsOf({
        UpdateExpression: 'SET dueBucket = :filing0, #d = :filing1 REMOVE x',
        ExpressionAttributeNames: { '#d': 'dueAt' },
        ExpressionAttributeValues: { ':filing0': 'b', ':filing1': '2026-02-01T00:00:00.000Z' },
      }),
    ).toEqual(['2026-02-01T00:00:00.000Z']);
    expect(
      dueAtsOf({ TransactItems: [{ Put: { Item: { dueAt: 'x' } } }, { Update: { Key: {} } }] }),
    ).toEqual(['x']);
  });

  it('sizes items as DynamoDB roughly does', () => {
    expect(itemBytes({ pk: 'abc' })).toBe(3 + 2 + 3);
    expect(itemBytes({ n: 12345 })).toBe(3 + 1 + 4);
  });
});
