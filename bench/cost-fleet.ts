/**
 * The simulated fleet of the cost benchmark, from a seed: who owns and develops for which
 * account, who opted in, when each token expires, and the month's events (which tokens Instagram
 * will refuse, who reconnects when, the storm). The items are the store's own (bench/data.ts).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { itemsWrittenBy, writeItems, type Item } from './data';
import { seededRandom } from './stats';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const MINUTE = 60_000;

export type Rejection = 'password-changed' | 'app-removed' | 'checkpoint';

export interface FleetAccount {
  accountId: string;
  ownerId: string;
  accessToken: string;
  expiresAt: number;
  /** Instagram refuses its refresh (the month's invalidations) */
  rejection?: Rejection;
  /** the widget service connects a new token this long after the token was lost */
  reconnectAfterMs?: number;
  /** removed by Meta in the storm */
  inStorm: boolean;
  developers: string[];
}

export interface Fleet {
  accounts: FleetAccount[];
  users: number;
  developerRoles: number;
  agencies: number;
  /** when the storm's burst of deauthorize callbacks starts, and when it is released */
  stormAt: number;
  releaseAt: number;
}

/** The mix, as shares of the accounts; README.md (bench) explains each. */
export const mix = {
  /** refused by Instagram at their refresh this month */
  rejected: 0.03,
  /** of the lost tokens, those the widget service reconnects within 1–10 days */
  reconnect: 0.5,
  /** accounts with one freelance developer (on 1–3 accounts), half of whom opted in */
  freelance: 0.1,
  /** an agency of 2 opted-in developers on 40 clients, per 1,000 accounts */
  agencyPerThousand: 1,
  agencyClients: 40,
  /** owners who turned their own emails off */
  ownerOptOut: 0.03,
  /** accounts whose app Meta removes in the storm, within 30 minutes */
  storm: 0.12,
  /** of the storm's tokens, those reconnected within 1–5 days of its release */
  stormReconnect: 0.8,
};

export function planFleet(seed: number, total: number, start: number): Fleet {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const accounts: FleetAccount[] = [];
  for (let index = 0; index < total; index += 1) {
    const accountId = `c${index.toString(36).padStart(6, '0')}`;
    // Refreshes fall evenly over the 46 days a refreshed token waits for its next one.
    const expiresAt = start + 14 * DAY + Math.floor(random() * 46 * DAY);
    const dueThisMonth = expiresAt - 14 * DAY < start + 28 * DAY;
    const rejected = dueThisMonth && random() < mix.rejected / (28 / 46);
    accounts.push({
      accountId,
      // About one owner in ten has two accounts.
      ownerId: `o${Math.floor(index * 0.9).toString(36)}`,
      accessToken: `IGQ${accountId}${Math.floor(random() * 1e12).toString(36)}`,
      expiresAt,
      rejection: rejected
        ? pick(['password-changed', 'app-removed', 'checkpoint'] as const)
        : undefined,
      reconnectAfterMs:
        rejected && random() < mix.reconnect ? DAY + Math.floor(random() * 9 * DAY) : undefined,
      inStorm: false,
      developers: [],
    });
  }
  const agencies = Math.max(2, Math.round((total / 1000) * mix.agencyPerThousand));
  for (let agency = 0; agency < agencies; agency += 1) {
    const team = [`a${agency}-1`, `a${agency}-2`];
    for (let client = 0; client < mix.agencyClients; client += 1) {
      const account = pick(accounts);
      for (const developer of team)
        if (!account.developers.includes(developer)) account.developers.push(developer);
    }
  }
  let freelancer = 0;
  for (const account of accounts) {
    if (random() >= mix.freelance / 2) continue;
    // Each freelancer takes 1–3 accounts: about 2, so half as many freelancers as their accounts.
    const id = `f${(freelancer += 1).toString(36)}`;
    for (let more = Math.floor(random() * 3); more >= 0; more -= 1) {
      const other = more === 0 ? account : pick(accounts);
      if (!other.developers.includes(id)) other.developers.push(id);
    }
  }
  const stormAt = start + 2 * DAY + 10 * HOUR;
  for (const account of accounts) {
    if (account.rejection || random() >= mix.storm) continue;
    account.inStorm = true;
    if (random() < mix.stormReconnect)
      account.reconnectAfterMs = DAY + Math.floor(random() * 4 * DAY);
  }
  const users = new Set(accounts.flatMap((a) => [a.ownerId, ...a.developers]));
  return {
    accounts,
    users: users.size,
    developerRoles: accounts.reduce((sum, a) => sum + a.developers.length, 0),
    agencies,
    stormAt,
    releaseAt: stormAt + 6 * HOUR,
  };
}

/** Writes the fleet as the store writes it: profiles, preferences, accounts, developer roles. */
export async function loadFleet(
  db: DynamoDBDocumentClient,
  tableName: string,
  fleet: Fleet,
  seed: number,
  start: number,
): Promise<number> {
  const random = seededRandom(seed + 1);
  const at = new Date(start);
  const items: Item[] = await itemsWrittenBy(async (store) => {
    const seen = new Set<string>();
    for (const account of fleet.accounts) {
      for (const userId of [account.ownerId, ...account.developers]) {
        if (seen.has(userId)) continue;
        seen.add(userId);
        await store.putProfile({ userId, email: `${userId}@example.com`, name: userId });
        const developer = !userId.startsWith('o');
        // Agencies opted in: they are why the setting exists; half the freelancers did.
        const optedIn = userId.startsWith('a') || (userId.startsWith('f') && random() < 0.5);
        const ownerOff = !developer && random() < mix.ownerOptOut;
        if (optedIn || ownerOff)
          await store.putPreferences(
            userId,
            { ownerExpiredToken: !ownerOff, developerExpiredToken: optedIn },
            at,
          );
      }
      await store.putAccount(
        {
          accountId: account.accountId,
          ownerUserId: account.ownerId,
          username: `ig.${account.accountId}`,
          accessToken: account.accessToken,
          expiresAt: new Date(account.expiresAt).toISOString(),
          issuedAt: new Date(account.expiresAt - 60 * DAY).toISOString(),
          tokenStatus: 'active',
          generation: 1,
        },
        new Date(account.expiresAt - 60 * DAY),
      );
      for (const userId of account.developers)
        await store.putDeveloperRole({ accountId: account.accountId, userId }, at);
    }
  });
  await writeItems(db, tableName, items);
  return items.length;
}
