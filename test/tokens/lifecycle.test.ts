import { describe, expect, it } from 'vitest';
import {
  causeFits,
  causeOfRejection,
  defaultCause,
  displayedCause,
  displayedStatus,
  inferredIssuedAt,
  isPastExpiry,
  lostAs,
  refreshVerdict,
  staleReason,
} from '#tokens/lifecycle';

const now = new Date('2026-11-25T12:00:00.000Z');
const at = (hoursFromNow: number) =>
  new Date(now.getTime() + hoursFromNow * 3_600_000).toISOString();

describe('the token lifecycle', () => {
  it('counts a token as past its expiry from the very instant it expires', () => {
    expect(isPastExpiry({ expiresAt: at(0) }, now)).toBe(true);
    expect(isPastExpiry({ expiresAt: at(1 / 3600) }, now)).toBe(false);
  });

  it('shows an active token past its expiry as expired before the check marks it', () => {
    expect(displayedStatus({ tokenStatus: 'active', expiresAt: at(-1) }, now)).toBe('expired');
    expect(displayedStatus({ tokenStatus: 'active', expiresAt: at(1) }, now)).toBe('active');
    expect(displayedStatus({ tokenStatus: 'invalid', expiresAt: at(100) }, now)).toBe('invalid');
  });

  it('refreshes an active token a day old or more, leaves a younger one, and sends a lost one to Instagram again', () => {
    const token = { tokenStatus: 'active' as const, expiresAt: at(24 * 50) };
    expect(refreshVerdict({ ...token, issuedAt: at(-24) }, now)).toBe('refresh');
    expect(refreshVerdict({ ...token, issuedAt: at(-23.9) }, now)).toBe('too-young');
    expect(refreshVerdict({ ...token, issuedAt: 'unknown' }, now)).toBe('refresh');
    expect(refreshVerdict({ ...token, expiresAt: at(-1), issuedAt: at(-24 * 60) }, now)).toBe(
      'reauthorize',
    );
    expect(refreshVerdict({ ...token, tokenStatus: 'invalid', issuedAt: at(-48) }, now)).toBe(
      'reauthorize',
    );
    expect(lostAs({ tokenStatus: 'invalid' })).toBe('invalid');
    expect(lostAs({ tokenStatus: 'active' })).toBe('expired');
  });

  it('infers an unknown issue time as 60 days before expiry, never later than now', () => {
    expect(inferredIssuedAt(at(24 * 60), now)).toBe(now.toISOString());
    expect(inferredIssuedAt(at(24 * 59), now)).toBe(at(-24));
    expect(inferredIssuedAt(at(24 * 61), now)).toBe(now.toISOString());
  });

  it('says when an announced loss no longer holds', () => {
    const account = { tokenStatus: 'expired' as const, expiresAt: at(-1), generation: 3 };
    const announced = { generation: 3, reason: 'expired' as const };
    expect(staleReason(announced, account, now)).toBeUndefined();
    expect(staleReason(announced, undefined, now)).toBe('account-gone');
    expect(staleReason(announced, { ...account, generation: 4 }, now)).toBe('token-replaced');
    expect(
      staleReason(announced, { ...account, tokenStatus: 'active', expiresAt: at(5) }, now),
    ).toBe('token-active-again');
    // An invalid token is announced before its expiry: still active then means "not marked yet".
    expect(
      staleReason(
        { generation: 3, reason: 'invalid' },
        { ...account, tokenStatus: 'active', expiresAt: at(5) },
        now,
      ),
    ).toBeUndefined();
  });
});

describe('the cause of a lost token', () => {
  it.each([
    [458, 'app-removed'],
    [459, 'checkpoint'],
    [460, 'password-changed'],
    [463, 'session-invalidated'],
    [464, 'checkpoint'],
    [467, 'session-invalidated'],
    [undefined, 'session-invalidated'],
    [33, 'session-invalidated'],
  ] as const)('reads OAuthException 190 with subcode %s as %s', (subcode, cause) => {
    expect(causeOfRejection({ code: 190, subcode })).toBe(cause);
  });

  it('reads a refusal that is not 190 as a session Instagram ended, whatever its subcode', () => {
    expect(causeOfRejection({ code: 102, subcode: 460 })).toBe('session-invalidated');
    expect(causeOfRejection({})).toBe('session-invalidated');
  });

  it('reads a loss without a cause, from before causes existed, by its status', () => {
    expect(defaultCause('expired')).toBe('expired');
    expect(defaultCause('invalid')).toBe('session-invalidated');
  });

  it('lets only expired go with an expired token, and every other cause with an invalid one', () => {
    expect(causeFits('expired', 'expired')).toBe(true);
    expect(causeFits('expired', 'checkpoint')).toBe(false);
    expect(causeFits('invalid', 'expired')).toBe(false);
    expect(causeFits('invalid', 'app-removed')).toBe(true);
    expect(causeFits('active', 'expired')).toBe(false);
  });

  it('shows no cause for an active token, expired for one past its expiry, and the stored one otherwise', () => {
    expect(displayedCause({ tokenStatus: 'active', expiresAt: at(5) }, now)).toBeUndefined();
    expect(displayedCause({ tokenStatus: 'active', expiresAt: at(-1) }, now)).toBe('expired');
    expect(
      displayedCause({ tokenStatus: 'invalid', expiresAt: at(5), cause: 'checkpoint' }, now),
    ).toBe('checkpoint');
    expect(displayedCause({ tokenStatus: 'invalid', expiresAt: at(5) }, now)).toBe(
      'session-invalidated',
    );
    expect(displayedCause({ tokenStatus: 'expired', expiresAt: at(-5) }, now)).toBe('expired');
  });
});
