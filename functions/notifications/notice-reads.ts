/**
 * What the notifier reads for one announcement, in as few requests as the table allows: the
 * account, its developers and the records of the emails already sent about this token generation
 * live in the account's one partition (one query); the preferences and profiles of its people in
 * one batch read; their addresses' standing with SES and the storm's state in another, the last
 * before anyone is sent anything. Every read is consistent, as each separate read was.
 *
 * Each item is parsed by the module that owns it (accounts.ts, ledger.ts, preferences-store.ts,
 * profiles.ts, suppression-store.ts, storm-store.ts): this one only decides what goes in which
 * request.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, queryAll, type Item } from '#platform/dynamodb';
import { accountItemPrefixes, keys } from '#storage/keys';
import type { UserProfile } from '#people/user';
import { addressHash, type EmailStatus } from '#people/suppression';
import { statusOf } from '#people/suppression-store';
import { stormStateOf, type StormState } from '#storm/storm-store';
import type { AccountSummary } from '#tokens/account';
import { summaryOf } from '#tokens/accounts';
import { earlierRecordsOf, type EarlierRecords } from './ledger';
import type { Occasion } from './occasions';
import type { StoredNotificationPreferences } from './preferences';
import { storedPreferences } from './preferences-store';

export interface NoticeAccount {
  /** none: the account is gone */
  account?: AccountSummary;
  developerIds: string[];
  /** who has this email already, or waits for it in a digest (ledger.ts `earlierRecordsOf`) */
  earlier: EarlierRecords;
}

export interface NoticeReads {
  /** The account, its developers and this email's earlier records: one query. */
  readNoticeAccount(
    email: { accountId: string; generation: number; occasion: Occasion },
    lease: { now: Date; leaseSeconds: number },
  ): Promise<NoticeAccount>;
  /** These people's preferences (defaults where none) and profiles (missing: none): one read. */
  readPeople(userIds: readonly string[]): Promise<{
    preferences: Map<string, StoredNotificationPreferences>;
    profiles: Map<string, UserProfile>;
  }>;
  /**
   * The status of each address, keyed by the address as given, and the storm's state when
   * `withStorm` (the notice gate's): one read.
   */
  readAddresses(
    addresses: readonly string[],
    withStorm: boolean,
  ): Promise<{ statuses: Map<string, EmailStatus>; storm?: StormState }>;
}

async function readNoticeAccount(
  db: DynamoDBDocumentClient,
  tableName: string,
  email: { accountId: string; generation: number; occasion: Occasion },
  lease: { now: Date; leaseSeconds: number },
): Promise<NoticeAccount> {
  // The whole partition: the token, the roles and the records sort around the few other items
  // an account has (its reconnect links), so one query costs what three would, in one request.
  const items = await queryAll(db, {
    TableName: tableName,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.account(email.accountId).pk },
    ConsistentRead: true,
  });
  const accountSk = keys.account(email.accountId).sk;
  const records = keys.notificationsOf(email.accountId, email.generation).skPrefix;
  const sk = (item: Item) => item.sk as string;
  const account = items.find((item) => sk(item) === accountSk);
  return {
    ...(account ? { account: summaryOf(account) } : {}),
    developerIds: items
      .filter((item) => sk(item).startsWith(accountItemPrefixes.developerRole))
      .map((item) => item.userId as string),
    earlier: earlierRecordsOf(
      items.filter((item) => sk(item).startsWith(records)),
      email,
      lease,
    ),
  };
}

async function readPeople(
  db: DynamoDBDocumentClient,
  tableName: string,
  userIds: readonly string[],
) {
  const unique = [...new Set(userIds)];
  const items = await batchGetAll(
    db,
    tableName,
    unique.flatMap((userId) => [keys.preferences(userId), keys.profile(userId)]),
    [],
    { consistent: true },
  );
  const byKey = new Map(items.map((item) => [`${item.pk as string}|${item.sk as string}`, item]));
  const itemAt = (key: { pk: string; sk: string }) => byKey.get(`${key.pk}|${key.sk}`);
  const preferences = new Map<string, StoredNotificationPreferences>();
  const profiles = new Map<string, UserProfile>();
  for (const userId of unique) {
    preferences.set(userId, storedPreferences(itemAt(keys.preferences(userId))));
    const profile = itemAt(keys.profile(userId));
    if (profile) {
      profiles.set(userId, {
        userId,
        email: profile.email as string,
        name: profile.name as string,
      });
    }
  }
  return { preferences, profiles };
}

async function readAddresses(
  db: DynamoDBDocumentClient,
  tableName: string,
  addresses: readonly string[],
  withStorm: boolean,
) {
  const hashes = new Map(addresses.map((address) => [address, addressHash(address)]));
  const wanted = [...new Set(hashes.values())].map(keys.emailAddress);
  if (withStorm) wanted.push(keys.stormState());
  const items =
    wanted.length > 0 ? await batchGetAll(db, tableName, wanted, [], { consistent: true }) : [];
  const byPk = new Map(items.map((item) => [item.pk as string, item]));
  return {
    statuses: new Map(
      [...hashes].map(([address, hash]) => [
        address,
        statusOf(byPk.get(keys.emailAddress(hash).pk)),
      ]),
    ),
    ...(withStorm ? { storm: stormStateOf(byPk.get(keys.stormState().pk)) } : {}),
  };
}

export function createNoticeReads(db: DynamoDBDocumentClient, tableName: string): NoticeReads {
  return {
    readNoticeAccount: (email, lease) => readNoticeAccount(db, tableName, email, lease),
    readPeople: (userIds) => readPeople(db, tableName, userIds),
    readAddresses: (addresses, withStorm) => readAddresses(db, tableName, addresses, withStorm),
  };
}
