/**
 * The storm guard: when Instagram refuses or fails many tokens at once, the fault is almost
 * certainly not the customers' (Meta restricted the app, changed something, or an app secret was
 * rotated wrongly), and telling every customer to reconnect cannot help. So once at least
 * `minTokens` tokens, and at least `share` of those watched, were refused or failed to refresh
 * within an hour, tokenwatch is in a storm: the notices are held (notifications/digest.ts), the
 * automatic refresh pauses, the operators hear of it every hour, and `GET /status` says so,
 * until the widget service ends it with `release` (the held notices go out) or `discard`.
 *
 * Trouble is counted where it happens, as it happens (the refresher, Meta's deauthorize
 * callback), so the storm is declared within seconds of the burst, before the check that runs
 * after it announces a single one of its tokens.
 */
import type { LogSink } from '#platform/observability';
import {
  hourOf,
  type CountedUpTo,
  type StormEnding,
  type StormState,
  type StormStore,
  type TroubleCount,
} from './storm-store';

export interface StormSettings {
  /** at least this many tokens in an hour (`stormMinTokens`, default 20) */
  minTokens: number;
  /** and at least this share of the watched tokens (`stormShare`, default 0.1) */
  share: number;
}

export const defaultStormSettings: StormSettings = { minTokens: 20, share: 0.1 };

const HOUR_MS = 3_600_000;

/**
 * The trouble of the last sixty minutes, from the clock hour's count and the hour before's: all
 * of this hour's, and the part of the hour before's still inside the window, as if it had come
 * evenly. Two small counters instead of one item per event, at the price of an estimate.
 */
export function troubleInLastHour(current: number, previous: number, now: Date): number {
  const intoHour = (now.getTime() % HOUR_MS) / HOUR_MS;
  return current + previous * (1 - intoHour);
}

/** How much trouble in an hour is a storm, for a fleet of `watched` tokens (unknown: the minimum). */
export const stormThreshold = (settings: StormSettings, watched: number | undefined): number =>
  Math.max(settings.minTokens, Math.ceil(settings.share * (watched ?? 0)));

export interface StormGuardDependencies {
  store: StormStore;
  settings: StormSettings;
  clock: () => Date;
  log: LogSink;
}

export type TroubleVerdict = 'calm' | 'storm' | 'declared';

/**
 * Counts trouble (tokens refused, by cause; refreshes failed, by failure) and declares a storm
 * when the last hour's crosses the threshold. Answers what the fleet is in afterwards.
 */
export async function noteTrouble(
  deps: StormGuardDependencies,
  causes: Record<string, number>,
): Promise<TroubleVerdict> {
  const now = deps.clock();
  const { current, previous } = await deps.store.countTrouble(causes, now);
  // Where this trouble stands in the hour's count: the storm's own count takes exactly what
  // came after the declaration's snapshot, whoever counted it.
  const mine: CountedUpTo = { hour: hourOf(now), upTo: current.tokens };
  const state = await deps.store.getStormState();
  if (state.status === 'storm') return joinStorm(deps, state, mine, causes);
  const lastHour = troubleInLastHour(current.tokens, previous.tokens, now);
  if (lastHour < deps.settings.minTokens) return 'calm';
  const threshold = stormThreshold(deps.settings, await deps.store.watchedTokens());
  if (lastHour < threshold) return 'calm';
  const trouble = mergedTrouble(current, previous);
  if (!(await deps.store.declareStorm(trouble, now, mine))) {
    return joinStorm(deps, await deps.store.getStormState(), mine, causes);
  }
  deps.log.error('Storm declared: customer emails are held and automatic refresh is paused', {
    storm: { since: now.toISOString(), tokens: trouble.tokens, causes: trouble.causes },
    threshold,
  });
  return 'declared';
}

