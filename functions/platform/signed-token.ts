/**
 * Signed tokens: small JSON values handed out (in links, in an OAuth state) and trusted when they
 * come back only because they carry an HMAC-SHA256 under a key that never leaves the stack.
 *
 * Each token is bound to a purpose, so one minted for one use never verifies for another even
 * under the same key, and to an expiry, so a leaked link stops working on its own.
 *
 * Wire format, version 2 (the one written):
 *   "v2." base64url(JSON {p: purpose, e: expiry in epoch seconds, d: data}) "." base64url(mac)
 *   mac = HMAC-SHA256(key, purpose NUL "v2." body)
 * Version 1 is read, never written, and only for a kind that opts in: the format unsubscribe
 * links had before this helper, with no purpose bound:
 *   base64url(JSON {v: 1, e: expiry in epoch seconds, ...data}) "." base64url(HMAC-SHA256(key, body))
 *
 * The three MAC inputs (purpose ":" message, purpose NUL token, bare base64url) can never be
 * equal, since a purpose holds neither ":" nor NUL and base64url holds neither: no MAC made
 * for one can be replayed as another.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { schema } from './schemas';
import * as z from './validation';

/** What a signed token is for, and the shape of the data it carries. */
export interface TokenKind<T> {
  /** lowercase letters, digits and "-", starting with a letter */
  readonly purpose: string;
  readonly schema: z.ZodMiniType<T>;
  /** Also accept version 1 (no purpose bound). Only for tokens handed out before version 2. */
  readonly acceptsUnboundV1?: boolean;
}

export interface VerifiedToken<T> {
  data: T;
  expiresAt: Date;
}

/** Why a token was refused. A forged and an altered token look alike: both are `forged`. */
export type SignedTokenRefusal = 'malformed' | 'forged' | 'wrong-purpose' | 'expired';

/** A token refused on verification; the message names the reason only, never the token. */
export class InvalidSignedTokenError extends Error {
  override name = 'InvalidSignedTokenError';

  constructor(readonly reason: SignedTokenRefusal) {
    super(`Signed token refused: ${reason}`);
  }
}

const version = 'v2';
const purposePattern = /^[a-z][a-z0-9-]{0,63}$/;
const base64url = /^[A-Za-z0-9_-]+$/;
/** Far above any token this product signs; bounds the work an attacker's input can cause. */
const maxTokenChars = 4096;
const fullMacChars = 43;
/** 132 bits: the least a MAC may be cut to and still not be guessed. */
const minMacChars = 22;

const envelopeV2 = /* @__PURE__ */ schema(() =>
  z.strictObject({
    p: z.string(),
    e: z.int().check(z.positive()),
    d: z.unknown(),
  }),
);
const envelopeV1 = /* @__PURE__ */ schema(() =>
  z.looseObject({ v: z.literal(1), e: z.int().check(z.positive()) }),
);

const hmac = (key: string, input: string) =>
  createHmac('sha256', key).update(input).digest('base64url');

function checkPurpose(purpose: string): void {
  if (!purposePattern.test(purpose)) {
    throw new TypeError('A purpose is 1 to 64 lowercase letters, digits or "-", first a letter');
  }
}

// An unset secret read as "" would still sign, and anyone could forge with the empty key.
function checkKey(key: string): void {
  if (key.length === 0) throw new TypeError('A signing key must not be empty');
}

/**
 * A MAC over `message` for `purpose`: base64url HMAC-SHA256(key, purpose ":" message), cut to
 * `chars`. For values whose format is fixed elsewhere; anything new should be a signed token,
 * which also expires.
 */
export function purposeMac(purpose: string, message: string, key: string, chars = fullMacChars) {
  checkPurpose(purpose);
  checkKey(key);
  if (!Number.isInteger(chars) || chars < minMacChars || chars > fullMacChars) {
    throw new RangeError(`A MAC is ${minMacChars} to ${fullMacChars} characters`);
  }
  return hmac(key, `${purpose}:${message}`).slice(0, chars);
}

/**
 * Whether two MACs are the same, in time that does not depend on where they differ. Compared
 * as text, not decoded: base64url decoding skips stray characters and the last character's
 * spare bits, so decoded bytes could match for an altered token.
 */
