import { describe, expect, it } from 'vitest';
import { readConfig } from '#platform/config';
import { DAY_MS } from '#tokens/lifecycle';
import {
  defaultTokenSchedule,
  firstRefreshAt,
  nextAnnouncement,
  refreshRetryAt,
  refreshRetryDelayMs,
  tokenScheduleEnvironment,
  tokenScheduleFrom,
} from '#tokens/token-schedule';

const now = new Date('2026-12-01T12:00:00.000Z');
const inDays = (days: number) => new Date(now.getTime() + days * DAY_MS).toISOString();
const schedule = defaultTokenSchedule;

describe('the next announcement of an active token', () => {
  it('is its first warning, 7 days before its expiry, for a new token', () => {
    expect(nextAnnouncement(inDays(60), now, schedule)).toEqual({
      step: 'warning',
      daysLeft: 7,
      at: inDays(53),
    });
  });

  it('is the 1-day warning after the 7-day one, then the expiry', () => {
    expect(nextAnnouncement(inDays(7), now, schedule, 7)).toEqual({
      step: 'warning',
      daysLeft: 1,
      at: inDays(6),
    });
    expect(nextAnnouncement(inDays(1), now, schedule, 1)).toEqual({
      step: 'expiry',
      at: inDays(1),
    });
  });

  it('is due now for a token stored inside a step, and only the most urgent of passed steps', () => {
    expect(nextAnnouncement(inDays(3), now, schedule)).toEqual({
      step: 'warning',
      daysLeft: 7,
      at: inDays(-4),
    });
    expect(nextAnnouncement(inDays(0.5), now, schedule)).toEqual({
      step: 'warning',
      daysLeft: 1,
      at: inDays(-0.5),
    });
  });

  it('is the expiry once it has passed, whatever was warned', () => {
    expect(nextAnnouncement(inDays(-1), now, schedule)).toEqual({
      step: 'expiry',
      at: inDays(-1),
    });
  });

  it('is the expiry alone when no warnings are configured', () => {
    expect(nextAnnouncement(inDays(3), now, { ...schedule, warnBeforeDays: [] })).toEqual({
      step: 'expiry',
      at: inDays(3),
    });
  });
});

describe('the refresh schedule', () => {
  it('refreshes 14 days before the expiry, but not before the token is a day old', () => {
    expect(firstRefreshAt({ expiresAt: inDays(60), issuedAt: inDays(0) }, schedule)).toBe(
      inDays(46),
    );
    expect(firstRefreshAt({ expiresAt: inDays(10), issuedAt: inDays(0) }, schedule)).toBe(
      inDays(1),
    );
  });

  it('has no refresh for a token that expires before it is a day old', () => {
    expect(
      firstRefreshAt({ expiresAt: inDays(0.5), issuedAt: inDays(0) }, schedule),
    ).toBeUndefined();
  });

  it('backs off 1, 2, 4, 8 hours, then every 12 hours', () => {
    expect([1, 2, 3, 4, 5, 6, 20].map((n) => refreshRetryDelayMs(n) / 3_600_000)).toEqual([
      1, 2, 4, 8, 12, 12, 12,
    ]);
  });

  it('tries a last time an hour before the expiry, and never after', () => {
    expect(refreshRetryAt(inDays(10), now, 1)).toBe(inDays(1 / 24));
    expect(refreshRetryAt(inDays(0.25), now, 5)).toBe(inDays(0.25 - 1 / 24));
    expect(refreshRetryAt(inDays(1 / 48), now, 1)).toBeUndefined();
  });
});

describe('the schedule from the environment', () => {
  it('defaults to 14 days and warnings at 7 and 1', () => {
    expect(tokenScheduleFrom(readConfig(tokenScheduleEnvironment, {}))).toEqual({
      refreshBeforeDays: 14,
      warnBeforeDays: [7, 1],
    });
  });

  it('reads a list of days in any order, largest first, without repeats', () => {
    const config = readConfig(tokenScheduleEnvironment, {
      REFRESH_BEFORE_DAYS: '21',
      WARN_BEFORE_DAYS: '1, 3,14,3',
    });
    expect(tokenScheduleFrom(config)).toEqual({
      refreshBeforeDays: 21,
      warnBeforeDays: [14, 3, 1],
    });
  });

  it('reads an empty list as no warnings', () => {
    expect(readConfig(tokenScheduleEnvironment, { WARN_BEFORE_DAYS: '' }).WARN_BEFORE_DAYS).toEqual(
      [],
    );
  });

  it.each(['seven', '7;1', '0', '60', '7,,1'])('refuses WARN_BEFORE_DAYS=%j', (value) => {
    expect(() => readConfig(tokenScheduleEnvironment, { WARN_BEFORE_DAYS: value })).toThrow(
      /WARN_BEFORE_DAYS/,
    );
  });
});
