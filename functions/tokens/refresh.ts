/**
 * Refreshing a token with Instagram (lifecycle.ts says when that is possible):
 *
 * - an active token at least a day old is extended with Instagram; a younger one needs no
 *   refresh (Instagram would refuse it), so the current state is the answer;
 * - one refresh per token talks to Instagram at a time (refresh-lease.ts); the others wait for
 *   its result and answer with it;
 * - an expired or invalid token, or one Instagram no longer accepts (OAuthException 190), can
 *   only be replaced by authorizing again: the answer carries Instagram's authorization URL, and
 *   a token Instagram refused is filed for the check, with its cause (what Instagram's subcode
 *   says happened: a changed password, the app removed, a checkpoint, …), and the check tells
 *   its people.
 *
 * The access token goes from the store to Instagram and back to the store; it is never
 * returned, logged or published.
 */
import { InstagramError } from '#platform/instagram';
import { errorName, logger } from '#platform/observability';
import { sleep as realSleep } from '#platform/retry';
import type { AccountSummary } from './account';
import { AccountNotFoundError, ReauthorizationRequiredError } from './errors';
import { causeOfRejection, lostAs, refreshVerdict } from './lifecycle';
import {
  reauthorizeUrl,
  stateOf,
  storeNewToken,
  type Actor,
  type TokenFlowDependencies,
  type TokenState,
} from './new-token';

/**
 * How long a refresh may hold the lease: longer than a call to Instagram can take (its client
 * gives up after 4 s), shorter than a person's patience before they click again.
 */
export const refreshLeaseSeconds = 30;
/** How long a refresh that found the lease taken waits for the winner before answering. */
const winnerWaitMs = 5_000;
const winnerPollMs = 200;

/**
 * Another refresh of this generation is talking to Instagram: wait until it stored the next
 * generation, found the token invalid, or the wait ran out, and answer with the account then.
 */
async function waitForWinner(
  deps: TokenFlowDependencies,
  read: { accountId: string; generation: number },
): Promise<AccountSummary> {
  const sleep = deps.sleep ?? realSleep;
  let current = await deps.store.getAccount(read.accountId);
  for (
    let waited = 0;
    waited < winnerWaitMs &&
    current?.generation === read.generation &&
    current.tokenStatus === 'active';
    waited += winnerPollMs
  ) {
    await sleep(winnerPollMs);
    current = await deps.store.getAccount(read.accountId);
  }
  if (!current) throw new AccountNotFoundError(read.accountId);
  return current;
}

/** Never lets a failed release hide what happened: the lease runs out by itself anyway. */
const release = (deps: TokenFlowDependencies, accountId: string, leaseId: string) =>
  deps.store.releaseRefreshLease(accountId, leaseId).catch((error: unknown) => {
    logger.warn('Could not give the refresh lease back; it runs out by itself', {
      accountId,
      error: errorName(error),
    });
  });

export async function refreshToken(
  deps: TokenFlowDependencies,
  accountId: string,
  actor: Actor,
  /** a refresh that waited for a winner which stored nothing tries once more, itself */
  waitedBefore = false,
): Promise<TokenState> {
  const account = await deps.store.getAccountWithToken(accountId);
  if (!account) throw new AccountNotFoundError(accountId);
  const now = deps.now();

  const verdict = refreshVerdict({ ...account, issuedAt: account.tokenIssuedAt }, now);
  if (verdict === 'reauthorize') {
    throw new ReauthorizationRequiredError(
      accountId,
      lostAs(account),
      await reauthorizeUrl(deps, accountId, actor),
    );
  }
  if (verdict === 'too-young') return stateOf(account);
  const leaseId = await deps.store.takeRefreshLease(
    accountId,
    account.generation,
    now,
    refreshLeaseSeconds,
  );
  if (!leaseId) {
    const settled = await waitForWinner(deps, account);
    // The winner stored nothing (Instagram refused the token, or failed): this caller deserves
    // the real answer, not the old state, so it asks once more, through the same lease.
    if (settled.generation === account.generation && !waitedBefore) {
      return refreshToken(deps, accountId, actor, true);
    }
    return stateOf(settled);
  }

  let token;
  try {
    token = await deps.instagram.refreshToken(account.accessToken);
  } catch (error) {
    if (error instanceof InstagramError && error.failure === 'token-rejected') {
      // Invalid at once, with its cause, and filed for the check, which tells its people; only
      // then is the lease given back, so nobody waiting asks Instagram about a token known dead.
      await deps.store.markTokenDueAsInvalid(
        accountId,
        account.generation,
        now,
        causeOfRejection(error.details),
      );
      await release(deps, accountId, leaseId);
      throw new ReauthorizationRequiredError(
        accountId,
        'invalid',
        await reauthorizeUrl(deps, accountId, actor),
      );
    }
    await release(deps, accountId, leaseId);
    throw error;
  }
  return storeNewToken(deps, account, token, { ...actor, action: 'refresh' });
}
