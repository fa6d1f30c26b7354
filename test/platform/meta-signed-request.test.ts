/**
 * Meta's signed_request: what verifies, and every way one is refused, without a table.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signRequest, verifySignedRequest } from '#platform/meta-signed-request';

const secret = 'app-secret-for-signed-requests';
const payload = {
  algorithm: 'HMAC-SHA256',
  issued_at: 1_796_000_000,
  user_id: '17841400000000001',
};
const signedText = (text: string, key = secret) => {
  const body = Buffer.from(text).toString('base64url');
  return `${createHmac('sha256', key).update(body).digest('base64url')}.${body}`;
};
const reason = (signed: string) => {
  try {
    verifySignedRequest(signed, secret);
    return 'accepted';
  } catch (error) {
    return (error as { reason?: string }).reason ?? 'thrown';
  }
};

describe('verifySignedRequest', () => {
  it("accepts Meta's format, a padded signature and a numeric user_id", () => {
    expect(verifySignedRequest(signRequest(payload, secret), secret)).toEqual({
      algorithm: 'HMAC-SHA256',
      issuedAt: payload.issued_at,
      userId: payload.user_id,
    });
    const [signature, body] = signRequest(payload, secret).split('.');
    expect(verifySignedRequest(`${signature ?? ''}=.${body ?? ''}`, secret).userId).toBe(
      payload.user_id,
    );
    expect(
      verifySignedRequest(signRequest({ ...payload, user_id: 42 }, secret), secret).userId,
    ).toBe('42');
  });

  it.each([
    ['another secret', signRequest(payload, 'another-secret'), 'bad-signature'],
    ['a shortened signature', signRequest(payload, secret).slice(1), 'bad-signature'],
    ['an altered payload', `${signRequest(payload, secret)}A`, 'bad-signature'],
    [
      'another algorithm',
      signRequest({ ...payload, algorithm: 'HMAC-SHA1' }, secret),
      'unsupported-algorithm',
    ],
    ['malformed JSON', signedText('{"user_id":'), 'malformed'],
    ['no user_id', signedText('{"algorithm":"HMAC-SHA256","issued_at":1}'), 'malformed'],
    ['one part', 'abc', 'malformed'],
    ['three parts', `${signRequest(payload, secret)}.x`, 'malformed'],
    ['a character outside base64url', `${signRequest(payload, secret)}+`, 'malformed'],
    ['an empty string', '', 'malformed'],
  ])('refuses %s', (_name, signed, expected) => {
    expect(reason(signed)).toBe(expected);
  });

  it('refuses to verify under an empty secret', () => {
    expect(() => verifySignedRequest(signRequest(payload, ''), '')).toThrow(TypeError);
  });
});
