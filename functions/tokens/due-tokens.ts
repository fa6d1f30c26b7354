/**
 * The schedule of what falls due when: a sparse index that only watched tokens appear in, keyed
 * by the day they fall due (split into shards, so that a busy day is no hot partition). The
 * check reads the tokens due now bucket by bucket, so its cost follows the number of due tokens,
 * not the size of the table, and marks each one expired once announced.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { updateIf } from '#platform/dynamodb';
import { keys } from '#storage/keys';
import { dueIndex } from '#storage/table';
import {
  announcementFiling,
  dueBuckets,
  dueKeys,
  filingExpression,
  filingUpdate,
  readBuckets,
  refreshAttributes,
  type Filing,
} from './filing';
import {
  daysLeftOfReason,
  defaultRemindAfterDays,
  defaultTokenSchedule,
  nextReminder,
  warningReason,
  type TokenSchedule,
} from './token-schedule';
import {
  defaultCause,
  tokenCause,
  DAY_MS,
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

/**
 * A step read late stands for the latest step that has come since: a check that could not
 * run for days sends the 1-day warning, not the 7-day one and then the 1-day one; the 14-day
 * reminder, not the 7-day one first. It is still moved on from the step it was filed for.
 */
function latestStep(
  entry: DueEntry,
  now: Date,
  schedule: TokenSchedule,
  remindAfterDays: readonly number[],
): DueEntry {
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
  remindAfterDays: readonly number[],
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

export function createDueTokenSchedule(
  db: DynamoDBDocumentClient,
  tableName: string,
  schedule: TokenSchedule = defaultTokenSchedule,
  /** reminder steps, days after the announcement, earliest first */
  remindAfterDays: readonly number[] = defaultRemindAfterDays,
): DueTokenSchedule {
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
        yield items.map(entryOf).map((entry) => latestStep(entry, now, schedule, remindAfterDays));
      }
    },

    /**
     * Marks a token expired (or invalid), with its cause, and takes it off the due index, only
     * if it is still
     * the generation the event was published for and still watched. False: someone got there
     * first (a refresh, or an earlier run of the check), which is not an error.
     */
    markTokenExpired(token, now = new Date()) {
      const reminder = filingUpdate(reminderFiling(remindAfterDays, token, now.getTime(), now));
      return updateIf(db, {
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
      });
    },

    markReminded(reminder, now) {
      const update = filingUpdate(
        reminderFiling(remindAfterDays, reminder, reminder.announcedAt, now, reminder.daysSince),
      );
      return updateIf(db, {
        TableName: tableName,
        Key: keys.account(reminder.accountId),
        UpdateExpression: filingExpression(update),
        ConditionExpression: 'generation = :generation AND dueReason = :step',
        ExpressionAttributeValues: {
          ...update.values,
          ':generation': reminder.generation,
          ':step': reminderReason(reminder.filedDaysSince ?? reminder.daysSince, reminder),
        },
      });
    },

    markWarned(warning, now) {
      const update = filingUpdate(
        announcementFiling(warning.accountId, warning.expiresAt, now, schedule, warning.daysLeft),
      );
      return updateIf(db, {
        TableName: tableName,
        Key: keys.account(warning.accountId),
        UpdateExpression: filingExpression(update),
        ConditionExpression:
          'generation = :generation AND tokenStatus = :active AND dueReason = :step',
        ExpressionAttributeValues: {
          ...update.values,
          ':generation': warning.generation,
          ':active': 'active',
          ':step': warningReason(warning.filedDaysLeft ?? warning.daysLeft),
        },
      });
    },
  };
}
