import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import {
  InvalidUnsubscribeTokenError,
  signUnsubscribeToken,
  unsubscribeLink,
  verifyUnsubscribeToken,
} from '#notifications/unsubscribe-link';
import { signToken, type TokenKind } from '#platform/signed-token';
import * as z from '#platform/validation';

const key = 'k'.repeat(64);
const now = new Date('2026-11-25T12:00:00Z');
const request = {
  userId: 'u-dev',
  preference: 'developerExpiredToken' as const,
  expiresAt: new Date('2027-01-25T12:00:00Z'),
};

describe('one-click unsubscribe tokens', () => {
  it('round-trip the user, the preference and the expiry', () => {
    const token = signUnsubscribeToken(request, key);
    expect(verifyUnsubscribeToken(token, key, now)).toEqual(request);
  });

  it('reject a token signed with another key', () => {
    const token = signUnsubscribeToken(request, 'other-key');
    expect(() => verifyUnsubscribeToken(token, key, now)).toThrow(InvalidUnsubscribeTokenError);
  });

  it('reject a token whose payload was altered to name someone else', () => {
    const [, signature] = signUnsubscribeToken(request, key).split('.');
    const forged = Buffer.from(
      JSON.stringify({ v: 1, u: 'u-victim', p: 'ownerExpiredToken', e: 1_900_000_000 }),
    ).toString('base64url');
    expect(() => verifyUnsubscribeToken(`${forged}.${String(signature)}`, key, now)).toThrow(
      /not valid/,
    );
  });

  it('reject an expired token', () => {
    const token = signUnsubscribeToken({ ...request, expiresAt: new Date(now.getTime() - 1) }, key);
    expect(() => verifyUnsubscribeToken(token, key, now)).toThrow(/expired/);
  });

  it.each(['', 'abc', 'a.b.c', '.', 'x.', `${Buffer.from('{}').toString('base64url')}.sig`])(
    'reject the malformed token %j',
    (token) => {
      expect(() => verifyUnsubscribeToken(token, key, now)).toThrow(InvalidUnsubscribeTokenError);
    },
  );

  it('reject a correctly signed payload of the wrong shape', () => {
    const payload = Buffer.from(JSON.stringify({ v: 1, u: 'u', p: 'everything', e: 2e9 })).toString(
      'base64url',
    );
    const signature = createHmac('sha256', key).update(payload).digest('base64url');
    expect(() => verifyUnsubscribeToken(`${payload}.${signature}`, key, now)).toThrow(/malformed/);
  });

  it('build a link that keeps the API path and carries the token', () => {
    expect(unsubscribeLink('https://api.example.com/prod/unsubscribe', 'a.b')).toBe(
      'https://api.example.com/prod/unsubscribe?token=a.b',
    );
  });
});

describe('unsubscribe links emailed before the signed-token helper', () => {
  // A verbatim copy of the signer those emails were made with: they stay valid for 90 days.
  const signBeforeHelper = (r: typeof request, signingKey: string) => {
    const payload = Buffer.from(
      JSON.stringify({
        v: 1,
        u: r.userId,
        p: r.preference,
        e: Math.floor(r.expiresAt.getTime() / 1000),
      }),
    ).toString('base64url');
    const signature = createHmac('sha256', signingKey).update(payload).digest('base64url');
    return `${payload}.${signature}`;
  };

  it('still verify, naming the same user, preference and expiry', () => {
    expect(verifyUnsubscribeToken(signBeforeHelper(request, key), key, now)).toEqual(request);
  });

  it('still expire when they said they would', () => {
    const token = signBeforeHelper(request, key);
    expect(() => verifyUnsubscribeToken(token, key, request.expiresAt)).toThrow(
      'This unsubscribe link has expired.',
    );
  });

  it('are refused when signed with another key or altered', () => {
    const otherKey = signBeforeHelper(request, 'other-key');
    expect(() => verifyUnsubscribeToken(otherKey, key, now)).toThrow(
      'This unsubscribe link is not valid.',
    );
    const [payload] = signBeforeHelper(request, key).split('.');
    const [, signature] = signBeforeHelper({ ...request, userId: 'u-other' }, key).split('.');
    expect(() =>
      verifyUnsubscribeToken(`${String(payload)}.${String(signature)}`, key, now),
    ).toThrow('This unsubscribe link is not valid.');
  });
});

describe('unsubscribe links signed now', () => {
  it('are bound to their purpose: a token for anything else never unsubscribes', () => {
    const other: TokenKind<{ u: string; p: string }> = {
      purpose: 'something-else',
      schema: z.strictObject({ u: z.string(), p: z.string() }),
    };
    const token = signToken(
      other,
      { u: 'u-dev', p: 'developerExpiredToken' },
      key,
      request.expiresAt,
    );
    expect(() => verifyUnsubscribeToken(token, key, now)).toThrow(
      'This unsubscribe link is not valid.',
    );
  });

  it('carry why they were refused, for the logs', () => {
    const token = signUnsubscribeToken(request, key);
    const error = (() => {
      try {
        verifyUnsubscribeToken(token, key, request.expiresAt);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidUnsubscribeTokenError);
    expect(error).toMatchObject({
      reason: 'expired',
      message: 'This unsubscribe link has expired.',
    });
  });
});
