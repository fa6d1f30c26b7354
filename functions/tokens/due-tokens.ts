/**
 * The schedule of what falls due when: a sparse index that only watched tokens appear in, keyed
 * by the day they fall due (split into shards, so that a busy day is no hot partition). The
 * check reads the tokens due now bucket by bucket, so its cost follows the number of due tokens,
 * not the size of the table, and marks each one expired once announced.
 */
import { UpdateCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { dueIndex, dueShards } from '#storage/table';
import {
  daysLeftOfReason,
  defaultRemindAfterDays,
  defaultTokenSchedule,
  nextReminder,
  firstRefreshAt,
  nextAnnouncement,
  warningReason,
  type TokenSchedule,
} from './token-schedule';
import {
  defaultCause,
  tokenCause,
  DAY_MS,
  toInstant,
  type ExpiryReason,
  type InvalidCause,
  type TokenCause,
} from './lifecycle';

/** A token the check has to announce as lost: what the event carries, nothing more. */
export interface DueToken {
  accountId: string;
  generation: number;
  expiresAt: string;
  reason: ExpiryReason;
  cause: TokenCause;
}

/** A token not refreshed by one of its warning steps (`daysLeft` days before its expiry). */
export interface DueWarning {
  accountId: string;
  generation: number;
  expiresAt: string;
  daysLeft: number;
  /** the step it was filed for, when a later one has come too (a check that could not run) */
  filedDaysLeft?: number;
}

/** A token announced lost `daysSince` days ago (a reminder step), still lost at its generation. */
export interface DueReminder extends DueToken {
  daysSince: number;
  /** no reminder follows it */
  last: boolean;
  /** the step it was filed for, when a later one has come too (a check that could not run) */
  filedDaysSince?: number;
  /** when it was announced: the steps count from there */
  announcedAt: number;
}

/** What the check finds due: a token to announce as lost, a warning, or a reminder. */
export type DueEntry =
  | ({ kind: 'lost' } & DueToken)
  | ({ kind: 'warning' } & DueWarning)
  | ({ kind: 'reminder' } & DueReminder);
export const isLoss = (entry: DueEntry): entry is { kind: 'lost' } & DueToken =>
  entry.kind === 'lost';

/**
 * Why a filed token is due, as `dueReason` stores it: nothing for a token whose expiry comes,
 * `expiring-<days>` for a warning step, the cause for one Instagram refused. The cause lives in
 * `dueReason` rather than an attribute of its own because the index already projects
 * `dueReason`, and a GSI's projection cannot be changed in place (a deploy that tried would
 * fail). Versions before causes wrote `invalid`, which reads as its default cause.
 */
export const dueReasonOf = (cause: InvalidCause): string => cause;
export function lossOf(dueReason: unknown): { reason: ExpiryReason; cause: TokenCause } {
  if (dueReason === undefined || dueReason === 'expired')
    return { reason: 'expired', cause: 'expired' };
  const cause = tokenCause.safeParse(dueReason);
  return {
    reason: 'invalid',
    cause: cause.success && cause.data !== 'expired' ? cause.data : defaultCause('invalid'),
  };
}

/**
 * How a reminder step is written in `dueReason`: the step and the loss it reminds of, because
 * the index projects nothing else that could carry the cause.
 */
const reminderReasonPrefix = 'reminder-';
export const reminderReason = (
  daysSince: number,
  loss: { reason: ExpiryReason; cause: TokenCause },
) => `${reminderReasonPrefix}${daysSince}:${loss.reason === 'expired' ? 'expired' : loss.cause}`;
function reminderOf(dueReason: unknown) {
  const match = typeof dueReason === 'string' ? /^reminder-(\d+):(.+)$/.exec(dueReason) : null;
  return match ? { daysSince: Number(match[1]), ...lossOf(match[2]) } : undefined;
}

/** A due index entry, read: a warning or a reminder when `dueReason` names one, else a loss. */
export function entryOf(item: Record<string, unknown>): DueEntry {
  const token = {
    accountId: item.accountId as string,
    generation: item.generation as number,
    expiresAt: item.expiresAt as string,
  };
  const reminder = reminderOf(item.dueReason);
  if (reminder) {
    const announcedAt = Date.parse(item.dueAt as string) - reminder.daysSince * DAY_MS;
    // Whether it is the last is the schedule's to say (dueTokens fills it in).
    return { kind: 'reminder', ...token, ...reminder, announcedAt, last: false };
  }
  const daysLeft = daysLeftOfReason(item.dueReason);
  return daysLeft === undefined
    ? { kind: 'lost', ...token, ...lossOf(item.dueReason) }
    : { kind: 'warning', ...token, daysLeft };
}

const dayOf = (instant: string): string => instant.slice(0, 10);

function shardOf(accountId: string): number {
  let hash = 0;
  for (const char of accountId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % dueShards;
}

/**
 * A token is filed under the day it becomes due, but never under a day before it was written:
 * a token stored already expired is due today, so a check with a short look-back still sees it.
 */
function bucketOf(accountId: string, at: string, now: Date) {
  const instant = toInstant(at);
  const day = dayOf(instant < now.toISOString() ? now.toISOString() : instant);
  return { bucket: `${day}#${shardOf(accountId)}`, at: instant };
}

export function dueKeys(accountId: string, dueAt: string, now: Date) {
  const { bucket, at } = bucketOf(accountId, dueAt, now);
  return { dueBucket: bucket, dueAt: at };
}

/** The refresh index's keys: the same days and shards, in their own partitions. */
export function refreshKeys(accountId: string, refreshAt: string, now: Date) {
  const { bucket, at } = bucketOf(accountId, refreshAt, now);
  return { refreshBucket: bucket, refreshAt: at };
}

/** An account item's index attributes to set, and those to remove. */
export interface Filing {
  set: Record<string, string>;
  remove: string[];
}

/** Attributes of the schedule that only an active token carries. */
export const refreshAttributes = ['refreshBucket', 'refreshAt', 'refreshFailures'] as const;

/**
 * Where an active token is filed: its next announcement (warning or expiry) in the due index,
 * and its first refresh in the refresh index (none when Instagram could not refresh it in time).
 */
export function activeTokenFiling(
  accountId: string,
  token: { expiresAt: string; issuedAt: string },
  now: Date,
  schedule: TokenSchedule,
): Filing {
  const announcement = announcementFiling(accountId, token.expiresAt, now, schedule);
  // A token stored already past its expiry can only be reconnected: nothing to refresh.
  const refreshAt =
    Date.parse(token.expiresAt) > now.getTime() ? firstRefreshAt(token, schedule) : undefined;
  return refreshAt === undefined
    ? { set: announcement.set, remove: [...announcement.remove, ...refreshAttributes] }
    : {
        set: { ...announcement.set, ...refreshKeys(accountId, refreshAt, now) },
        remove: [...announcement.remove, 'refreshFailures'],
      };
}

/** The due index entry of an active token's next announcement, after `warnedDaysLeft`. */
export function announcementFiling(
  accountId: string,
  expiresAt: string,
  now: Date,
  schedule: TokenSchedule,
  warnedDaysLeft?: number,
): Filing {
  const next = nextAnnouncement(expiresAt, now, schedule, warnedDaysLeft);
  const keys = dueKeys(accountId, next.at, now);
  return next.step === 'warning'
    ? { set: { ...keys, dueReason: warningReason(next.daysLeft) }, remove: [] }
    : { set: keys, remove: ['dueReason'] };
}

/** A filing as the parts of an UpdateExpression, its values named `:filing<n>`. */
export function filingUpdate(filing: Filing) {
  const entries = Object.entries(filing.set);
  return {
    set: entries.map(([name], index) => `${name} = :filing${index}`),
    remove: filing.remove,
    values: Object.fromEntries(entries.map(([, value], index) => [`:filing${index}`, value])),
  };
}

/** Every bucket a check reads: each shard of each day from the look-back to today. */
export function dueBuckets(now: Date, lookbackDays: number): string[] {
  const buckets: string[] = [];
  for (let back = lookbackDays; back >= 0; back -= 1) {
    const day = dayOf(new Date(now.getTime() - back * DAY_MS).toISOString());
    for (let shard = 0; shard < dueShards; shard += 1) buckets.push(`${day}#${shard}`);
  }
  return buckets;
}

/**
 * The items of a bucketed index due by `now` (sort key at or before it), page by page: the read
 * that makes the check's and the refresh job's cost follow the work due, not the table.
 */
export async function* readBuckets(
  db: DynamoDBDocumentClient,
  tableName: string,
  index: { name: string; partitionKey: string; sortKey: string },
  buckets: readonly string[],
  now: Date,
): AsyncGenerator<Record<string, unknown>[]> {
  for (const bucket of buckets) {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.name,
          KeyConditionExpression: '#bucket = :bucket AND #at <= :now',
          ExpressionAttributeNames: { '#bucket': index.partitionKey, '#at': index.sortKey },
          ExpressionAttributeValues: { ':bucket': bucket, ':now': now.toISOString() },
          ExclusiveStartKey,
        }),
      );
      ExclusiveStartKey = page.LastEvaluatedKey;
      if (page.Items && page.Items.length > 0) yield page.Items;
    } while (ExclusiveStartKey);
  }
}

