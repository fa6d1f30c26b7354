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
 * Another refresh of this generation is talking to Instagram: wait for it to store the next
 * generation (or give up) and answer with what is stored then, without calling Instagram.
 */
async function winnerOf(
  deps: TokenFlowDependencies,
  read: { accountId: string; generation: number },
): Promise<TokenState> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise((done) => setTimeout(done, ms)));
  let current = await deps.store.getAccount(read.accountId);
  for (let waited = 0; waited < winnerWaitMs && current?.generation === read.generation;) {
    await sleep(winnerPollMs);
    waited += winnerPollMs;
    current = await deps.store.getAccount(read.accountId);
  }
  if (!current) throw new AccountNotFoundError(read.accountId);
  return stateOf(current);
}

export async function refreshToken(
  deps: TokenFlowDependencies,
  accountId: string,
  actor: Actor,
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
  if (
    !(await deps.store.takeRefreshLease(accountId, account.generation, now, refreshLeaseSeconds))
  ) {
    return winnerOf(deps, account);
  }

  let token;
  try {
    token = await deps.instagram.refreshToken(account.accessToken);
  } catch (error) {
    await deps.store.releaseRefreshLease(accountId, account.generation);
    if (error instanceof InstagramError && error.failure === 'token-rejected') {
      await deps.store.markTokenDueAsInvalid(
        accountId,
        account.generation,
        now,
        causeOfRejection(error.details),
      );
      throw new ReauthorizationRequiredError(
        accountId,
        'invalid',
        await reauthorizeUrl(deps, accountId, actor),
      );
    }
    throw error;
  }
  return storeNewToken(deps, account, token, { ...actor, action: 'refresh' });
}
