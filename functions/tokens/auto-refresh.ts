/**
 * The automatic refresh of one token, as the refresher does it for each request the refresh job
 * queued. It is the manual refresh's twin (refresh.ts), with the same lease and the same
 * conditional write of the next generation, so a manual refresh and an automatic one at once
 * make one call to Instagram and store one token. What differs is what a failure does:
 *
 * - Instagram rejects the token (OAuthException 190): invalid at once, with its cause, filed for
 *   the check, which tells its people;
 * - a passing failure (5xx, throttling, a timeout, an answer it cannot read): tried again later
 *   with backoff (token-schedule.ts), the last time an hour before the expiry; the warnings and
 *   the expiry stay filed on their own, so a token that keeps failing is announced as any other;
 * - someone else is refreshing it: nothing; it is still due, and the next run looks again.
 *
 * A crash anywhere leaves the stored token in place: until the next generation is written, the
 * account keeps the token it had, which Instagram keeps accepting until its own expiry (a
 * refresh issues a new token; it does not end the old one), and the request's lease runs out by
 * itself, so the next run refreshes it again. Nothing is written before Instagram answered, and
 * nothing marks a token refreshed but the write of its successor.
 */
import { InstagramError } from '#platform/instagram';
import { errorName, type LogSink } from '#platform/observability';
import type { RateSlots } from '#platform/rate-slots';
import { causeOfRejection, refreshVerdict, minimumRefreshAgeMs } from './lifecycle';
import { storeNewToken, type TokenFlowDependencies } from './new-token';
import { refreshLeaseSeconds } from './refresh';
import type { RefreshRequest, RefreshSchedule } from './refresh-schedule';
import { refreshRetryAt } from './token-schedule';

export interface AutoRefreshDependencies extends TokenFlowDependencies {
  store: TokenFlowDependencies['store'] & RefreshSchedule;
  /** The fleet's pace of calls to Instagram (instagramMaxRefreshRate). */
  pace: RateSlots;
  log: LogSink;
  /**
   * The storm guard (storm/storm-guard.ts): whether refresh is paused, and where a refused token
   * or a failed refresh is counted. @default none: never paused, nothing counted
   */
  storm?: RefreshStormGuard;
}

export interface RefreshStormGuard {
  paused(): Promise<boolean>;
  /** counts trouble by cause (a rejection's) or failure (a passing one's) */
  noteTrouble(causes: Record<string, number>): Promise<unknown>;
}

/**
 * - `paused`: a storm is on; the token stays due and the first run after it refreshes it;
 * - `refreshed`: the next generation is stored (by this refresh, or by one that won the race);
 * - `not-due`: nothing to do (gone, replaced, lost, or its refresh is not due yet);
 * - `too-young`: Instagram refreshes no token under a day old; filed for when it may;
 * - `busy`: another refresh of it is talking to Instagram;
 * - `rejected`: Instagram refused it; invalid with its cause, filed for the check;
 * - `retry-later`: a passing failure; filed for another try with backoff;
 * - `given-up`: a passing failure too close to the expiry for another try.
 */
export type AutoRefreshOutcome =
  | 'paused'
  | 'refreshed'
  | 'not-due'
  | 'too-young'
  | 'busy'
  | 'rejected'
  | 'retry-later'
  | 'given-up';

const actor = { by: 'auto', relation: 'auto', action: 'refresh' } as const;

export async function refreshAutomatically(
  deps: AutoRefreshDependencies,
  request: RefreshRequest,
): Promise<AutoRefreshOutcome> {
  const account = await deps.store.getAccountWithToken(request.accountId);
  const now = deps.now();
  if (
    !account ||
    account.generation !== request.generation ||
    account.refreshAt === undefined ||
    Date.parse(account.refreshAt) > now.getTime()
  ) {
    return 'not-due';
  }
  const verdict = refreshVerdict({ ...account, issuedAt: account.tokenIssuedAt }, now);
  if (verdict === 'reauthorize') {
    // Lost already: the check announces it; the refresh has nothing more to try.
    await deps.store.dropRefresh(request);
    return 'not-due';
  }
  if (verdict === 'too-young') {
    const mayAt = new Date(Date.parse(account.tokenIssuedAt) + minimumRefreshAgeMs).toISOString();
    await deps.store.fileRefreshRetry(request, mayAt, account.refreshFailures ?? 0, now);
    return 'too-young';
  }

  // In a storm every call to Instagram is likely to fail, and each failure would count against
  // the app's standing with Meta: nothing is asked until an operator ends it.
  if (await deps.storm?.paused()) return 'paused';

  // The lease first, then the slot: nothing slow may stand between the slot and the call, or
  // calls given consecutive slots leave together (npm run bench counted 25 in a second at 20/s
  // with the lease in between). The lease (30 s) outlasts any wait for a slot.
  const leaseId = await deps.store.takeRefreshLease(
    request.accountId,
    request.generation,
    deps.now(),
    refreshLeaseSeconds,
  );
  if (!leaseId) return 'busy';
  const release = () =>
    deps.store.releaseRefreshLease(request.accountId, leaseId).catch((releaseError: unknown) => {
      deps.log.warn('Could not give the refresh lease back; it runs out by itself', {
        accountId: request.accountId,
        error: errorName(releaseError),
      });
    });

  let token;
  try {
    await deps.pace.take();
    token = await deps.instagram.refreshToken(account.accessToken);
  } catch (error) {
    try {
      return await afterFailure(deps, request, account, error);
    } finally {
      await release();
    }
  }
  await storeNewToken(deps, request, token, actor);
  return 'refreshed';
}

async function afterFailure(
  deps: AutoRefreshDependencies,
  request: RefreshRequest,
  account: { expiresAt: string; refreshFailures?: number },
  error: unknown,
): Promise<AutoRefreshOutcome> {
  if (!(error instanceof InstagramError)) throw error;
  const now = deps.now();
  if (error.failure === 'token-rejected') {
    const cause = causeOfRejection(error.details);
    // Counted before it is filed for the check, so a burst is a storm before the check can
    // announce any of it (a crash in between counts it twice: a storm a little sooner).
    await deps.storm?.noteTrouble({ [cause]: 1 });
    await deps.store.markTokenDueAsInvalid(request.accountId, request.generation, now, cause);
    deps.log.info('Instagram rejected the token; it is invalid and filed for the check', {
      accountId: request.accountId,
      generation: request.generation,
      cause,
    });
    return 'rejected';
  }
  const failures = (account.refreshFailures ?? 0) + 1;
  await deps.storm?.noteTrouble({ [error.failure]: 1 });
  const retryAt = refreshRetryAt(account.expiresAt, now, failures);
  deps.log.warn('Automatic refresh failed for a passing reason', {
    accountId: request.accountId,
    generation: request.generation,
    failure: error.failure,
    status: error.details.status,
    failures,
    retryAt,
  });
  if (retryAt === undefined) {
    await deps.store.dropRefresh(request);
    return 'given-up';
  }
  await deps.store.fileRefreshRetry(request, retryAt, failures, now);
  return 'retry-later';
}
