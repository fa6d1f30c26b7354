/**
 * Who hears of an occasion: each audience the occasion has (occasions.ts), each person in it
 * whose preference for it (preferences.ts) is on. The owner is the owner even when they also
 * hold a developer role (access.ts), so nobody gets the same email twice.
 */
import { relationOf } from '#tokens/access';
import { occasionKinds, type Audience, type OccasionKind } from './occasions';
import { preferenceGoverning, type NotificationPreferences } from './preferences';

export interface Recipient {
  userId: string;
  audience: Audience;
}

export function chooseRecipients(input: {
  kind: OccasionKind;
  ownerUserId: string;
  developerIds: readonly string[];
  preferencesOf: (userId: string) => NotificationPreferences;
}): Recipient[] {
  const audiences: readonly Audience[] = occasionKinds[input.kind].audiences;
  const account = { ownerUserId: input.ownerUserId };
  const people: Recipient[] = [
    { userId: input.ownerUserId, audience: 'owner' },
    ...[...new Set(input.developerIds)]
      .filter((userId) => relationOf(account, userId, true) === 'developer')
      .map((userId): Recipient => ({ userId, audience: 'developer' })),
  ];
  return people.filter(
    ({ userId, audience }) =>
      audiences.includes(audience) &&
      input.preferencesOf(userId)[preferenceGoverning(input.kind, audience)],
  );
}
