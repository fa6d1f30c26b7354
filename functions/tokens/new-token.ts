/**
 * What refresh and reconnect share: the ports they work over, the state they answer with, and
 * the one way a new token is stored — as the next generation of the token that was read, so two
 * concurrent writers never lose a token: the loser answers with the winner's state.
 *
 * The flows take an account someone may act on (access.ts decides who) and `by`, who acts, for
 * the event; they never look at a user themselves.
 */
import type { InstagramClient } from '#platform/instagram';
import { logger } from '#platform/observability';
import type { AccountSummary } from './account';
import type { TokenKeeper } from './accounts';
import type { RefreshLease } from './refresh-lease';
import { AccountNotFoundError, GenerationConflictError } from './errors';
import type { TokenRefreshedDetail } from './events';
import { expiryAfter, type TokenStatus } from './lifecycle';
import { reauthorizeState } from './reauthorize';

export interface TokenState {
  accountId: string;
  tokenStatus: TokenStatus;
  expiresAt: string;
}

export type TokenRefreshedPublisher = (detail: TokenRefreshedDetail) => Promise<void>;

export interface TokenFlowDependencies {
  store: TokenKeeper & RefreshLease;
  instagram: InstagramClient;
  publishRefreshed: TokenRefreshedPublisher;
  now: () => Date;
  /** @default setTimeout: how a refresh that lost the lease waits for the winner */
  sleep?: (ms: number) => Promise<void>;
}

/** Who acts, as the `Instagram Token Refreshed` event names them, and how, for the log. */
export interface Actor {
  by: string;
  relation: string;
}

export const stateOf = (
  account: Pick<AccountSummary, 'accountId' | 'tokenStatus' | 'expiresAt'>,
): TokenState => ({
  accountId: account.accountId,
  tokenStatus: account.tokenStatus,
  expiresAt: account.expiresAt,
});

/** Instagram's authorize page, with a state that names the account (and binds who asked). */
export async function reauthorizeUrl(
  deps: TokenFlowDependencies,
  accountId: string,
  actor: Actor,
): Promise<string> {
  const { appSecret } = await deps.instagram.appCredentials();
  return deps.instagram.authorizeUrl(reauthorizeState(accountId, actor.by, appSecret));
}

/** Stores the new token as the next generation and announces it; a lost race is no error. */
export async function storeNewToken(
  deps: TokenFlowDependencies,
  replaced: { accountId: string; generation: number },
  token: { accessToken: string; expiresInSeconds: number },
  actor: Actor & { action: 'refresh' | 'reconnect' },
): Promise<TokenState> {
  const { accountId, generation } = replaced;
  const now = deps.now();
  let stored: AccountSummary;
  try {
    stored = await deps.store.replaceToken(
      accountId,
      generation,
      { accessToken: token.accessToken, expiresAt: expiryAfter(now, token.expiresInSeconds) },
      now,
      actor.by,
    );
  } catch (error) {
    if (!(error instanceof GenerationConflictError)) throw error;
    // Someone stored a newer token meanwhile: theirs stays, and it is the answer.
    logger.info('Token was replaced concurrently; keeping the newer generation', {
      accountId,
      generation,
      action: actor.action,
    });
    const current = await deps.store.getAccount(accountId);
    if (!current) throw new AccountNotFoundError(accountId);
    return stateOf(current);
  }
  logger.info('Token replaced', {
    accountId,
    generation: stored.generation,
    expiresAt: stored.expiresAt,
    action: actor.action,
    relation: actor.relation,
  });
  try {
    await deps.publishRefreshed({
      accountId,
      generation: stored.generation,
      expiresAt: stored.expiresAt,
      by: actor.by,
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
