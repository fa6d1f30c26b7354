/**
 * Where each item of DESIGN.md's table lives: the only module that spells a key. The
 * repositories in people/, tokens/ and notifications/ build their items' keys from these.
 */
export const keys = {
  profile: (userId: string) => ({ pk: `USER#${userId}`, sk: 'PROFILE' }),
  preferences: (userId: string) => ({ pk: `USER#${userId}`, sk: 'PREFS#NOTIFICATIONS' }),
  account: (accountId: string) => ({ pk: `IGACCOUNT#${accountId}`, sk: 'TOKEN' }),
  developerRole: (accountId: string, userId: string) => ({
    pk: `IGACCOUNT#${accountId}`,
    sk: `DEVELOPER#${userId}`,
  }),
  /** The send-once record of one email: an occasion of a token generation, for one person. */
  notification: (accountId: string, generation: number, occasion: string, userId: string) => ({
    pk: `IGACCOUNT#${accountId}`,
    sk: `NOTIFIED#${generation}#${occasion}#${userId}`,
  }),
  /** Records written before occasions existed: `expired` emails, by the old key. */
  legacyNotification: (accountId: string, generation: number, userId: string) => ({
    pk: `IGACCOUNT#${accountId}`,
    sk: `NOTIFIED#${generation}#${userId}`,
  }),
};

/** The sort-key prefix of every item that belongs to an account, for listing them. */
export const accountItemPrefixes = { developerRole: 'DEVELOPER#' } as const;

/** The member index's sort key says how a user belongs to an account. */
export const memberRelationKey = {
  owner: (accountId: string) => `OWNER#${accountId}`,
  developer: (accountId: string) => `DEVELOPER#${accountId}`,
  isOwner: (value: string) => value.startsWith('OWNER#'),
};

/** How long a notification record is kept by default, in days. */
export const notificationRecordDays = 90;
