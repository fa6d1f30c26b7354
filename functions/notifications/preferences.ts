/**
 * The preferences catalogue: every notification setting a user has, once. The API's schema, the
 * unsubscribe links and pages, the settings page and the recipients rule all read it, so a new
 * setting is one entry here (and its label on the frontend's settings page is this label).
 */
import * as z from '#platform/validation';
import type { Audience, OccasionKind } from './occasions';

interface PreferenceEntry {
  /** what a user who never chose gets */
  readonly default: boolean;
  /** the setting's own words, as the settings page shows them */
  readonly label: string;
  /** whose emails it governs: an account's owner, or a developer on it */
  readonly audience: Audience;
  /** the occasions whose emails it turns on or off, for that audience */
  readonly governs: readonly OccasionKind[];
}

export const preferenceCatalogue = {
  ownerExpiredToken: {
    default: true,
    label: 'Expired token notifications for your Instagram accounts',
    audience: 'owner',
    // The warnings before an expiry and the reminders after it go to the same people as the
    // expiry itself (DESIGN.md): turning it off stops them all.
    governs: ['expired', 'expiring', 'reminder'],
  },
  developerExpiredToken: {
    default: false,
    label: 'Expired token notifications for the developer',
    audience: 'developer',
    governs: ['expired', 'expiring', 'reminder'],
  },
} as const satisfies Record<string, PreferenceEntry>;

export type PreferenceName = keyof typeof preferenceCatalogue;
export const preferenceNames = Object.keys(preferenceCatalogue) as PreferenceName[];
export const preferenceName = z.enum(preferenceNames as [PreferenceName, ...PreferenceName[]]);

/** Every setting, each a boolean, all required: the body of PUT /me/notification-preferences. */
export type NotificationPreferences = Record<PreferenceName, boolean>;
export const notificationPreferences = z.strictObject(
  Object.fromEntries(preferenceNames.map((name) => [name, z.boolean()])) as Record<
    PreferenceName,
    z.ZodMiniBoolean
  >,
);

export const defaultNotificationPreferences = Object.fromEntries(
  preferenceNames.map((name) => [name, preferenceCatalogue[name].default]),
) as NotificationPreferences;

export type StoredNotificationPreferences = NotificationPreferences & { updatedAt: string | null };

/** The setting that decides whether `audience` hears of an occasion of this kind. */
export function preferenceGoverning(kind: OccasionKind, audience: Audience): PreferenceName {
  const name = preferenceNames.find((candidate) => {
    const entry: PreferenceEntry = preferenceCatalogue[candidate];
    return entry.audience === audience && entry.governs.includes(kind);
  });
  if (!name) throw new Error(`No preference governs ${kind} emails to the ${audience}`);
  return name;
}