/** The check's port: what is due now, marking a loss announced, moving on after a warning. */
export interface DueTokenSchedule {
  dueTokens(now: Date, lookbackDays: number): AsyncGenerator<DueEntry[]>;
  /**
   * Marks a token announced as lost and files its first reminder (none: off the index), only if
   * it is still that generation and filed for its loss. False: someone got there first.
   */
  markTokenExpired(token: DueToken, now?: Date): Promise<boolean>;
  /** Files the token at its next reminder, or takes it off the index after the last. */
  markReminded(reminder: DueReminder, now: Date): Promise<boolean>;
  /**
   * Files the token at its next announcement after the warning, only if it is still that
   * generation, active, and filed for that warning. False: it moved on meanwhile.
   */
  markWarned(warning: DueWarning, now: Date): Promise<boolean>;
}

export function createDueTokenSchedule(
  db: DynamoDBDocumentClient,
  tableName: string,
  schedule: TokenSchedule = defaultTokenSchedule,
  /** reminder steps, days after the announcement, earliest first */
  remindAfterDays: readonly number[] = defaultRemindAfterDays,
): DueTokenSchedule {
  /**
   * A step read late stands for the latest step that has come since: a check that could not
   * run for days sends the 1-day warning, not the 7-day one and then the 1-day one; the 14-day
   * reminder, not the 7-day one first. It is still moved on from the step it was filed for.
   */
  function latestStep(entry: DueEntry, now: Date): DueEntry {
    if (entry.kind === 'warning') {
      const expiry = Date.parse(entry.expiresAt);
      const come = schedule.warnBeforeDays.filter(
        (days) => days <= entry.daysLeft && expiry - days * DAY_MS <= now.getTime(),
      );
      const daysLeft = Math.min(entry.daysLeft, ...come);
      return daysLeft === entry.daysLeft
        ? entry
        : { ...entry, daysLeft, filedDaysLeft: entry.daysLeft };
    }
    if (entry.kind === 'reminder') {
      const come = remindAfterDays.filter(
        (days) => days >= entry.daysSince && entry.announcedAt + days * DAY_MS <= now.getTime(),
      );
      const daysSince = Math.max(entry.daysSince, ...come);
      return {
        ...entry,
        daysSince,
        last: !remindAfterDays.some((days) => days > daysSince),
        ...(daysSince === entry.daysSince ? {} : { filedDaysSince: entry.daysSince }),
      };
    }
    return entry;
  }

  /** The due entry after the reminder `remindedDaysSince` (none: just announced). */
  function reminderFiling(
    token: DueToken,
    announcedAt: number,
    now: Date,
    remindedDaysSince?: number,
  ): Filing {
    const next = nextReminder(announcedAt, now, remindAfterDays, remindedDaysSince);
    if (!next) return { set: {}, remove: ['dueBucket', 'dueAt', 'dueReason'] };
    return {
      set: {
        ...dueKeys(token.accountId, next.at, now),
        dueReason: reminderReason(next.daysSince, token),
      },
      remove: [],
    };
  }

  return {
    /** The tokens due at `now`, page by page, read from the sparse index bucket by bucket. */
    async *dueTokens(now, lookbackDays) {
      for await (const items of readBuckets(
        db,
        tableName,
        dueIndex,
        dueBuckets(now, lookbackDays),
        now,
      )) {
        yield items.map(entryOf).map((entry) => latestStep(entry, now));
      }
    },

    /**
     * Marks a token expired (or invalid), with its cause, and takes it off the due index, only
     * if it is still
     * the generation the event was published for and still watched. False: someone got there
     * first (a refresh, or an earlier run of the check), which is not an error.
     */
    async markTokenExpired(token, now = new Date()) {
      const reminder = filingUpdate(reminderFiling(token, now.getTime(), now));
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(token.accountId),
            // A lost token is off the refresh schedule, and filed for its first reminder.
            UpdateExpression:
              `SET tokenStatus = :reason, #cause = :cause${reminder.set.map((part) => `, ${part}`).join('')} ` +
              `REMOVE ${[...reminder.remove, ...refreshAttributes].join(', ')}`,
            // Filed for its loss, not already for a reminder (which would mean it was marked).
            ConditionExpression:
              'generation = :generation AND attribute_exists(dueBucket) AND ' +
              '(attribute_not_exists(dueReason) OR NOT begins_with(dueReason, :reminder))',
            ExpressionAttributeNames: { '#cause': 'cause' },
            ExpressionAttributeValues: {
              ':reason': token.reason,
              ':cause': token.cause,
              ':generation': token.generation,
              ':reminder': reminderReasonPrefix,
              ...reminder.values,
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async markReminded(reminder, now) {
      const update = filingUpdate(
        reminderFiling(reminder, reminder.announcedAt, now, reminder.daysSince),
      );
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(reminder.accountId),
            UpdateExpression:
              (update.set.length > 0 ? `SET ${update.set.join(', ')} ` : '') +
              (update.remove.length > 0 ? `REMOVE ${update.remove.join(', ')}` : ''),
            ConditionExpression: 'generation = :generation AND dueReason = :step',
            ExpressionAttributeValues: {
              ...update.values,
              ':generation': reminder.generation,
              ':step': reminderReason(reminder.filedDaysSince ?? reminder.daysSince, reminder),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async markWarned(warning, now) {
      const update = filingUpdate(
        announcementFiling(warning.accountId, warning.expiresAt, now, schedule, warning.daysLeft),
      );
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.account(warning.accountId),
            UpdateExpression:
              `SET ${update.set.join(', ')}` +
              (update.remove.length > 0 ? ` REMOVE ${update.remove.join(', ')}` : ''),
            ConditionExpression:
              'generation = :generation AND tokenStatus = :active AND dueReason = :step',
            ExpressionAttributeValues: {
              ...update.values,
              ':generation': warning.generation,
              ':active': 'active',
              ':step': warningReason(warning.filedDaysLeft ?? warning.daysLeft),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
  };
}
