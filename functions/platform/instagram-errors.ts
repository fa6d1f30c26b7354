/**
 * How a call to Instagram failed. Apart from the client itself because the HTTP layer must
 * recognise these errors in every route: importing the client for its error class made each
 * route load and build it (its schemas, its configuration) at cold start, even routes that never
 * talk to Instagram.
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
