/**
 * How the refresher reads its queue, as plain numbers with no CDK in them: the stack deploys them
 * and the local stack runs its queue by them, so the two cannot differ.
 */

/** Refresh requests the refresher takes per invocation. */
export const refresherBatchSize = 5;

/**
 * The refresher's maximum concurrency for a rate: about one process per call a second, so each
 * waits about a second for its turn; at least 2 (the event source mapping's minimum), at most
 * 50 (enough for any rate Instagram would allow one app).
 */
export function refresherConcurrency(instagramMaxRefreshRate: number): number {
  return Math.min(50, Math.max(2, Math.ceil(instagramMaxRefreshRate)));
}