/** Adds trouble counted after the storm's snapshot to the storm's own count. */
async function joinStorm(
  deps: StormGuardDependencies,
  state: StormState,
  mine: CountedUpTo,
  causes: Record<string, number>,
): Promise<TroubleVerdict> {
  if (state.status !== 'storm') return 'calm';
  const snapshot = state.counted;
  const after =
    !snapshot ||
    mine.hour > snapshot.hour ||
    (mine.hour === snapshot.hour && mine.upTo > snapshot.upTo);
  if (after) await deps.store.addStormTrouble(causes);
  return 'storm';
}

function mergedTrouble(current: TroubleCount, previous: TroubleCount): TroubleCount {
  const causes = { ...previous.causes };
  for (const [cause, count] of Object.entries(current.causes)) {
    causes[cause] = (causes[cause] ?? 0) + count;
  }
  return { tokens: current.tokens + previous.tokens, causes };
}

/** A storm nobody ended is reported again once an hour has passed since the last report. */
export const stormReportDue = (state: StormState, now: Date): boolean =>
  state.status === 'storm' &&
  (!state.reportedAt || now.getTime() - Date.parse(state.reportedAt) >= HOUR_MS);

/** The words for each kind of trouble, as the status and the operators read them. */
const troubleWords: Record<string, string> = {
  'password-changed': 'password changed',
  'app-removed': 'app removed',
  checkpoint: 'security check',
  'session-invalidated': 'session ended',
  unavailable: 'Instagram unavailable',
  'rate-limited': 'Instagram throttling',
  refused: 'refresh refused',
};

/** "Instagram refused or failed to refresh 30 tokens at once (25 session ended, 5 …). …" */
export function stormSummary(state: StormState): string {
  const trouble = state.trouble ?? { tokens: 0, causes: {} };
  const breakdown = Object.entries(trouble.causes)
    .filter(([, count]) => count > 0)
    .sort(([, a], [, b]) => b - a)
    .map(([cause, count]) => `${String(count)} ${troubleWords[cause] ?? cause}`)
    .join(', ');
  const tokens = trouble.tokens === 1 ? '1 token' : `${String(trouble.tokens)} tokens`;
  return (
    `Instagram refused or failed to refresh ${tokens} at once` +
    (breakdown ? ` (${breakdown})` : '') +
    '. This looks like trouble on Instagram’s side, not with the accounts: emails about it are ' +
    'held and automatic refresh is paused until it is resolved.'
  );
}

/** What `GET /status` and `GET /service/storm` answer of an incident. */
export interface Incident {
  since: string;
  summary: string;
  tokens: number;
  causes: Record<string, number>;
}

export const incidentOf = (state: StormState): Incident | null =>
  state.status === 'storm' && state.since
    ? {
        since: state.since,
        summary: stormSummary(state),
        tokens: state.trouble?.tokens ?? 0,
        causes: state.trouble?.causes ?? {},
      }
    : null;

/** What the widget service reads of the storm guard (`GET /service/storm`). */
export interface StormReport {
  status: 'storm' | 'calm';
  incident: Incident | null;
  /** notices held and not yet released or discarded */
  held: number;
  /** how the last storm ended, if one did */
  lastEnded: { since: string; action: StormEnding; at: string } | null;
}

export function stormReport(state: StormState, held: number): StormReport {
  const endings = Object.entries(state.endings ?? {}).sort(([a], [b]) => b.localeCompare(a));
  const [last] = endings;
  return {
    status: state.status,
    incident: incidentOf(state),
    held,
    lastEnded: last ? { since: last[0], ...last[1] } : null,
  };
}

export class NoStormError extends Error {
  override name = 'NoStormError';
}

/**
 * Ends the storm on: `release` sends the held notices (the digest flush, by the digest rules),
 * `discard` drops them, recorded. Refresh resumes with the next run either way.
 */
export async function endStorm(
  deps: Pick<StormGuardDependencies, 'store' | 'clock' | 'log'>,
  action: StormEnding,
): Promise<StormState> {
  const state = await deps.store.getStormState();
  if (state.status !== 'storm' || !(await deps.store.endStorm(state, action, deps.clock()))) {
    throw new NoStormError('No storm is on');
  }
  deps.log.warn('Storm ended by the widget service', { storm: { since: state.since, action } });
  return deps.store.getStormState();
}
