/**
 * Each user's notification preferences, one item per user. A user without one has the
 * catalogue's defaults, and so does every setting an item lacks (one added since it was
 * written, say).
 */
import {
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { batchGetAll, type Item } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import {
  defaultNotificationPreferences,
  preferenceNames,
  type NotificationPreferences,
  type PreferenceName,
  type StoredNotificationPreferences,
} from './preferences';

export interface PreferencesReader {
  /** Preferences of many users at once; a user without an item gets the defaults. */
  getPreferencesOf(userIds: readonly string[]): Promise<Map<string, StoredNotificationPreferences>>;
}

export interface PreferencesRepository extends PreferencesReader {
  getPreferences(userId: string): Promise<StoredNotificationPreferences>;
  putPreferences(
    userId: string,
    preferences: NotificationPreferences,
    now: Date,
  ): Promise<StoredNotificationPreferences>;
  /** Turns one preference off and leaves every other as it was (or at its default). */
  turnOffPreference(
    userId: string,
    name: PreferenceName,
    now: Date,
  ): Promise<StoredNotificationPreferences>;
}

/** A user's preferences from their item, the defaults where it lacks one (or there is none). */
export const storedPreferences = (item: Item | undefined): StoredNotificationPreferences => ({
  ...(Object.fromEntries(
    preferenceNames.map((name) => [
      name,
      (item?.[name] as boolean | undefined) ?? defaultNotificationPreferences[name],
    ]),
  ) as NotificationPreferences),
  updatedAt: (item?.updatedAt as string | undefined) ?? null,
});

export function createPreferencesRepository(
  db: DynamoDBDocumentClient,
  tableName: string,
): PreferencesRepository {
  return {
    async getPreferences(userId) {
      const result = await db.send(
        new GetCommand({ TableName: tableName, Key: keys.preferences(userId) }),
      );
      return storedPreferences(result.Item);
    },

    async getPreferencesOf(userIds) {
      const unique = [...new Set(userIds)];
      const items = await batchGetAll(db, tableName, unique.map(keys.preferences), [
        'pk',
        ...preferenceNames,
        'updatedAt',
      ]);
      const byPk = new Map(items.map((item) => [item.pk as string, item]));
      return new Map(
        unique.map((id) => [id, storedPreferences(byPk.get(keys.preferences(id).pk))]),
      );
    },

    async putPreferences(userId, preferences, now) {
      const stored = {
        ...(Object.fromEntries(
          preferenceNames.map((name) => [name, preferences[name]]),
        ) as NotificationPreferences),
        updatedAt: now.toISOString(),
      };
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...keys.preferences(userId), userId, ...stored },
        }),
      );
      return stored;
    },

    async turnOffPreference(userId, name, now) {
      // Every other setting is written at its default if the item lacks it, so that turning one
      // off never turns another (off by default) into "not chosen" later.
      const others = preferenceNames.filter((other) => other !== name);
      const result = await db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: keys.preferences(userId),
          UpdateExpression: [
            'SET #name = :off',
            ...others.map((_, i) => `#o${i} = if_not_exists(#o${i}, :d${i})`),
            'userId = :userId',
            'updatedAt = :now',
          ].join(', '),
          ExpressionAttributeNames: {
            '#name': name,
            ...Object.fromEntries(others.map((other, i) => [`#o${i}`, other])),
          },
          ExpressionAttributeValues: {
            ':off': false,
            ...Object.fromEntries(
              others.map((other, i) => [`:d${i}`, defaultNotificationPreferences[other]]),
            ),
            ':userId': userId,
            ':now': now.toISOString(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return storedPreferences(result.Attributes);
    },
  };
}
