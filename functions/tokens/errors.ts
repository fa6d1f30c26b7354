/**
 * The token flows' failures that the HTTP layer answers with a problem of its own. They live
 * apart from the flows because api/problems.ts recognises them in every route, and must not make
 * a route that never refreshes a token load the refresh flow at cold start.
 */
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

/** Thrown when a write lost a race: the token's generation moved on under it. */
export class GenerationConflictError extends Error {
  override name = 'GenerationConflictError';
  constructor(
    readonly accountId: string,
    readonly expectedGeneration: number,
  ) {
    super(`Account ${accountId} is no longer at generation ${expectedGeneration}`);
  }
}

/** The account does not exist, or, to this caller, might as well not (see access.ts). */
export class AccountNotFoundError extends Error {
  override name = 'AccountNotFoundError';
  constructor(readonly accountId: string) {
    super(`Account ${accountId} does not exist`);
  }
}

/** The account has as many active reconnect links as it may (reconnect-links.ts says why). */
export class TooManyReconnectLinksError extends Error {
  override name = 'TooManyReconnectLinksError';
  constructor(
    readonly accountId: string,
    readonly limit: number,
  ) {
    super(`Account ${accountId} already has ${limit} active reconnect links`);
  }
}

/** No such reconnect link on this account. */
export class ReconnectLinkNotFoundError extends Error {
  override name = 'ReconnectLinkNotFoundError';
  constructor(
    readonly accountId: string,
    readonly linkId: string,
  ) {
    super(`Account ${accountId} has no reconnect link ${linkId}`);
  }
}
