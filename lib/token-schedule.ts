/**
 * When stored tokens are refreshed and warned about, as every function that files a token is
 * told: REFRESH_BEFORE_DAYS and WARN_BEFORE_DAYS (functions/tokens/token-schedule.ts reads them).
 * The check, the refresher and the routes that store tokens must agree, so they all get the
 * variables from here.
 */
import { defaultTokenSchedule, type TokenSchedule } from '../functions/tokens/token-schedule';

/**
 * The two variables for `schedule`, checked as the handlers check them at cold start (better to
 * fail the synth than every function).
 */
export function tokenScheduleVariables(schedule: TokenSchedule = defaultTokenSchedule): {
  REFRESH_BEFORE_DAYS: string;
  WARN_BEFORE_DAYS: string;
} {
  const { refreshBeforeDays, warnBeforeDays } = schedule;
  if (!Number.isInteger(refreshBeforeDays) || refreshBeforeDays < 2 || refreshBeforeDays > 59) {
    throw new Error(
      `refreshBeforeDays: ${refreshBeforeDays} is not a whole number of days from 2 to 59`,
    );
  }
  if (warnBeforeDays.length === 0) throw new Error('warnBeforeDays: no day given');
  for (const days of warnBeforeDays) {
    if (!Number.isInteger(days) || days < 1 || days > 59) {
      throw new Error(`warnBeforeDays: ${days} is not a whole number of days from 1 to 59`);
    }
  }
  return {
    REFRESH_BEFORE_DAYS: String(refreshBeforeDays),
    // `7,1`: distinct, largest first, as the handlers store them.
    WARN_BEFORE_DAYS: [...new Set(warnBeforeDays)].sort((a, b) => b - a).join(','),
  };
}
