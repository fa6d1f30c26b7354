/**
 * The token lifecycle, in one place: what a token's status words mean, how long a token lives,
 * and when it is due, expired, refreshable or to be re-authorized. Every other module asks here.
 *
 * - **active**: Instagram accepts it, as far as we know, and it is watched.
 * - **expired**: its expiry passed (the check marks it so after announcing it).
 * - **invalid**: Instagram refused it before its expiry (revoked, password changed, …).
 * - **due**: a watched token the check must look at now: its expiry has come, or it was found
 *   invalid and filed for the check to announce.
 *
 * An expired or invalid token cannot be refreshed: only authorizing on Instagram again gives a
 * new one (the reconnect flow). It carries its **cause**, what happened to it (see `tokenCause`).
 */
import * as z from '#platform/validation';

export const tokenStatus = /* @__PURE__ */ z.enum(['active', 'expired', 'invalid']);
export type TokenStatus = z.infer<typeof tokenStatus>;

/** Why a token was announced as lost: the two statuses it can end in. */
export const expiryReason = /* @__PURE__ */ z.enum(['expired', 'invalid']);
export type ExpiryReason = z.infer<typeof expiryReason>;

/**
 * What happened to a token that is not active, in the words every email, event and answer use:
 *
 * - `expired`: its expiry passed (nobody refreshed it in time);
 * - `password-changed`: the account's password was changed, which ends every session;
 * - `app-removed`: the account removed the app's access (in Instagram's settings, or Meta told
 *   us through its deauthorize callback);
 * - `checkpoint`: Instagram holds the account for a security check, cleared only by the user
 *   logging in to Instagram;
 * - `session-invalidated`: Instagram ended the session for another reason, or did not say.
 */
export const tokenCause = /* @__PURE__ */ z.enum([
  'expired',
  'password-changed',
  'app-removed',
  'checkpoint',
  'session-invalidated',
]);
export type TokenCause = z.infer<typeof tokenCause>;
/** The causes of a token Instagram refused before its expiry (status `invalid`). */
export type InvalidCause = Exclude<TokenCause, 'expired'>;

/**
 * Which cause an Instagram rejection means. Instagram says OAuthException 190 for every token it
 * refuses, and tells them apart by the error's subcode (Meta's "Authentication error
 * subcodes"): 458 the user removed the app, 459 and 464 a checkpoint (459: log in at
 * instagram.com to restore access; 464: an unconfirmed user, cleared the same way), 460 the
 * password changed. Anything else (463, an expired session; 467, a token invalidated; none at
 * all) is a session Instagram ended.
 */
export function causeOfRejection(rejection: { code?: number; subcode?: number }): InvalidCause {
  if (rejection.code !== 190) return 'session-invalidated';
  switch (rejection.subcode) {
    case 458:
      return 'app-removed';
    case 459:
    case 464:
      return 'checkpoint';
    case 460:
      return 'password-changed';
    default:
      return 'session-invalidated';
  }
}

/**
 * The cause of a lost token when nothing says one: what was stored or announced before causes
 * existed (an item marked, an event queued, by the version before), read in the only words it
 * had: an expired token's expiry passed, and an invalid one's session ended.
 */
export const defaultCause = (reason: ExpiryReason): TokenCause =>
  reason === 'expired' ? 'expired' : 'session-invalidated';

/** Whether a cause can go with a status: `expired` with expired, the others with invalid. */
export const causeFits = (status: TokenStatus, cause: TokenCause): boolean =>
  status === 'active' ? false : (cause === 'expired') === (status === 'expired');

const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Instagram's long-lived tokens last this long from their issue. */
export const longLivedTokenDays = 60;
/** Instagram refreshes a long-lived token only once it is at least this old. */
export const minimumRefreshAgeMs = 24 * HOUR_MS;

interface TokenTimes {
  tokenStatus: TokenStatus;
  expiresAt: string;
}

/** Whether the token's expiry has come, whatever its stored status says yet. */
export const isPastExpiry = (token: Pick<TokenTimes, 'expiresAt'>, now: Date): boolean =>
  Date.parse(token.expiresAt) <= now.getTime();

/**
 * The status to show: a token past its expiry is expired even before the check has marked it
 * (the check runs every quarter hour; the accounts page should not lag behind it).
 */
export function displayedStatus(token: TokenTimes, now: Date): TokenStatus {
  return token.tokenStatus === 'active' && isPastExpiry(token, now) ? 'expired' : token.tokenStatus;
}

