/**
 * The rules of refreshing and reconnecting an Instagram token, as plain functions over small
 * ports (the store, the Instagram client, an event publisher, a clock), readable and testable
 * without HTTP:
 *
 * - only the account's owner or one of its developers may act; to anyone else the account does
 *   not exist;
 * - an active token at least a day old is extended with Instagram; a younger one needs no
 *   refresh (Instagram would refuse it), so the current state is the answer;
 * - an expired or invalid token, or one Instagram no longer accepts (OAuthException 190), can
 *   only be replaced by authorizing again: the answer carries Instagram's authorization URL;
 * - a reconnect must bring a token for the same Instagram user the account belongs to (the
 *   account id is that user's id);
 * - a new token is written only as the next generation of the one that was read, so two
 *   concurrent refreshes never lose a token: the loser answers with the winner's state.
 *
 * The access token goes from the store to Instagram and back to the store; it is never
 * returned, logged or published.
 */
import {
  InstagramUserMismatchError,
  ReauthorizationRequiredError,
  RedirectUriNotAllowedError,
} from './errors';
import { InstagramError, type InstagramClient } from '#platform/instagram';
import { logger } from '#platform/observability';
import { reauthorizeState } from './reauthorize';
import {
  type AccountSummary,
  type TokenRefreshedDetail,
  type TokenStatus,
} from '#platform/schemas';
import {
  AccountNotFoundError,
  GenerationConflictError,
  type TokenwatchStore,
} from '#storage/store';

const HOUR_MS = 3_600_000;
/** Instagram refreshes a long-lived token only once it is at least this old. */
export const minimumRefreshAgeMs = 24 * HOUR_MS;

export interface TokenState {
  accountId: string;
  tokenStatus: TokenStatus;
  expiresAt: string;
}

export { InstagramUserMismatchError, ReauthorizationRequiredError, RedirectUriNotAllowedError };

export type TokenRefreshedPublisher = (detail: TokenRefreshedDetail) => Promise<void>;

export interface TokenFlowDependencies {
  store: Pick<
    TokenwatchStore,
    'relationTo' | 'getAccount' | 'getAccountWithToken' | 'replaceToken' | 'markTokenDueAsInvalid'
  >;
  instagram: InstagramClient;
  publishRefreshed: TokenRefreshedPublisher;
  now: () => Date;
}

const stateOf = (
  account: Pick<AccountSummary, 'accountId' | 'tokenStatus' | 'expiresAt'>,
): TokenState => ({
  accountId: account.accountId,
  tokenStatus: account.tokenStatus,
  expiresAt: account.expiresAt,
});

async function reauthorizeUrl(deps: TokenFlowDependencies, accountId: string, userId: string) {
  const { appSecret } = await deps.instagram.appCredentials();
  return deps.instagram.authorizeUrl(reauthorizeState(accountId, userId, appSecret));
}

async function requireAccess(deps: TokenFlowDependencies, accountId: string, userId: string) {
  const access = await deps.store.relationTo(accountId, userId);
  if (!access) throw new AccountNotFoundError(accountId);
  return access;
}

