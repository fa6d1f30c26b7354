import { describe, expect, it } from 'vitest';
import {
  expiringOccasion,
  kindOf,
  kindOfTemplate,
  occasionOfRecord,
  reminderOccasion,
  templateName,
  templateNames,
} from '#notifications/occasions';
import {
  defaultNotificationPreferences,
  notificationPreferences,
  preferenceCatalogue,
  preferenceGoverning,
  preferenceName,
  preferenceNames,
} from '#notifications/preferences';
import { relationOf, strongerRelation } from '#tokens/access';

describe('the preferences catalogue', () => {
  it('defaults the owner on and the developer off, as DESIGN.md says', () => {
    expect(defaultNotificationPreferences).toEqual({
      ownerExpiredToken: true,
      developerExpiredToken: false,
    });
  });

  it('is what the API accepts: every setting, each a boolean, nothing else', () => {
    const all = Object.fromEntries(preferenceNames.map((name) => [name, true]));
    expect(notificationPreferences.safeParse(all).success).toBe(true);
    expect(notificationPreferences.safeParse({ ...all, extra: true }).success).toBe(false);
    for (const name of preferenceNames) {
      const rest = Object.fromEntries(Object.entries(all).filter(([other]) => other !== name));
      expect(notificationPreferences.safeParse(rest).success).toBe(false);
      expect(preferenceName.safeParse(name).success).toBe(true);
    }
    expect(preferenceName.safeParse('toString').success).toBe(false);
  });

  it('names the one setting that governs each audience of each occasion', () => {
    expect(preferenceGoverning('expired', 'owner')).toBe('ownerExpiredToken');
    expect(preferenceGoverning('expired', 'developer')).toBe('developerExpiredToken');
    // The warnings go to the same people, by the same settings, as the expiry itself.
    expect(preferenceGoverning('expiring', 'owner')).toBe('ownerExpiredToken');
    expect(preferenceGoverning('expiring', 'developer')).toBe('developerExpiredToken');
    // So do the reminders: turning the setting off stops them too.
    expect(preferenceGoverning('reminder', 'owner')).toBe('ownerExpiredToken');
    expect(preferenceGoverning('reminder', 'developer')).toBe('developerExpiredToken');
    for (const name of preferenceNames) expect(preferenceCatalogue[name].label).not.toBe('');
  });
});

describe('occasions', () => {
  it('read a ledger record without an occasion as the expired email', () => {
    expect(occasionOfRecord(undefined)).toBe('expired');
    expect(occasionOfRecord('expired')).toBe('expired');
  });

  it('name one template per kind and audience', () => {
    expect(templateNames).toEqual([
      'expired-owner',
      'expired-developer',
      'expiring-owner',
      'expiring-developer',
      'reminder-owner',
      'reminder-developer',
      // only the link's creator hears that a client used a reconnect link
      'reconnected-creator',
      // the notices of one window gathered in one email: no occasion of its own
      'digest-owner',
      'digest-developer',
    ]);
    expect(kindOfTemplate('digest-developer')).toBe('digest');
    expect(templateName('expired', 'developer')).toBe('expired-developer');
    expect(templateName('reconnected', 'creator')).toBe('reconnected-creator');
    expect(kindOfTemplate('reconnected-creator')).toBe('reconnected');
    expect(kindOf('reconnected')).toBe('reconnected');
    expect(templateName('expiring', 'owner')).toBe('expiring-owner');
    expect(kindOf('expired')).toBe('expired');
    expect(kindOfTemplate('expired-owner')).toBe('expired');
    expect(kindOfTemplate('expiring-developer')).toBe('expiring');
    expect(kindOfTemplate('reminder-owner')).toBe('reminder');
  });

  it('make each warning step an occasion of its own, read back as a warning', () => {
    expect(expiringOccasion(7)).toBe('expiring-7');
    expect(expiringOccasion(1)).toBe('expiring-1');
    expect(kindOf(expiringOccasion(7))).toBe('expiring');
    expect(occasionOfRecord('expiring-7')).toBe('expiring-7');
  });

  it('make each reminder step an occasion of its own, read back as a reminder; the 28-day one is the last', () => {
    expect([3, 7, 14, 28].map(reminderOccasion)).toEqual([
      'reminder-3',
      'reminder-7',
      'reminder-14',
      'reminder-28',
    ]);
    expect(kindOf(reminderOccasion(14))).toBe('reminder');
    expect(occasionOfRecord('reminder-3')).toBe('reminder-3');
  });
});

describe('access', () => {
  it('lets the owner and developers act, and nobody else; owning beats developing', () => {
    const account = { ownerUserId: 'o' };
    expect(relationOf(account, 'o', false)).toBe('owner');
    expect(relationOf(account, 'o', true)).toBe('owner');
    expect(relationOf(account, 'd', true)).toBe('developer');
    expect(relationOf(account, 's', false)).toBeUndefined();
    expect(strongerRelation(undefined, 'developer')).toBe('developer');
    expect(strongerRelation('developer', 'owner')).toBe('owner');
    expect(strongerRelation('owner', 'developer')).toBe('owner');
  });
});
