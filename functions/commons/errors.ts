/**
 * The product's failures that the HTTP layer answers with a problem of its own. They live apart
 * from the code that throws them because http/domain-problems.ts must recognise them in every
 * route: importing the Instagram client or the token flows for their error classes made each
 * route load and build those modules (their schemas, their configuration) at cold start, even
 * routes that never talk to Instagram. The throwing modules re-export them.
 */
/**
 * - `token-rejected`: OAuthException 190, the token is expired, revoked or unknown;
 * - `code-rejected`: the authorization code was refused (used, expired, wrong redirect URI);
 * - `rate-limited`: Instagram's throttling (codes 4, 17, 32, 613 or HTTP 429);
 * - `unavailable`: a 5xx, a timeout, a broken connection or an answer of the wrong shape;
 * - `refused`: any other refusal.
 */
export type InstagramFailure =
  'token-rejected' | 'code-rejected' | 'rate-limited' | 'unavailable' | 'refused';

export type InstagramOperation = 'refresh' | 'code-exchange' | 'long-lived-exchange';

export class InstagramError extends Error {
  override name = 'InstagramError';
  constructor(
    readonly failure: InstagramFailure,
    readonly operation: InstagramOperation,
    /** Safe to log: numbers and Instagram's trace id, never its message text. */
    readonly details: { status?: number; code?: number; subcode?: number; fbtraceId?: string } = {},
  ) {
    super(`Instagram ${operation}: ${failure}`);
  }
}

/** The user must go through Instagram's authorization again, at `reauthorizeUrl`. */
export class ReauthorizationRequiredError extends Error {
  override name = 'ReauthorizationRequiredError';
  constructor(
    readonly accountId: string,
    readonly reason: 'expired' | 'invalid' | 'code-rejected',
    readonly reauthorizeUrl: string,
  ) {
    super(`Account ${accountId} needs authorizing again (${reason})`);
  }
}

/** The authorization was for another Instagram user than the account's: nothing is stored. */
export class InstagramUserMismatchError extends Error {
  override name = 'InstagramUserMismatchError';
  constructor(
    readonly accountId: string,
    readonly reauthorizeUrl: string,
  ) {
    super(`The authorization is not for Instagram user ${accountId}`);
  }
}

/** The redirect URI is not the one this app authorizes with; Instagram would refuse the code. */
export class RedirectUriNotAllowedError extends Error {
  override name = 'RedirectUriNotAllowedError';
}

export class InvalidUnsubscribeTokenError extends Error {
  override name = 'InvalidUnsubscribeTokenError';
}
