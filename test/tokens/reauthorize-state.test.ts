// Lives here because it pins the MAC primitive to the OAuth state it replaced; it belongs in
// test/tokens/ once that folder exists.
import { describe, expect, it } from 'vitest';
import { reauthorizeState } from '#tokens/reauthorize';

describe('the OAuth state for re-authorizing', () => {
  // Computed with the hand-rolled HMAC that preceded the MAC primitive: the frontend reads the
  // account id from this value, so not one byte of it may change.
  it.each([
    [
      '17841400000000001',
      'u-owner',
      'app-secret-0123456789',
      '17841400000000001.8x-mD-XoPNV5Z-2rd9I0f0',
    ],
    ['acc_-9', 'user:with:colons', 's', 'acc_-9.0uWjkZalT996qEhoYwZ_2C'],
  ])('is byte for byte what it was for %s', (accountId, userId, appSecret, expected) => {
    expect(reauthorizeState(accountId, userId, appSecret)).toBe(expected);
  });

  it('is the account id, a dot, and a 22-character base64url MAC', () => {
    expect(reauthorizeState('17841400000000001', 'u-owner', 'secret')).toMatch(
      /^17841400000000001\.[A-Za-z0-9_-]{22}$/,
    );
  });
});
