/**
 * Who may act on an account: its owner, and every user holding a developer role on it. To anyone
 * else the account does not exist (404, the same as for an account that does not), so a stranger
 * cannot even learn that an id is taken. Owning beats developing: an owner who also holds a
 * developer role is the owner, everywhere (the accounts list, the emails).
 *
 * The token flows themselves take an account someone already has access to; the handlers ask
 * here first. Later callers without a user (automatic refresh, a reconnect link's holder) have
 * their own ways in.
 */
import type { AccountSummary } from './account';
import type { AccountReader } from './accounts';
import type { DeveloperRoleReader } from './developer-roles';
import { AccountNotFoundError } from './errors';

export type Relation = 'owner' | 'developer';

/** The rule itself: how a user relates to an account, given whether they hold a role on it. */
export function relationOf(
  account: Pick<AccountSummary, 'ownerUserId'>,
  userId: string,
  holdsDeveloperRole: boolean,
): Relation | undefined {
  if (account.ownerUserId === userId) return 'owner';
  return holdsDeveloperRole ? 'developer' : undefined;
}

/** Of two ways one user belongs to an account, the one that counts. */
export const strongerRelation = (a: Relation | undefined, b: Relation): Relation =>
  a === 'owner' || b === 'owner' ? 'owner' : 'developer';

export interface Access {
  account: AccountSummary;
  relation: Relation;
}

export type AccessReader = AccountReader & Pick<DeveloperRoleReader, 'hasDeveloperRole'>;

/** The account and how `userId` relates to it; AccountNotFoundError when not at all. */
export async function requireAccess(
  store: AccessReader,
  accountId: string,
  userId: string,
): Promise<Access> {
  const [account, holdsRole] = await Promise.all([
    store.getAccount(accountId),
    store.hasDeveloperRole(accountId, userId),
  ]);
  const relation = account && relationOf(account, userId, holdsRole);
  if (!account || !relation) throw new AccountNotFoundError(accountId);
  return { account, relation };
}
