/**
 * What `npm start` loads: a small agency and its clients, chosen so that the first check
 * already sends both kinds of email and every rule of who-gets-notified shows up once.
 */
import { upsertUser } from '../functions/people/users';
import { connectAccount, grantDeveloperRole } from '../functions/tokens/connect';
import { seedDocument, type SeedDocument, type SeedSummary } from './seed';
import type { TableStore } from './table-store';

const days = (n: number, now: Date) => new Date(now.getTime() + n * 86_400_000).toISOString();

export const demoUsers = {
  bakery: 'user-bakery',
  florist: 'user-florist',
  gym: 'user-gym',
  agency: 'user-agency-dev',
  freelancer: 'user-freelancer-dev',
} as const;

export function demoData(now: Date): SeedDocument {
  return {
    users: [
      { userId: demoUsers.bakery, email: 'owner@sunrise-bakery.example', name: 'Sunrise Bakery' },
      { userId: demoUsers.florist, email: 'hello@petal-florist.example', name: 'Petal Florist' },
      { userId: demoUsers.gym, email: 'team@ironhouse-gym.example', name: 'Ironhouse Gym' },
      {
        userId: demoUsers.agency,
        email: 'dev@pixel-agency.example',
        name: 'Pixel Agency (developer)',
      },
      {
        userId: demoUsers.freelancer,
        email: 'sam@freelance.example',
        name: 'Sam (freelance developer)',
      },
    ],
    instagramAccounts: [
      // Expired a day ago: the owner and the opted-in agency developer are told at start.
      {
        accountId: '17841400000000001',
        ownerUserId: demoUsers.bakery,
        username: 'sunrise.bakery',
        accessToken: 'IGQ-demo-bakery-token',
        expiresAt: days(-1, now),
      },
      // Expired, but the owner opted out and the developer (Sam) never opted in: no email.
      {
        accountId: '17841400000000002',
        ownerUserId: demoUsers.florist,
        username: 'petal.florist',
        accessToken: 'IGQ-demo-florist-token',
        expiresAt: days(-2, now),
      },
      // Healthy for another 40 days: nothing to do, and Refresh token works on it.
      {
        accountId: '17841400000000003',
        ownerUserId: demoUsers.gym,
        username: 'ironhouse.gym',
        accessToken: 'IGQ-demo-gym-token',
        expiresAt: days(40, now),
      },
    ],
    developerRoles: [
      { accountId: '17841400000000001', userId: demoUsers.agency },
      { accountId: '17841400000000003', userId: demoUsers.agency },
      { accountId: '17841400000000002', userId: demoUsers.freelancer },
    ],
    preferences: [
      { userId: demoUsers.agency, ownerExpiredToken: true, developerExpiredToken: true },
      { userId: demoUsers.florist, ownerExpiredToken: false, developerExpiredToken: false },
    ],
  };
}

/**
 * Loads the demo as the widget service would feed it: through the service API's own operations
 * (users, accounts with their tokens, developer roles) and the preferences a user would save,
 * so `npm start` exercises the same rules as a deployed stack (generations, due filing).
 */
export async function loadDemo(store: TableStore, now: Date): Promise<SeedSummary> {
  const {
    users,
    instagramAccounts: accounts,
    developerRoles: roles,
    preferences,
  } = seedDocument.parse(demoData(now));
  for (const { userId, ...user } of users) await upsertUser(store, userId, user);
  for (const { accountId, ...account } of accounts) {
    await connectAccount(store, accountId, account, now);
  }
  for (const role of roles) await grantDeveloperRole(store, role.accountId, role.userId, now);
  for (const { userId, ...chosen } of preferences) {
    await store.putPreferences(userId, chosen, now);
  }
  return {
    users: users.length,
    instagramAccounts: accounts.length,
    developerRoles: roles.length,
    preferences: preferences.length,
  };
}
