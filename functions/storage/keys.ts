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
  /** Where the records of every email about one token generation start. */
  notificationsOf: (accountId: string, generation: number) => ({
    pk: `IGACCOUNT#${accountId}`,
    skPrefix: `NOTIFIED#${generation}#`,
  }),
  /** Records written before occasions existed: `expired` emails, by the old key. */
  legacyNotification: (accountId: string, generation: number, userId: string) => ({
    pk: `IGACCOUNT#${accountId}`,
    sk: `NOTIFIED#${generation}#${userId}`,
  }),
  /** A reconnect link of an account: who made it, until when, and a hash of its secret. */
  reconnectLink: (accountId: string, linkId: string) => ({
    pk: `IGACCOUNT#${accountId}`,
    sk: `RECONNECT#${linkId}`,
  }),
  /** Where an account's reconnect links start, for listing them. */
  reconnectLinksOf: (accountId: string) => ({
    pk: `IGACCOUNT#${accountId}`,
    skPrefix: 'RECONNECT#',
  }),
  /**
   * A data deletion Meta asked for, by the SHA-256 of its confirmation code (hex): the record
   * for the status page, which names no account.
   */
  dataDeletion: (codeHash: string) => ({ pk: `DELETION#${codeHash}`, sk: 'REQUEST' }),
  /**
   * The counter of the fleet's pace of automatic refreshes: the next free slot (1/rate of a
   * second, counted from the epoch) in which a refresher may call Instagram.
   */
  refreshPace: () => ({ pk: 'PACE#instagram-refresh', sk: 'NEXT' }),
  /** The storm guard's state: whether a storm is on, since when, and how past ones ended. */
  stormState: () => ({ pk: 'STORM', sk: 'STATE' }),
  /** Trouble (tokens refused, refreshes failed) counted in one clock hour (`2026-11-30T17`). */
  stormTrouble: (hour: string) => ({ pk: 'STORM', sk: `TROUBLE#${hour}` }),
  /**
   * A recipient's digest window: while it is open, their notices wait for the digest at its end
   * instead of going at once.
   */
  digestWindow: (userId: string) => ({ pk: `USER#${userId}`, sk: 'DIGEST#WINDOW' }),
  /** Which digest flush is sending a recipient's notices now (a lease). */
  digestFlush: (userId: string) => ({ pk: `USER#${userId}`, sk: 'DIGEST#FLUSH' }),
  /**
   * What SES said about one address (people/suppression.ts), by the SHA-256 of the address
   * lowercased (hex), never the address: bounced or complained, and soft bounces counted.
   */
  emailAddress: (addressHash: string) => ({ pk: `SUPPRESSED#${addressHash}`, sk: 'ADDRESS' }),
  /** One SES feedback event already recorded for that address, so a duplicate counts once. */
  emailFeedback: (addressHash: string, feedbackId: string) => ({
    pk: `SUPPRESSED#${addressHash}`,
    sk: `FEEDBACK#${feedbackId}`,
  }),
};

/**
 * The due index's buckets of notices that wait (notifications/waiting-notices.ts): pending ones
 * by the day they are due and a shard, held ones by a shard. The check reads only token buckets
 * (`<day>#<shard>`), so it never sees these.
 */
export const noticeBuckets = {
  pending: (day: string, shard: number) => `NOTICE#${day}#${String(shard)}`,
  held: (shard: number) => `HELD#${String(shard)}`,
};

/** The sort-key prefix of every item that belongs to an account, for listing them. */
export const accountItemPrefixes = { developerRole: 'DEVELOPER#' } as const;

/** The partition of a user's own items (profile, preferences), for erasing them all. */
export const userPartition = (userId: string) => keys.profile(userId).pk;

/** The partition of what SES said about one address, for erasing it with its user. */
export const emailAddressPartition = (addressHash: string) => keys.emailAddress(addressHash).pk;

/** How long a recorded feedback event is remembered, to recognise SES sending it again. */
export const emailFeedbackRecordDays = 30;

/** The partition of an account's items (token, roles, records, links), for deleting them all. */
export const accountPartition = (accountId: string) => keys.account(accountId).pk;

/**
 * The member index's sort key says how a user is named by an item under an account: as its
 * owner, as a developer, as the recipient of a send-once record, or as the creator of a
 * reconnect link. The last two kinds (a
 * send-once record, a reconnect link the user made) are no membership (memberships.ts ignores
 * them): they are filed there so that erasing a user finds every item that holds their id with
 * one query, never a scan.
 */
export const memberRelationKey = {
  owner: (accountId: string) => `OWNER#${accountId}`,
  developer: (accountId: string) => `DEVELOPER#${accountId}`,
  notified: (accountId: string, generation: number, occasion: string) =>
    `NOTIFIED#${accountId}#${generation}#${occasion}`,
  /** A reconnect link, filed under its creator so that erasing them finds it (no membership). */
  reconnectLinkCreator: (accountId: string, linkId: string) => `RECONNECT#${accountId}#${linkId}`,
  isOwner: (value: string) => value.startsWith('OWNER#'),
  isDeveloper: (value: string) => value.startsWith('DEVELOPER#'),
  isMembership: (value: string) => value.startsWith('OWNER#') || value.startsWith('DEVELOPER#'),
};

/** How long a notification record is kept by default, in days. */
export const notificationRecordDays = 90;

/** How long the record of a data deletion request is kept, in days. */
export const dataDeletionRecordDays = 90;
