/**
 * The widget service connects and disconnects accounts (the service API, the import). Connecting
 * follows the same rules as every other token write: a token other than the stored one is the
 * next generation and is watched from now on; the same token again changes nothing, so a repeat
 * (a retried call, an import run twice) writes nothing and leaves the generation where it was.
 *
 * The same token with another owner or username updates those two and keeps the generation: the
 * token, and so everything already announced or sent about it, is unchanged. Its expiry and
 * issue time as sent are then ignored: the stored ones are tokenwatch's own (it may have
 * refreshed the token itself), and a different expiry comes with a different token.
 */
import type { AccountConnection } from './account';
import type { AccountConnector, AccountEraser } from './account-connections';
import type { AccountReader, AccountWithToken, TokenKeeper } from './accounts';
import type { DeveloperRoleRepository } from './developer-roles';
import { AccountNotFoundError, GenerationConflictError } from './errors';
import type { TokenStatus } from './lifecycle';

export interface ConnectedAccount {
  accountId: string;
  generation: number;
  tokenStatus: TokenStatus;
  expiresAt: string;
}

/** How often a connect is tried again when a concurrent write moved the account on. */
const attempts = 5;

const answerOf = (account: ConnectedAccount): ConnectedAccount => ({
  accountId: account.accountId,
  generation: account.generation,
  tokenStatus: account.tokenStatus,
  expiresAt: account.expiresAt,
});

async function connectOnce(
  store: AccountConnector,
  accountId: string,
  input: AccountConnection,
  stored: AccountWithToken | undefined,
  now: Date,
): Promise<ConnectedAccount> {
  if (stored && stored.accessToken === input.accessToken) {
    if (stored.ownerUserId === input.ownerUserId && stored.username === input.username)
      return answerOf(stored);
    return answerOf(
      await store.updateAccountDetails(accountId, stored.generation, {
        ownerUserId: input.ownerUserId,
        username: input.username,
      }),
    );
  }
  const generation = (stored?.generation ?? 0) + 1;
  return answerOf(
    await store.storeConnectedToken(accountId, input, generation, stored?.generation, now),
  );
}

/**
 * Stores what the widget service says about an account (validated at the edge). A concurrent
 * write (a refresh, another connect) makes it read again and decide anew, so two connects of
 * the same token never make two generations.
 */
export async function connectAccount(
  store: AccountConnector,
  accountId: string,
  input: AccountConnection,
  now: Date,
): Promise<ConnectedAccount> {
  for (let attempt = 1; ; attempt += 1) {
    const stored = await store.getAccountWithToken(accountId);
    try {
      return await connectOnce(store, accountId, input, stored, now);
    } catch (error) {
      if (!(error instanceof GenerationConflictError) || attempt >= attempts) throw error;
    }
  }
}

/**
 * The account is no longer watched, and nothing about it is kept: its token item, developer
 * roles, send-once records and reconnect links (every item of its partition) are deleted.
 * Deleting an account that is not there does nothing.
 */
export async function disconnectAccount(store: AccountEraser, accountId: string): Promise<void> {
  await store.deleteAccountItems(accountId);
}

/**
 * Gives a user a developer role on an account that exists (else AccountNotFoundError). A
 * repeat writes the same role again, with its first `grantedAt` replaced: idempotent.
 */
export async function grantDeveloperRole(
  store: AccountReader & Pick<DeveloperRoleRepository, 'putDeveloperRole'>,
  accountId: string,
  userId: string,
  now: Date,
): Promise<void> {
  if (!(await store.getAccount(accountId))) throw new AccountNotFoundError(accountId);
  await store.putDeveloperRole({ accountId, userId }, now);
}

/** What the widget service reads back: the current token, the one answer that carries it. */
export interface CurrentToken extends ConnectedAccount {
  accessToken: string;
}

/** The account's current (possibly refreshed) token; AccountNotFoundError if there is none. */
export async function currentToken(
  store: Pick<TokenKeeper, 'getAccountWithToken'>,
  accountId: string,
): Promise<CurrentToken> {
  const account = await store.getAccountWithToken(accountId);
  if (!account) throw new AccountNotFoundError(accountId);
  return { ...answerOf(account), accessToken: account.accessToken };
}