/** Stores the new token as the next generation and announces it; a lost race is no error. */
async function storeNewToken(
  deps: TokenFlowDependencies,
  accountId: string,
  generation: number,
  token: { accessToken: string; expiresInSeconds: number },
  by: { userId: string; relation: string; action: 'refresh' | 'reconnect' },
): Promise<TokenState> {
  const now = deps.now();
  let stored: AccountSummary;
  try {
    stored = await deps.store.replaceToken(
      accountId,
      generation,
      {
        accessToken: token.accessToken,
        expiresAt: new Date(now.getTime() + token.expiresInSeconds * 1000).toISOString(),
      },
      now,
    );
  } catch (error) {
    if (!(error instanceof GenerationConflictError)) throw error;
    // Someone stored a newer token meanwhile: theirs stays, and it is the answer.
    logger.info('Token was replaced concurrently; keeping the newer generation', {
      accountId,
      generation,
      action: by.action,
    });
    const current = await deps.store.getAccount(accountId);
    if (!current) throw new AccountNotFoundError(accountId);
    return stateOf(current);
  }
  logger.info('Token replaced', {
    accountId,
    generation: stored.generation,
    expiresAt: stored.expiresAt,
    action: by.action,
    relation: by.relation,
  });
  try {
    await deps.publishRefreshed({
      accountId,
      generation: stored.generation,
      expiresAt: stored.expiresAt,
      by: by.userId,
    });
  } catch (error) {
    // The token is stored and works; a lost announcement must not turn that into an error.
    logger.error('Could not publish Instagram Token Refreshed', {
      accountId,
      generation: stored.generation,
      error: (error as Error).name,
    });
  }
  return stateOf(stored);
}

export async function refreshToken(
  deps: TokenFlowDependencies,
  accountId: string,
  userId: string,
): Promise<TokenState> {
  const { relation } = await requireAccess(deps, accountId, userId);
  const account = await deps.store.getAccountWithToken(accountId);
  if (!account) throw new AccountNotFoundError(accountId);
  const now = deps.now();

  if (account.tokenStatus !== 'active' || Date.parse(account.expiresAt) <= now.getTime()) {
    throw new ReauthorizationRequiredError(
      accountId,
      account.tokenStatus === 'invalid' ? 'invalid' : 'expired',
      await reauthorizeUrl(deps, accountId, userId),
    );
  }
  const issuedAt = Date.parse(account.tokenIssuedAt);
  if (Number.isFinite(issuedAt) && now.getTime() - issuedAt < minimumRefreshAgeMs) {
    return stateOf(account);
  }

  let token;
  try {
    token = await deps.instagram.refreshToken(account.accessToken);
  } catch (error) {
    if (error instanceof InstagramError && error.failure === 'token-rejected') {
      // Instagram no longer accepts it: file it for the check, which tells owner and developers.
      await deps.store.markTokenDueAsInvalid(accountId, account.generation, now);
      throw new ReauthorizationRequiredError(
        accountId,
        'invalid',
        await reauthorizeUrl(deps, accountId, userId),
      );
    }
    throw error;
  }
  return storeNewToken(deps, accountId, account.generation, token, {
    userId,
    relation,
    action: 'refresh',
  });
}

export async function reconnectToken(
  deps: TokenFlowDependencies,
  accountId: string,
  userId: string,
  authorization: { code: string; redirectUri: string },
): Promise<TokenState> {
  const { account, relation } = await requireAccess(deps, accountId, userId);
  if (authorization.redirectUri !== deps.instagram.redirectUri) {
    throw new RedirectUriNotAllowedError('redirectUri is not the redirect URI this app uses');
  }
  // Instagram appends `#_` to the redirect; it is not part of the code.
  const code = authorization.code.replace(/#_$/, '');

  let shortLived;
  let longLived;
  try {
    shortLived = await deps.instagram.exchangeCode(code, authorization.redirectUri);
    if (shortLived.userId !== accountId) {
      throw new InstagramUserMismatchError(
        accountId,
        await reauthorizeUrl(deps, accountId, userId),
      );
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
        await reauthorizeUrl(deps, accountId, userId),
      );
    }
    throw error;
  }
  return storeNewToken(deps, accountId, account.generation, longLived, {
    userId,
    relation,
    action: 'reconnect',
  });
}

/**
 * The status to show: a token past its expiry is expired even before the check has marked it
 * (the check runs every quarter hour; the accounts page should not lag behind it).
 */
export function effectiveTokenStatus(
  account: Pick<AccountSummary, 'tokenStatus' | 'expiresAt'>,
  now: Date,
): TokenStatus {
  return account.tokenStatus === 'active' && Date.parse(account.expiresAt) <= now.getTime()
    ? 'expired'
    : account.tokenStatus;
}
