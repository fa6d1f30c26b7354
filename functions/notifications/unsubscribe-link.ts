/**
 * One-click unsubscribe tokens (RFC 8058): a signed, expiring value that names one user and one
 * preference. Signed by the notifier, verified by `POST /unsubscribe` and its page.
 */
import { InvalidUnsubscribeTokenError } from './unsubscribe-errors';
import { preferenceName, type PreferenceName } from './preferences';
import { userId } from '#people/user';
import {
  InvalidSignedTokenError,
  signToken,
  verifyToken,
  type TokenKind,
} from '#platform/signed-token';
import * as z from '#platform/validation';

export interface UnsubscribeRequest {
  userId: string;
  preference: PreferenceName;
  expiresAt: Date;
}

export { InvalidUnsubscribeTokenError };

const unsubscribeToken: TokenKind<{ u: string; p: PreferenceName }> = {
  purpose: 'unsubscribe',
  schema: z.strictObject({ u: userId, p: preferenceName }),
  // Links emailed before the signed-token helper are version 1 and work for 90 days after
  // they were sent; this can go once the last of them has expired.
  acceptsUnboundV1: true,
};

export function signUnsubscribeToken(request: UnsubscribeRequest, key: string): string {
  const data = { u: request.userId, p: request.preference };
  return signToken(unsubscribeToken, data, key, request.expiresAt);
}

/** Throws InvalidUnsubscribeTokenError for anything forged, altered, malformed or expired. */
export function verifyUnsubscribeToken(token: string, key: string, now: Date): UnsubscribeRequest {
  try {
    const { data, expiresAt } = verifyToken(unsubscribeToken, token, key, now);
    return { userId: data.u, preference: data.p, expiresAt };
  } catch (error) {
    if (error instanceof InvalidSignedTokenError) {
      throw new InvalidUnsubscribeTokenError(error.reason, { cause: error });
    }
    throw error;
  }
}

/** The full link for an email: the API's unsubscribe URL with the token as `?token=`. */
export function unsubscribeLink(baseUrl: string, token: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('token', token);
  return url.toString();
}