export function macsMatch(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const tokenMac = (purpose: string, signed: string, key: string) =>
  hmac(key, `${purpose}\0${signed}`);

const encodeJson = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function decodeJson(text: string): unknown {
  try {
    return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function epochSeconds(date: Date): number {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('A token needs a valid expiry');
  return Math.floor(ms / 1000);
}

/** A version 2 token for `data`, valid until `expiresAt` (to the whole second, rounded down). */
export function signToken<T>(kind: TokenKind<T>, data: T, key: string, expiresAt: Date): string {
  checkPurpose(kind.purpose);
  checkKey(key);
  // Refused here rather than by every verifier later: a token that can never verify is a bug.
  if (!kind.schema.safeParse(data).success) {
    throw new TypeError(`The data does not fit the ${kind.purpose} token's schema`);
  }
  const body = encodeJson({ p: kind.purpose, e: epochSeconds(expiresAt), d: data });
  const signed = `${version}.${body}`;
  return `${signed}.${tokenMac(kind.purpose, signed, key)}`;
}

/** The token's data and expiry; throws InvalidSignedTokenError for anything it will not trust. */
export function verifyToken<T>(
  kind: TokenKind<T>,
  token: string,
  key: string,
  now: Date,
): VerifiedToken<T> {
  checkPurpose(kind.purpose);
  checkKey(key);
  // Nothing is ever later than an Invalid Date, so every token would pass as unexpired.
  if (Number.isNaN(now.getTime())) throw new RangeError('Verifying needs a valid current time');
  const parts = token.length <= maxTokenChars ? token.split('.') : [];
  if (!parts.every((part) => base64url.test(part))) throw new InvalidSignedTokenError('malformed');
  const [first = '', second = '', third = ''] = parts;
  if (parts.length === 3 && first === version) return verifyV2(kind, second, third, key, now);
  if (parts.length === 2 && kind.acceptsUnboundV1) return verifyV1(kind, first, second, key, now);
  throw new InvalidSignedTokenError('malformed');
}

function verifyV2<T>(kind: TokenKind<T>, body: string, mac: string, key: string, now: Date) {
  if (!macsMatch(mac, tokenMac(kind.purpose, `${version}.${body}`, key))) {
    throw new InvalidSignedTokenError(
      signedForOtherPurpose(body, mac, key) ? 'wrong-purpose' : 'forged',
    );
  }
  const envelope = envelopeV2.safeParse(decodeJson(body));
  if (!envelope.success) throw new InvalidSignedTokenError('malformed');
  // The MAC already binds the purpose; this only guards against a signer that wrote another.
  if (envelope.data.p !== kind.purpose) throw new InvalidSignedTokenError('wrong-purpose');
  return accept(kind, envelope.data.d, envelope.data.e, now);
}

// Tells a genuine token for another use from a forgery, for the error only: it reads the
// claimed purpose from the unverified body, and says "wrong purpose" only if the MAC proves it.
function signedForOtherPurpose(body: string, mac: string, key: string): boolean {
  const envelope = envelopeV2.safeParse(decodeJson(body));
  if (!envelope.success || !purposePattern.test(envelope.data.p)) return false;
  return macsMatch(mac, tokenMac(envelope.data.p, `${version}.${body}`, key));
}

function verifyV1<T>(kind: TokenKind<T>, body: string, mac: string, key: string, now: Date) {
  if (!macsMatch(mac, hmac(key, body))) throw new InvalidSignedTokenError('forged');
  const envelope = envelopeV1.safeParse(decodeJson(body));
  if (!envelope.success) throw new InvalidSignedTokenError('malformed');
  // Version 1 kept its version and expiry beside the data's own fields.
  const { e: expiry, ...fields } = envelope.data;
  const data: Record<string, unknown> = { ...fields };
  delete data.v;
  return accept(kind, data, expiry, now);
}

function accept<T>(kind: TokenKind<T>, data: unknown, expiry: number, now: Date) {
  const expiresAt = new Date(expiry * 1000);
  // Only a signer's bug could get here, but an Invalid Date would never count as expired.
  if (Number.isNaN(expiresAt.getTime())) throw new InvalidSignedTokenError('malformed');
  if (expiresAt.getTime() <= now.getTime()) throw new InvalidSignedTokenError('expired');
  const parsed = kind.schema.safeParse(data);
  if (!parsed.success) throw new InvalidSignedTokenError('malformed');
  return { data: parsed.data, expiresAt };
}
