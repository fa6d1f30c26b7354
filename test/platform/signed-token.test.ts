import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import {
  InvalidSignedTokenError,
  macsMatch,
  purposeMac,
  signToken,
  verifyToken,
  type SignedTokenRefusal,
  type TokenKind,
} from '#platform/signed-token';
import * as z from '#platform/validation';

const key = 'k'.repeat(64);
const now = new Date('2026-11-25T12:00:00Z');
const expiresAt = new Date('2026-11-26T12:00:00Z');
const greeting: TokenKind<{ to: string; times: number }> = {
  purpose: 'greeting',
  schema: z.strictObject({ to: z.string(), times: z.int() }),
};
const farewell: TokenKind<{ to: string; times: number }> = { ...greeting, purpose: 'farewell' };
const data = { to: 'someone', times: 2 };
const token = signToken(greeting, data, key, expiresAt);

const base64url = (value: string) => Buffer.from(value).toString('base64url');
const withBody = (body: unknown) => {
  const signed = `v2.${base64url(JSON.stringify(body))}`;
  return `${signed}.${createHmac('sha256', key).update(`greeting\0${signed}`).digest('base64url')}`;
};
const legacy = (payload: unknown, signingKey = key) => {
  const body = base64url(JSON.stringify(payload));
  return `${body}.${createHmac('sha256', signingKey).update(body).digest('base64url')}`;
};

function refusal(run: () => unknown): SignedTokenRefusal | 'accepted' {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (error instanceof InvalidSignedTokenError) return error.reason;
    throw error;
  }
}

