/**
 * The arithmetic every benchmark shares: a seeded random source (so a data set is the same on
 * every run), medians and percentiles of timings, and the busiest one-second window of a
 * series of send times.
 */

/** mulberry32: tiny, fast and good enough to pick ids and instants; the same seed, the same data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile: a value that was actually measured, never an interpolation. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('No values to take a percentile of');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** The most events in any window [t, t + windowMs) over the given instants (ms), and its start. */
export function busiestWindow(
  instants: readonly number[],
  windowMs = 1000,
): { count: number; start: number } {
  const sorted = [...instants].sort((a, b) => a - b);
  let busiest = { count: 0, start: sorted[0] ?? 0 };
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start += 1;
    if (end - start + 1 > busiest.count) {
      busiest = { count: end - start + 1, start: sorted[start] as number };
    }
  }
  return busiest;
}

/** Runs `task` for every item with at most `concurrency` in flight, in order of the list. */
export async function withConcurrency<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export async function timed(task: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await task();
  return performance.now() - started;
}

/**
 * Where the time of a run went: for each kind of call, how long at least one was in flight
 * (the union of their intervals). Calls overlap, so the kinds may add up to more than the run.
 */
export class BusyTime {
  private readonly intervals = new Map<string, [number, number][]>();

  begin(kind: string): () => void {
    const started = performance.now();
    return () => {
      const list = this.intervals.get(kind) ?? [];
      list.push([started, performance.now()]);
      this.intervals.set(kind, list);
    };
  }

  reset(): void {
    this.intervals.clear();
  }

  /** Milliseconds per kind, rounded. */
  summary(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const [kind, list] of this.intervals) {
      const sorted = [...list].sort((a, b) => a[0] - b[0]);
      let total = 0;
      let [start, end] = sorted[0] ?? [0, 0];
      for (const [from, to] of sorted.slice(1)) {
        if (from > end) {
          total += end - start;
          start = from;
        }
        end = Math.max(end, to);
      }
      result[kind] = Math.round(total + end - start);
    }
    return result;
  }
}

/**
 * The median of per-round ratios a[i] / b[i]. Each round measures both sides back to back, so a
 * slow spell of a busy machine slows both sides of the same round and cancels out of its ratio.
 */
export function pairedRatio(
  numerators: readonly number[],
  denominators: readonly number[],
): number {
  if (numerators.length !== denominators.length) throw new Error('Unpaired measurements');
  return median(numerators.map((value, index) => value / (denominators[index] as number)));
}

/** How many of the instants (ms) fall in each calendar second, from the first's to the last's. */
export function callsPerSecond(instants: readonly number[]): { second: number; count: number }[] {
  if (instants.length === 0) return [];
  const seconds = instants.map((instant) => Math.floor(instant / 1000));
  const first = Math.min(...seconds);
  const last = Math.max(...seconds);
  const counts = Array.from({ length: last - first + 1 }, (_, index) => ({
    second: first + index,
    count: 0,
  }));
  for (const second of seconds) (counts[second - first] as { count: number }).count += 1;
  return counts;
}

/**
 * The steady rate of a burst of calls: calls per second over its whole calendar seconds, those
 * strictly after the first call's second and before the last call's (those two are partial: the
 * burst starts and ends somewhere inside them).
 */
export function steadyRate(instants: readonly number[]): {
  perSecond: number;
  seconds: number;
  fromMs: number;
} {
  const counts = callsPerSecond(instants).slice(1, -1);
  if (counts.length === 0) throw new Error('Fewer than three calendar seconds of calls');
  const calls = counts.reduce((sum, second) => sum + second.count, 0);
  return {
    perSecond: calls / counts.length,
    seconds: counts.length,
    fromMs: (counts[0] as { second: number }).second * 1000,
  };
}
