/** The arithmetic behind `npm run bench`: a wrong percentile or window would misreport a goal. */
import { describe, expect, it } from 'vitest';
import { goalMet } from '../../bench/harness';
import { busiestWindow, median, percentile, seededRandom } from '../../bench/stats';
import { originOf, selfTimeByOrigin, type CpuProfile } from '../../bench/import-profile';

describe('benchmark arithmetic', () => {
  it('generates the same data from the same seed, and other data from another', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, seededRandom(seed));
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    for (const value of draw(7)) expect(value).toBeGreaterThanOrEqual(0);
    for (const value of draw(7)) expect(value).toBeLessThan(1);
  });

  it('takes percentiles by nearest rank, so a p99 is a latency that was measured', () => {
    const latencies = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(latencies, 99)).toBe(99);
    expect(percentile(latencies, 100)).toBe(100);
    expect(median([5, 1, 3])).toBe(3);
  });

  it('counts the busiest one-second window, its end excluded', () => {
    // Sends exactly 200 ms apart: five in any second, never six.
    const paced = Array.from({ length: 20 }, (_, index) => 1_000 + index * 200);
    expect(busiestWindow(paced).count).toBe(5);
    expect(busiestWindow([0, 10, 999, 1_000, 1_500]).count).toBe(3);
  });

  it('holds a figure to its goal, bounds included', () => {
    expect(goalMet({ atMost: 1.05 }, 1.05)).toBe(true);
    expect(goalMet({ atLeast: 0.7 }, 0.69)).toBe(false);
    expect(goalMet({ between: [0.9, 1.0] }, 1.01)).toBe(false);
    expect(goalMet({ between: [0.9, 1.0] }, 0.95)).toBe(true);
  });

  it('attributes import time to the package or our own file it was spent in', () => {
    expect(originOf('../node_modules/@aws-sdk/client-dynamodb/dist-es/index.js')).toBe(
      '@aws-sdk/client-dynamodb',
    );
    expect(originOf('../node_modules/zod/v4/core/core.js')).toBe('zod');
    expect(originOf('../../work/main/functions/storage/store.ts')).toBe(
      'functions/storage/store.ts',
    );

    const frame = (id: number, url: string, functionName = 'f') => ({
      id,
      callFrame: { functionName, url, lineNumber: 0, columnNumber: 0 },
    });
    const profile: CpuProfile = {
      nodes: [
        frame(1, '', '(idle)'),
        frame(2, 'node:internal/modules/esm/utils'),
        frame(3, 'file:///tmp/bundle.mjs'),
        frame(4, '', '(garbage collector)'),
      ],
      samples: [1, 2, 2, 3, 4],
      timeDeltas: [5_000, 1_000, 2_000, 500, 250],
    };
    const noMappings = {
      version: 3,
      file: 'bundle.mjs',
      sources: [],
      sourcesContent: [],
      sourceRoot: '',
      names: [],
      mappings: '',
    };
    expect(selfTimeByOrigin(profile, 'file:///tmp/bundle.mjs', noMappings)).toEqual([
      ['node: modules/esm/utils', 3],
      ['(bundle top level)', 0.5],
      ['(garbage collector)', 0.25],
    ]);
  });
});