describe('signed tokens', () => {
  it('round-trip the data and the expiry', () => {
    expect(verifyToken(greeting, token, key, now)).toEqual({ data, expiresAt });
  });

  it('are version 2, with the purpose and expiry inside the signed body', () => {
    const [version, body, mac] = token.split('.');
    expect(version).toBe('v2');
    expect(JSON.parse(Buffer.from(String(body), 'base64url').toString())).toEqual({
      p: 'greeting',
      e: expiresAt.getTime() / 1000,
      d: data,
    });
    expect(mac).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('never verify for another purpose, even under the same key', () => {
    expect(refusal(() => verifyToken(farewell, token, key, now))).toBe('wrong-purpose');
  });

  it('refuse a token signed with another key as forged', () => {
    const other = signToken(greeting, data, 'another-key', expiresAt);
    expect(refusal(() => verifyToken(greeting, other, key, now))).toBe('forged');
  });

  it('refuse a body relabelled with the expected purpose as forged', () => {
    const [, , mac] = signToken(farewell, data, key, expiresAt).split('.');
    const body = base64url(JSON.stringify({ p: 'greeting', e: 1_900_000_000, d: data }));
    expect(refusal(() => verifyToken(greeting, `v2.${body}.${String(mac)}`, key, now))).toBe(
      'forged',
    );
  });

  it('expire at the expiry instant, not a millisecond later', () => {
    const justBefore = new Date(expiresAt.getTime() - 1);
    expect(verifyToken(greeting, token, key, justBefore).data).toEqual(data);
    expect(refusal(() => verifyToken(greeting, token, key, expiresAt))).toBe('expired');
  });

  it('keep the expiry to the whole second, rounded down, so a token never outlives it', () => {
    const signed = signToken(greeting, data, key, new Date('2026-11-26T12:00:00.999Z'));
    expect(verifyToken(greeting, signed, key, now).expiresAt).toEqual(expiresAt);
  });

  it('refuse a tampered payload as forged', () => {
    const [, , mac] = token.split('.');
    const body = base64url(JSON.stringify({ p: 'greeting', e: 1_900_000_000, d: data }));
    expect(refusal(() => verifyToken(greeting, `v2.${body}.${String(mac)}`, key, now))).toBe(
      'forged',
    );
  });

  it('refuse a tampered signature as forged', () => {
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    expect(refusal(() => verifyToken(greeting, flipped, key, now))).toBe('forged');
    expect(refusal(() => verifyToken(greeting, token.slice(0, -1), key, now))).toBe('forged');
  });

  it.each([
    '',
    '.',
    'abc',
    'a.b',
    'v2.',
    'v2..mac',
    'v3.e30.mac',
    'v2.e30.mac.extra',
    `${token} `,
    `${token}=`,
    'v2.e30.' + 'A'.repeat(5000),
  ])('refuse the malformed token %j', (malformed) => {
    expect(refusal(() => verifyToken(greeting, malformed, key, now))).toBe('malformed');
  });

  it('refuse an authentic token whose data does not fit the schema as malformed', () => {
    const body = { p: 'greeting', e: 1_900_000_000, d: { to: 'someone', times: 'two' } };
    expect(refusal(() => verifyToken(greeting, withBody(body), key, now))).toBe('malformed');
  });

  it('refuse an authentic token whose body is not the envelope as malformed', () => {
    for (const body of [{ p: 'greeting', d: data }, { p: 'greeting', e: 1.5, d: data }, [1]]) {
      expect(refusal(() => verifyToken(greeting, withBody(body), key, now))).toBe('malformed');
    }
  });

  it('say only the reason, never the token or its data', () => {
    const error = (() => {
      try {
        verifyToken(farewell, token, key, now);
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error?.message).toBe('Signed token refused: wrong-purpose');
    expect(error?.message).not.toContain('someone');
  });

  it('refuse any single-character change', () => {
    const alphabet = Array.from(
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ',
    );
    fc.assert(
      fc.property(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(...alphabet),
        (index, replacement) => {
          fc.pre(token[index] !== replacement);
          const changed = token.slice(0, index) + replacement + token.slice(index + 1);
          expect(refusal(() => verifyToken(greeting, changed, key, now))).not.toBe('accepted');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuse to sign data its own verifier would refuse, or for an unusable purpose or key', () => {
    expect(() => signToken(greeting, { to: 'x' } as never, key, expiresAt)).toThrow(TypeError);
    expect(() => signToken({ ...greeting, purpose: 'Bad:purpose' }, data, key, expiresAt)).toThrow(
      TypeError,
    );
    expect(() => signToken(greeting, data, '', expiresAt)).toThrow(TypeError);
    expect(() => signToken(greeting, data, key, new Date(Number.NaN))).toThrow(RangeError);
  });

  it('refuse to verify with an empty key or an invalid current time', () => {
    expect(() => verifyToken(greeting, token, '', now)).toThrow(TypeError);
    expect(() => verifyToken(greeting, token, key, new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('version 1 (unbound) tokens', () => {
  const acceptsV1 = { ...greeting, acceptsUnboundV1: true };
  const v1 = legacy({ v: 1, to: 'someone', times: 2, e: expiresAt.getTime() / 1000 });

  it('are read, with the version and expiry fields taken out of the data, for a kind that opts in', () => {
    expect(verifyToken(acceptsV1, v1, key, now)).toEqual({ data, expiresAt });
  });

  it('are refused as malformed by a kind that does not opt in', () => {
    expect(refusal(() => verifyToken(greeting, v1, key, now))).toBe('malformed');
  });

  it('are refused when signed with another key, expired, or of another version', () => {
    const otherKey = legacy({ v: 1, to: 'someone', times: 2, e: 1_900_000_000 }, 'another-key');
    expect(refusal(() => verifyToken(acceptsV1, otherKey, key, now))).toBe('forged');
    expect(refusal(() => verifyToken(acceptsV1, v1, key, expiresAt))).toBe('expired');
    const v2Body = legacy({ v: 2, to: 'someone', times: 2, e: 1_900_000_000 });
    expect(refusal(() => verifyToken(acceptsV1, v2Body, key, now))).toBe('malformed');
  });

  it('cannot be made from a version 2 token', () => {
    const [, body, mac] = token.split('.');
    expect(refusal(() => verifyToken(acceptsV1, `${String(body)}.${String(mac)}`, key, now))).toBe(
      'forged',
    );
  });
});

describe('purpose MACs', () => {
  it('are HMAC-SHA256 over purpose ":" message, cut to the length asked', () => {
    const full = createHmac('sha256', key).update('greeting:hello').digest('base64url');
    expect(purposeMac('greeting', 'hello', key)).toBe(full);
    expect(purposeMac('greeting', 'hello', key, 22)).toBe(full.slice(0, 22));
  });

  it('differ by purpose', () => {
    expect(purposeMac('greeting', 'hello', key)).not.toBe(purposeMac('farewell', 'hello', key));
  });

  it('are never cut below 132 bits', () => {
    expect(() => purposeMac('greeting', 'hello', key, 21)).toThrow(RangeError);
    expect(() => purposeMac('greeting', 'hello', key, 44)).toThrow(RangeError);
  });

  it('cannot stand in for a signed token of the same purpose', () => {
    const signed = `v2.${base64url(JSON.stringify({ p: 'greeting', e: 1_900_000_000, d: data }))}`;
    const forged = `${signed}.${purposeMac('greeting', signed, key)}`;
    expect(refusal(() => verifyToken(greeting, forged, key, now))).toBe('forged');
  });

  it('match only an identical MAC', () => {
    const mac = purposeMac('greeting', 'hello', key);
    expect(macsMatch(mac, mac)).toBe(true);
    expect(macsMatch(mac.slice(0, -1), mac)).toBe(false);
    expect(macsMatch(`${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`, mac)).toBe(false);
  });
});
