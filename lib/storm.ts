/**
 * How much trouble in an hour is a storm, as every function that counts trouble or answers
 * about it is told: STORM_MIN_TOKENS and STORM_SHARE (functions/storm/wiring.ts reads them).
 */
import { defaultStormSettings, type StormSettings } from '../functions/storm/storm-guard';

/** The two variables for `settings`, checked as the handlers check them at cold start. */
export function stormVariables(settings: StormSettings = defaultStormSettings): {
  STORM_MIN_TOKENS: string;
  STORM_SHARE: string;
} {
  if (!Number.isInteger(settings.minTokens) || settings.minTokens < 1) {
    throw new Error(`stormMinTokens: ${String(settings.minTokens)} is not a whole number above 0`);
  }
  if (!(settings.share >= 0 && settings.share <= 1)) {
    throw new Error(`stormShare: ${String(settings.share)} is not a share from 0 to 1`);
  }
  return { STORM_MIN_TOKENS: String(settings.minTokens), STORM_SHARE: String(settings.share) };
}
