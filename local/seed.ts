/**
 * Loads `{users, instagramAccounts, developerRoles, preferences}` (the items of DESIGN.md in
 * plain JSON) into the table, validated with the same schemas the rest of the code uses. The
 * whole document is checked before anything is written, so bad input changes nothing.
 */
import { developerRole } from '../functions/tokens/account';
import { notificationPreferences } from '../functions/notifications/preferences';
import { userId, userProfile } from '../functions/people/user';
import { type TableStore as TokenwatchStore } from './table-store';
import { seededAccount } from './seeded-account';
import type { InstagramStandIn } from './standins/instagram';
import * as z from '../functions/platform/validation';

/** Left out, a list is empty; past `max` items the document is refused, not truncated. */
const listOf = <Item extends z.ZodMiniType>(item: Item, max: number) =>
  z._default(z.array(item).check(z.maxLength(max)), []);

export const seedDocument = z.strictObject({
  users: listOf(userProfile, 1000),
  instagramAccounts: listOf(seededAccount, 1000),
  developerRoles: listOf(developerRole, 5000),
  preferences: listOf(z.strictObject({ ...notificationPreferences.shape, userId }), 1000),
});
export type SeedDocument = z.input<typeof seedDocument>;

export interface SeedSummary {
  users: number;
  instagramAccounts: number;
  developerRoles: number;
  preferences: number;
}

/**
 * Validates the whole document, then writes it. Given the Instagram stand-in, each seeded token
 * becomes known to it too (for that account's Instagram user, until its expiry), so it refreshes,
 * or is refused once expired, as Instagram would treat it.
 */
export async function loadSeed(
  store: TokenwatchStore,
  input: unknown,
  now: Date,
  instagram?: Pick<InstagramStandIn, 'addToken'>,
): Promise<SeedSummary> {
  const seed = seedDocument.parse(input);
  await Promise.all(seed.users.map((user) => store.putProfile(user)));
  await Promise.all(seed.instagramAccounts.map((account) => store.putAccount(account, now)));
  for (const account of seed.instagramAccounts) {
    instagram?.addToken(account.accessToken, {
      userId: account.accountId,
      expiresAt: account.expiresAt,
    });
  }
  await Promise.all(seed.developerRoles.map((role) => store.putDeveloperRole(role, now)));
  await Promise.all(
    seed.preferences.map(({ userId: id, ...preferences }) =>
      store.putPreferences(id, preferences, now),
    ),
  );
  return {
    users: seed.users.length,
    instagramAccounts: seed.instagramAccounts.length,
    developerRoles: seed.developerRoles.length,
    preferences: seed.preferences.length,
  };
}
