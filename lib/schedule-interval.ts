/**
 * How often an EventBridge Scheduler expression runs, where one interval can be read from it:
 * a `rate()`; a `cron()` or `at()` has no single interval.
 */
const minutesPer: Record<string, number> = { minute: 1, hour: 60, day: 1440 };

/** The minutes between runs of a `rate(N minutes|hours|days)` expression; otherwise undefined. */
export function rateMinutes(schedule: string): number | undefined {
  const match = /^rate\(\s*(\d+)\s+(minute|hour|day)s?\s*\)$/.exec(schedule);
  if (!match?.[1] || !match[2]) return undefined;
  return Math.max(1, Number(match[1]) * (minutesPer[match[2]] ?? 1));
}
