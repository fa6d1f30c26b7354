/**
 * Refreshing a token with Instagram (lifecycle.ts says when that is possible):
 *
 * - an active token at least a day old is extended with Instagram; a younger one needs no
 *   refresh (Instagram would refuse it), so the current state is the answer;
 * - an expired or invalid token, or one Instagram no longer accepts (OAuthException 190), can
 *   only be replaced by authorizing again: the answer carries Instagram's authorization URL, and
 *   a token Instagram refused is filed for the check, which tells its people.
 *
 * The access token goes from the store to Instagram and back to the store; it is never
 * returned, logged or published.
 */
import { InstagramError } from '#platform/instagram';
import { AccountNotFoundError, ReauthorizationRequiredError } from './errors';
import { lostAs, refreshVerdict } from './lifecycle';
import {
  reauthorizeUrl,
  stateOf,
  storeNewToken,
  type Actor,
  type TokenFlowDependencies,
  type TokenState,
} from './new-token';

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

  let token;
  try {
    token = await deps.instagram.refreshToken(account.accessToken);
  } catch (error) {
    if (error instanceof InstagramError && error.failure === 'token-rejected') {
      await deps.store.markTokenDueAsInvalid(accountId, account.generation, now);
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
