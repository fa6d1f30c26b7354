/**
 * When things happen to an active token, as the account item files them. An active token is
 * filed twice, in two sparse indexes, so that each job reads only its own work:
 *
 * - **announcements** (the due index, read by the check): the next warning step
 *   (`warnBeforeDays`, 7 and 1 days before its expiry), then its expiry;
 * - **refresh** (the refresh index, read by the refresh job): once fewer than
 *   `refreshBeforeDays` remain (and it is a day old, as Instagram requires), and again, with
 *   backoff, after a passing failure.
 *
 * A refresh that succeeds stores a new generation, filed afresh, so a refreshed token is never
 * warned about. The two filings are independent: a refresh job that stops never hides a warning
 * or an expiry.
 */
import { envInteger } from '#platform/config';
import { schema } from '#platform/schemas';
import * as z from '#platform/validation';
import { DAY_MS, minimumRefreshAgeMs, toInstant } from './lifecycle';

export interface TokenSchedule {
  /** Refresh once fewer than this many days remain. */
  readonly refreshBeforeDays: number;
  /** Warn this many days before the expiry of a token not refreshed by then, largest first. */
  readonly warnBeforeDays: readonly number[];
}

export const defaultTokenSchedule: TokenSchedule = {
  refreshBeforeDays: 14,
  warnBeforeDays: [7, 1],
};

/**
 * `7,1`: distinct whole days between 1 and `max`, in any order, stored largest first; empty for
 * none at all.
 */
const dayList = (max: number) =>
  z
    .pipe(
      z.string().check(z.regex(/^\s*(\d+(\s*,\s*\d+)*)?\s*$/, 'a comma-separated list of days')),
      z.transform((text) =>
        text.trim() === ''
          ? []
          : [...new Set(text.split(',').map((day) => Number(day.trim())))].sort((a, b) => b - a),
      ),
    )
    .check(
      z.refine(
        (days) => days.every((day) => day >= 1 && day <= max),
        `each day between 1 and ${max}`,
      ),
    );
const warnDays = /* @__PURE__ */ dayList(59);

/** The variables a function that files tokens reads, with the defaults above. */
export const tokenScheduleEnvironment = /* @__PURE__ */ schema(() => ({
  REFRESH_BEFORE_DAYS: envInteger(defaultTokenSchedule.refreshBeforeDays, { min: 2, max: 59 }),
  WARN_BEFORE_DAYS: z._default(warnDays, [...defaultTokenSchedule.warnBeforeDays]),
}));

/** Days after a token was announced lost that its people are reminded, while it stays lost. */
export const defaultRemindAfterDays: readonly number[] = [3, 7, 14, 28];

/** The variable the check reads for the reminders. */
export const reminderEnvironment = /* @__PURE__ */ schema(() => ({
  REMIND_AFTER_DAYS: z._default(dayList(365), [...defaultRemindAfterDays].reverse()),
}));

/** The reminder steps, earliest first. */
export const reminderStepsFrom = (env: { REMIND_AFTER_DAYS: readonly number[] }): number[] =>
  [...env.REMIND_AFTER_DAYS].sort((a, b) => a - b);

/**
 * The reminder to file for a token announced lost at `announcedAt`, after the reminder
 * `remindedDaysSince` (none yet: just announced): the next step, at its time; when several have
 * passed (a check that could not run), only the latest of them, now. None after the last step.
 */
export function nextReminder(
  announcedAt: number,
  now: Date,
  steps: readonly number[],
  remindedDaysSince?: number,
): { daysSince: number; at: string } | undefined {
  const ahead = steps
    .filter((days) => remindedDaysSince === undefined || days > remindedDaysSince)
    .map((daysSince) => ({ daysSince, at: announcedAt + daysSince * DAY_MS }));
  const passed = ahead.filter((step) => step.at <= now.getTime());
  const chosen = passed.length > 0 ? passed[passed.length - 1] : ahead[0];
  return chosen && { daysSince: chosen.daysSince, at: new Date(chosen.at).toISOString() };
}

export const tokenScheduleFrom = (env: {
  REFRESH_BEFORE_DAYS: number;
  WARN_BEFORE_DAYS: readonly number[];
}): TokenSchedule => ({
  refreshBeforeDays: env.REFRESH_BEFORE_DAYS,
  warnBeforeDays: env.WARN_BEFORE_DAYS,
});

/** The step a token's announcement entry waits for: a warning, or its expiry. */
export type Announcement =
  { step: 'warning'; daysLeft: number; at: string } | { step: 'expiry'; at: string };

/** How a warning step is written where the due index keeps it (`dueReason`). */
export const warningReason = (daysLeft: number) => `expiring-${daysLeft}`;
export function daysLeftOfReason(dueReason: unknown): number | undefined {
  const match = typeof dueReason === 'string' ? /^expiring-(\d+)$/.exec(dueReason) : null;
  return match ? Number(match[1]) : undefined;
}

/**
 * The announcement to file for an active token at `now`, after the warning `warnedDaysLeft`
 * (none yet: a new generation). A step whose time has passed is due now, but only the most
 * urgent of several passed ones: a token stored with 12 hours left gets the 1-day warning, not
 * the 7-day one first. Past its expiry, the expiry is due.
 */
export function nextAnnouncement(
  expiresAt: string,
  now: Date,
  schedule: TokenSchedule,
  warnedDaysLeft?: number,
): Announcement {
  const expiry = Date.parse(expiresAt);
  const expiryStep: Announcement = { step: 'expiry', at: toInstant(expiresAt) };
  if (expiry <= now.getTime()) return expiryStep;
  const steps = schedule.warnBeforeDays
    .filter((days) => warnedDaysLeft === undefined || days < warnedDaysLeft)
    .map((daysLeft) => ({ daysLeft, at: expiry - daysLeft * DAY_MS }));
  const passed = steps.filter((step) => step.at <= now.getTime());
  const chosen = passed.length > 0 ? passed[passed.length - 1] : steps[0];
  if (!chosen) return expiryStep;
  return { step: 'warning', daysLeft: chosen.daysLeft, at: new Date(chosen.at).toISOString() };
}

/**
 * When a token is first refreshed: `refreshBeforeDays` before its expiry, but not before it is
 * a day old; undefined when that is too late (Instagram refreshes no expired token).
 */
export function firstRefreshAt(
  token: { expiresAt: string; issuedAt: string },
  schedule: TokenSchedule,
): string | undefined {
  const expiry = Date.parse(token.expiresAt);
  const issued = Date.parse(token.issuedAt);
  const at = Math.max(
    expiry - schedule.refreshBeforeDays * DAY_MS,
    Number.isFinite(issued) ? issued + minimumRefreshAgeMs : -Infinity,
  );
  return at < expiry ? new Date(at).toISOString() : undefined;
}

/** Backoff after passing failures: 1, 2, 4, 8 hours, then every 12 hours. */
export const refreshRetryDelayMs = (failures: number): number =>
  Math.min(2 ** Math.max(0, failures - 1), 12) * 3_600_000;

/**
 * When to try again after `failures` passing failures in a row: after the backoff, but always
 * an hour before the expiry at the latest (a last try); undefined once even that has passed.
 */
export function refreshRetryAt(expiresAt: string, now: Date, failures: number): string | undefined {
  const lastTry = Date.parse(expiresAt) - 3_600_000;
  const at = Math.min(now.getTime() + refreshRetryDelayMs(failures), lastTry);
  return at > now.getTime() ? new Date(at).toISOString() : undefined;
}
