/**
 * The one place where the product's errors become HTTP answers, so the domain code stays free
 * of status codes and every handler answers the same failure the same way.
 */
import { InstagramError } from '#platform/instagram-errors';
import {
  InstagramUserMismatchError,
  ReauthorizationRequiredError,
  RedirectUriNotAllowedError,
  AccountNotFoundError,
  ReconnectLinkNotFoundError,
  TooManyReconnectLinksError,
} from '#tokens/errors';
import { InvalidUnsubscribeTokenError } from '#notifications/unsubscribe-errors';
import { NoStormError } from '#storm/storm-guard';
import {
  accountNotFound,
  HttpProblem,
  problemTypes,
  validationProblem,
} from '#platform/http/problem';
import { logger } from '#platform/observability';

/** How long to wait before trying Instagram again after it throttled us. */
const instagramRetryAfterSeconds = 60;

export function problemFor(error: unknown): HttpProblem | undefined {
  if (error instanceof HttpProblem) return error;
  if (error instanceof AccountNotFoundError) return accountNotFound();
  if (error instanceof NoStormError) {
    return new HttpProblem({
      type: problemTypes.noStorm,
      title: 'No storm is on',
      status: 409,
      detail: 'There is no storm to end: GET /service/storm says what the storm guard knows.',
    });
  }
  if (error instanceof ReconnectLinkNotFoundError) {
    return new HttpProblem({
      type: problemTypes.blank,
      status: 404,
      detail: 'This account has no reconnect link with this id.',
    });
  }
  if (error instanceof TooManyReconnectLinksError) {
    return new HttpProblem({
      type: problemTypes.tooManyReconnectLinks,
      title: 'Too many active reconnect links',
      status: 409,
      detail: `This account already has ${error.limit} active reconnect links. Revoke one you no longer need, or wait until one is used or expires.`,
    });
  }
  if (error instanceof ReauthorizationRequiredError) {
    const detail = {
      expired: 'The token has expired: authorize the app on Instagram again to reconnect.',
      invalid: 'Instagram no longer accepts this token: authorize the app on Instagram again.',
      'code-rejected':
        'Instagram did not accept the authorization code (used, expired, or for another redirect): authorize again.',
    }[error.reason];
    return new HttpProblem({
      type: problemTypes.reauthorizationRequired,
      title: 'Authorize on Instagram again',
      status: 409,
      detail,
      reauthorizeUrl: error.reauthorizeUrl,
    });
  }
  if (error instanceof InstagramUserMismatchError) {
    return new HttpProblem({
      type: problemTypes.instagramUserMismatch,
      title: 'That is another Instagram account',
      status: 409,
      detail:
        'The authorization was for a different Instagram account than this one. Log in to Instagram as this account and authorize again.',
      reauthorizeUrl: error.reauthorizeUrl,
    });
  }
  if (error instanceof RedirectUriNotAllowedError) {
    return validationProblem([
      { detail: 'This is not the redirect URI the app authorizes with.', pointer: '#/redirectUri' },
    ]);
  }
  if (error instanceof InvalidUnsubscribeTokenError) {
    return new HttpProblem({
      type: problemTypes.invalidUnsubscribeLink,
      title: 'This unsubscribe link does not work',
      status: 400,
      detail: `${error.message} Change your notification settings in the app instead.`,
    });
  }
  if (error instanceof InstagramError) {
    // Numbers and a trace id only: Instagram's messages and URLs stay out of the logs.
    logger.warn('Instagram call failed', {
      operation: error.operation,
      failure: error.failure,
      ...error.details,
    });
    if (error.failure === 'rate-limited') {
      return new HttpProblem(
        {
          type: problemTypes.instagramRateLimited,
          title: 'Instagram is busy',
          status: 503,
          detail: 'Instagram is limiting requests from this app right now. Try again in a minute.',
        },
        { 'retry-after': String(instagramRetryAfterSeconds) },
      );
    }
    return new HttpProblem({
      type: problemTypes.instagramUnavailable,
      title: 'Instagram did not answer as expected',
      status: 502,
      detail: 'Instagram could not complete the request. Nothing was changed; try again later.',
    });
  }
  return undefined;
}
