/**
 * How the emails write instants, time left and days: written out rather than asked of Intl, in
 * one fixed format and language (see formatInstant).
 */
const months = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const twoDigits = (value: number) => String(value).padStart(2, '0');

/**
 * "25 November 2026 at 12:00 UTC", as en-GB writes it. Written out rather than asked of
 * Intl.DateTimeFormat, whose first construction loads ICU data: about 10 ms of every notifier
 * cold start, for one fixed format in one language.
 */
export function formatInstant(iso: string): string {
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) throw new RangeError(`Not an instant: ${iso}`);
  return (
    `${instant.getUTCDate()} ${months[instant.getUTCMonth()] ?? ''} ${instant.getUTCFullYear()} ` +
    `at ${twoDigits(instant.getUTCHours())}:${twoDigits(instant.getUTCMinutes())} UTC`
  );
}

const HOUR_MS = 3_600_000;
const utcDay = (instant: number) => Math.floor(instant / (24 * HOUR_MS));

/**
 * How long is left from `now` until `expiresAt`, as a warning says it: "in 6 days",
 * "tomorrow", "in 20 hours", "in less than an hour". Never more than is left (whole days and
 * hours, rounded down), and never at odds with the date written beside it: "tomorrow" only
 * when the expiry falls on the next day in UTC, the time zone the date is written in. Nothing
 * past the expiry is sent (the warning is stale by then), so that is "in less than an hour".
 */
export function formatTimeLeft(expiresAt: string, now: string): string {
  const expiry = Date.parse(expiresAt);
  const from = Date.parse(now);
  if (!Number.isFinite(expiry) || !Number.isFinite(from)) {
    throw new RangeError(`Not an instant: ${Number.isFinite(expiry) ? now : expiresAt}`);
  }
  const hours = Math.floor((expiry - from) / HOUR_MS);
  if (hours < 1) return 'in less than an hour';
  if (hours < 24) return hours === 1 ? 'in 1 hour' : `in ${hours} hours`;
  if (hours < 48) return utcDay(expiry) === utcDay(from) + 1 ? 'tomorrow' : `in ${hours} hours`;
  return `in ${Math.floor(hours / 24)} days`;
}

/** Whole days, as a reminder says how long a token has been lost: "1 day", "7 days". */
export const formatDays = (days: number): string => (days === 1 ? '1 day' : `${days} days`);
