/**
 * One-click unsubscribe tokens (RFC 8058): an HMAC-SHA256-signed, expiring value that names
 * one user and one preference. Signed by the notifier, verified by `POST /unsubscribe`.
 * Format: base64url(JSON payload) "." base64url(signature over the first part).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidUnsubscribeTokenError } from './unsubscribe-errors';
import { positiveInteger, preferenceName, userId, type PreferenceName } from '#platform/schemas';
import * as z from '#platform/validation';

const payloadSchema = z.strictObject({
  /** schema version, so the format can change without accepting old tokens by accident */
  v: z.literal(1),
  u: userId,
  p: preferenceName,
  /** expiry, seconds since the epoch */
  e: positiveInteger(),
});

export interface UnsubscribeRequest {
  userId: string;
  preference: PreferenceName;
  expiresAt: Date;
}

export { InvalidUnsubscribeTokenError };

const sign = (data: string, key: string) =>
  createHmac('sha256', key).update(data).digest('base64url');

export function signUnsubscribeToken(request: UnsubscribeRequest, key: string): string {
  const payload = Buffer.from(
    JSON.stringify({
      v: 1,
      u: request.userId,
      p: request.preference,
      e: Math.floor(request.expiresAt.getTime() / 1000),
    }),
  ).toString('base64url');
  return `${payload}.${sign(payload, key)}`;
}

/** Throws InvalidUnsubscribeTokenError for anything forged, altered, malformed or expired. */
export function verifyUnsubscribeToken(token: string, key: string, now: Date): UnsubscribeRequest {
  const [payload, signature, ...rest] = token.split('.');
  if (!payload || !signature || rest.length > 0) {
    throw new InvalidUnsubscribeTokenError('This unsubscribe link is malformed.');
  }
  const expected = Buffer.from(sign(payload, key));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new InvalidUnsubscribeTokenError('This unsubscribe link is not valid.');
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidUnsubscribeTokenError('This unsubscribe link is malformed.');
  }
  const parsed = payloadSchema.safeParse(decoded);
  if (!parsed.success)
    throw new InvalidUnsubscribeTokenError('This unsubscribe link is malformed.');
  if (parsed.data.e * 1000 <= now.getTime()) {
    throw new InvalidUnsubscribeTokenError('This unsubscribe link has expired.');
  }
  return {
    userId: parsed.data.u,
    preference: parsed.data.p,
    expiresAt: new Date(parsed.data.e * 1000),
  };
}

/** The full link for an email: the API's unsubscribe URL with the token as `?token=`. */
export function unsubscribeLink(baseUrl: string, token: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('token', token);
  return url.toString();
}
