/**
 * Loads `{users, instagramAccounts, developerRoles, preferences}` (the items of DESIGN.md in
 * plain JSON) into the table, validated with the same schemas the rest of the code uses. The
 * whole document is checked before anything is written, so bad input changes nothing.
 */
import { z } from 'zod';
import {
  developerRole,
  instagramAccount,
  notificationPreferences,
  userId,
  userProfile,
} from '../functions/commons/schemas';
import type { TokenwatchStore } from '../functions/commons/store';

export const seedDocument = z.strictObject({
  users: z.array(userProfile).max(1000).default([]),
  instagramAccounts: z.array(instagramAccount).max(1000).default([]),
  developerRoles: z.array(developerRole).max(5000).default([]),
  preferences: z.array(notificationPreferences.extend({ userId }).strict()).max(1000).default([]),
});
export type SeedDocument = z.input<typeof seedDocument>;

export interface SeedSummary {
  users: number;
  instagramAccounts: number;
  developerRoles: number;
  preferences: number;
}

export async function loadSeed(
  store: TokenwatchStore,
  input: unknown,
  now: Date,
): Promise<SeedSummary> {
  const seed = seedDocument.parse(input);
  await Promise.all(seed.users.map((user) => store.putProfile(user)));
  await Promise.all(seed.instagramAccounts.map((account) => store.putAccount(account, now)));
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
