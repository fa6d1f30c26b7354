/** User profiles: where to write to a user, and what to call them. */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { userProfile as userProfileSchema, type UserProfile } from './user';

export interface ProfileReader {
  /** The profiles of these users; a user without one is missing from the map. */
  getProfiles(userIds: readonly string[]): Promise<Map<string, UserProfile>>;
}

export interface ProfileRepository extends ProfileReader {
  putProfile(profile: UserProfile): Promise<void>;
  /** One user's profile, or undefined. */
  getProfile(userId: string): Promise<UserProfile | undefined>;
}

export function createProfileRepository(
  db: DynamoDBDocumentClient,
  tableName: string,
): ProfileRepository {
  return {
    async putProfile(profile) {
      const valid = userProfileSchema.parse(profile);
      await db.send(
        new PutCommand({ TableName: tableName, Item: { ...keys.profile(valid.userId), ...valid } }),
      );
    },

    async getProfile(userId) {
      const result = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: keys.profile(userId),
          ProjectionExpression: 'userId, email, #name',
          ExpressionAttributeNames: { '#name': 'name' },
        }),
      );
      return result.Item as UserProfile | undefined;
    },

    async getProfiles(userIds) {
      const unique = [...new Set(userIds)];
      const items = await batchGetAll(db, tableName, unique.map(keys.profile), [
        'userId',
        'email',
        'name',
      ]);
      return new Map(items.map((item) => [item.userId as string, item as unknown as UserProfile]));
    },
  };
}
