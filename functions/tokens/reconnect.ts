/**
 * Reconnecting: the code from Instagram's redirect is exchanged for a short-lived and then a
 * long-lived token, which must be for the same Instagram user the account belongs to (the
 * account id is that user's id), and is stored as the next generation.
 */
import { InstagramError } from '#platform/instagram';
import type { AccountSummary } from './account';
import {
  InstagramUserMismatchError,
  ReauthorizationRequiredError,
  RedirectUriNotAllowedError,
} from './errors';
import {
  reauthorizeUrl,
  storeNewToken,
  type Actor,
  type TokenFlowDependencies,
  type TokenState,
} from './new-token';

export async function reconnectToken(
  deps: TokenFlowDependencies,
  account: Pick<AccountSummary, 'accountId' | 'generation'>,
  actor: Actor,
  authorization: { code: string; redirectUri: string },
): Promise<TokenState> {
  const { accountId } = account;
  if (authorization.redirectUri !== deps.instagram.redirectUri) {
    throw new RedirectUriNotAllowedError('redirectUri is not the redirect URI this app uses');
  }
  // Instagram appends `#_` to the redirect; it is not part of the code.
  const code = authorization.code.replace(/#_$/, '');

  let longLived;
  try {
    const shortLived = await deps.instagram.exchangeCode(code, authorization.redirectUri);
    if (shortLived.userId !== accountId) {
      throw new InstagramUserMismatchError(accountId, await reauthorizeUrl(deps, accountId, actor));
    }
    longLived = await deps.instagram.exchangeForLongLivedToken(shortLived.accessToken);
  } catch (error) {
    if (
      error instanceof InstagramError &&
      (error.failure === 'code-rejected' || error.failure === 'token-rejected')
    ) {
      throw new ReauthorizationRequiredError(
        accountId,
        'code-rejected',
        await reauthorizeUrl(deps, accountId, actor),
      );
    }
    throw error;
  }
  return storeNewToken(deps, account, longLived, { ...actor, action: 'reconnect' });
}
