/**
 * Meta's `signed_request`, as its app callbacks (deauthorize, data deletion) send it:
 * `<signature>.<payload>`, both base64url; the signature is HMAC-SHA256 of the payload string
 * (as sent, still encoded) under the app secret; the payload is JSON naming `algorithm`
 * (`HMAC-SHA256`), `issued_at` and `user_id`.
 */
import { createHmac } from 'node:crypto';
import { schema } from './schemas';
import * as z from './validation';
import { macsMatch } from './signed-token';

export interface SignedRequestPayload {
  algorithm: 'HMAC-SHA256';
  issuedAt: number;
  userId: string;
}

/** Why a signed request was refused; the message never quotes the request. */
export type SignedRequestRefusal = 'malformed' | 'bad-signature' | 'unsupported-algorithm';

export class InvalidSignedRequestError extends Error {
  override name = 'InvalidSignedRequestError';

  constructor(readonly reason: SignedRequestRefusal) {
    super(`Signed request refused: ${reason}`);
  }
}

const base64url = /^[A-Za-z0-9_-]+={0,2}$/;
const maxChars = 8192;

const payloadSchema = /* @__PURE__ */ schema(() =>
  z.looseObject({
    algorithm: z.string(),
    issued_at: z.int(),
    user_id: z.union([z.string().check(z.minLength(1)), z.int()]),
  }),
);

/** The payload of a request Meta signed with `appSecret`; throws InvalidSignedRequestError. */
export function verifySignedRequest(
  signedRequest: string,
  appSecret: string,
): SignedRequestPayload {
  // An empty key would let anyone sign.
  if (appSecret.length === 0) throw new TypeError('The app secret must not be empty');
  const parts = signedRequest.length <= maxChars ? signedRequest.split('.') : [];
  const [signature = '', payload = ''] = parts;
  if (parts.length !== 2 || !base64url.test(signature) || !base64url.test(payload)) {
    throw new InvalidSignedRequestError('malformed');
  }
  const expected = createHmac('sha256', appSecret).update(payload).digest('base64url');
  // Some signers pad; the MAC is compared as text, without the padding, in constant time.
  if (!macsMatch(signature.replace(/=+$/, ''), expected)) {
    throw new InvalidSignedRequestError('bad-signature');
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidSignedRequestError('malformed');
  }
  const parsed = payloadSchema.safeParse(decoded);
  if (!parsed.success) throw new InvalidSignedRequestError('malformed');
  if (parsed.data.algorithm.toUpperCase() !== 'HMAC-SHA256') {
    throw new InvalidSignedRequestError('unsupported-algorithm');
  }
  return {
    algorithm: 'HMAC-SHA256',
    issuedAt: parsed.data.issued_at,
    userId: String(parsed.data.user_id),
  };
}

/** A signed request for `payload`, as Meta makes one: for tests and the local stack. */
export function signRequest(payload: unknown, appSecret: string): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${createHmac('sha256', appSecret).update(body).digest('base64url')}.${body}`;
}
