/**
 * The time the product acts at. In Lambda it is the real time, always. The local stack shifts
 * it for the length of a `POST /_local/run-check` with `{"now": ...}`, so a person can watch a
 * week of warnings, expiries and reminders happen in a minute; nothing else sets it.
 */
let offsetMs = 0;

export const now = (): Date => new Date(Date.now() + offsetMs);

/** Runs `work` as of `instant`: every `now()` meanwhile is shifted by the same amount. */
export async function asOf<T>(instant: Date | undefined, work: () => Promise<T>): Promise<T> {
  if (!instant) return work();
  const before = offsetMs;
  offsetMs = instant.getTime() - Date.now();
  try {
    return await work();
  } finally {
    offsetMs = before;
  }
}