/**
 * The cause to show with a token's displayed status: none while it is active; `expired` for one
 * past its expiry that the check has not marked yet; otherwise the stored one, or for a token
 * marked before causes existed, the default for its status.
 */
export function displayedCause(
  token: TokenTimes & { cause?: TokenCause | undefined },
  now: Date,
): TokenCause | undefined {
  const status = displayedStatus(token, now);
  if (status === 'active') return undefined;
  if (token.tokenStatus === 'active') return 'expired';
  return token.cause && causeFits(status, token.cause) ? token.cause : defaultCause(status);
}

/**
 * What a refresh can do for a token now: `refresh` it with Instagram; nothing, because it is
 * `too-young` (Instagram refuses tokens under a day old, and it has 59 days left anyway); or
 * nothing short of authorizing again (`reauthorize`), because it is expired or invalid.
 */
export type RefreshVerdict = 'refresh' | 'too-young' | 'reauthorize';
export function refreshVerdict(
  token: TokenTimes & { issuedAt: string },
  now: Date,
): RefreshVerdict {
  if (token.tokenStatus !== 'active' || isPastExpiry(token, now)) return 'reauthorize';
  const issuedAt = Date.parse(token.issuedAt);
  if (Number.isFinite(issuedAt) && now.getTime() - issuedAt < minimumRefreshAgeMs) {
    return 'too-young';
  }
  return 'refresh';
}

/** The status a token that needs authorizing again is in, for the answer that says so. */
export const lostAs = (token: Pick<TokenTimes, 'tokenStatus'>): ExpiryReason =>
  token.tokenStatus === 'invalid' ? 'invalid' : 'expired';

/**
 * When a stored token was issued, if nobody told us: a token expiring at T was issued at
 * T - 60 days (and never later than now). Refresh needs it, because of the one-day minimum.
 */
export function inferredIssuedAt(expiresAt: string, now: Date): string {
  const inferred = Date.parse(expiresAt) - longLivedTokenDays * DAY_MS;
  return new Date(Math.min(inferred, now.getTime())).toISOString();
}

/** When a new token Instagram issued now, valid for `seconds`, expires. */
export const expiryAfter = (now: Date, seconds: number): string =>
  new Date(now.getTime() + seconds * 1000).toISOString();

/**
 * Whether an announcement of a lost token still holds: no, when the account is gone, its token
 * was replaced since, or it turned out not to be lost. Undefined when it still holds.
 */
export type StaleReason = 'account-gone' | 'token-replaced' | 'token-active-again';
export function staleReason(
  announced: { generation: number; reason: ExpiryReason },
  account: (TokenTimes & { generation: number }) | undefined,
  now: Date,
): StaleReason | undefined {
  const superseded = supersededReason(announced, account);
  if (superseded || !account) return superseded;
  // At the announced generation an `active` status usually only means the check has not marked
  // it yet (it marks after publishing). A token that is active with an expiry still ahead was
  // not lost after all; an `invalid` one is due before its expiry, so that does not apply.
  if (
    announced.reason === 'expired' &&
    account.tokenStatus === 'active' &&
    !isPastExpiry(account, now)
  ) {
    return 'token-active-again';
  }
  return undefined;
}

/** Any announcement about a token generation: the account is gone, or that token was replaced. */
function supersededReason(
  announced: { generation: number },
  account: { generation: number } | undefined,
): 'account-gone' | 'token-replaced' | undefined {
  if (!account) return 'account-gone';
  if (account.generation !== announced.generation) return 'token-replaced';
  return undefined;
}

/**
 * Whether a warning that a token is about to expire still holds: no, when the account is gone,
 * its token was replaced since (refreshed, reconnected), it is no longer active (Instagram
 * refused it, or it was marked expired: the expired-token announcement tells of it instead), or
 * its expiry has passed (the same). Undefined when it still holds.
 */
export type WarningStaleReason = 'account-gone' | 'token-replaced' | 'token-lost' | 'expiry-passed';
export function warningStaleReason(
  announced: { generation: number },
  account: (TokenTimes & { generation: number }) | undefined,
  now: Date,
): WarningStaleReason | undefined {
  const superseded = supersededReason(announced, account);
  if (superseded || !account) return superseded;
  if (account.tokenStatus !== 'active') return 'token-lost';
  if (isPastExpiry(account, now)) return 'expiry-passed';
  return undefined;
}

/** UTC ISO 8601 with milliseconds: the one form stored, so that strings sort as instants. */
export const toInstant = (value: string | Date): string => new Date(value).toISOString();
