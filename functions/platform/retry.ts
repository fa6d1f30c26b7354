/** Backoff and error classification shared by the adapters that retry (EventBridge, SES). */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Exponential backoff with jitter: retry n waits between half and all of `base * 2^(n-1)`,
 * capped. The random half keeps concurrent retries from arriving together; the fixed half
 * makes sure a retry really does wait.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs = 5_000,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

interface AwsErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

export function isThrottlingError(error: unknown): boolean {
  const shape = error as AwsErrorShape | undefined;
  return (
    shape?.$retryable?.throttling === true ||
    shape?.$metadata?.httpStatusCode === 429 ||
    /throttl|toomanyrequests/i.test(shape?.name ?? '')
  );
}

/** Throttling, or a server-side failure that says nothing about the request itself. */
export function isTransientAwsError(error: unknown): boolean {
  const status = (error as AwsErrorShape | undefined)?.$metadata?.httpStatusCode;
  return isThrottlingError(error) || (status !== undefined && status >= 500);
}
