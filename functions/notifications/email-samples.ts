/**
 * Sample data for every email, as `npm run preview`, the tests and the benchmark render them:
 * apart from emails.ts so that no function bundles them.
 */
import type {
  DigestEmailData,
  ExpiredTokenEmailData,
  ExpiringTokenEmailData,
  ReconnectedEmailData,
  ReminderEmailData,
} from './emails';

/** Where a developer makes a reconnect link (the owner's emails leave it out). */
const sampleReconnectLinkUrl =
  'https://app.example.com/instagram-accounts?account=17841400000000001#reconnect-link';

export const sampleEmailData: ExpiredTokenEmailData = {
  name: 'Ann Example',
  username: 'ann.bakery',
  reason: 'expired',
  expiresAt: '2026-11-25T12:00:00.000Z',
  actionUrl: 'https://app.example.com/instagram-accounts',
  preferencesUrl: 'https://app.example.com/settings#notifications',
  unsubscribeUrl: 'https://api.example.com/unsubscribe?token=sample',
  reconnectLinkUrl: sampleReconnectLinkUrl,
};

/** A warning of the 7-day step, written 6 days and 3 hours before the expiry. */
export const sampleExpiringEmailData: ExpiringTokenEmailData = {
  name: 'Ann Example',
  username: 'ann.bakery',
  expiresAt: '2026-11-25T12:00:00.000Z',
  writtenAt: '2026-11-19T09:00:00.000Z',
  actionUrl: 'https://app.example.com/instagram-accounts',
  preferencesUrl: 'https://app.example.com/settings#notifications',
  unsubscribeUrl: 'https://api.example.com/unsubscribe?token=sample',
  reconnectLinkUrl: sampleReconnectLinkUrl,
};

/** The reminder of the 7-day step about a token that expired on 25 November. */
export const sampleReminderEmailData: ReminderEmailData = {
  ...sampleEmailData,
  daysSince: 7,
  last: false,
};

/**
 * A digest of five notices about five accounts, one of each kind and several causes: a token
 * that expired, one whose password was changed, a warning, a reminder of a security check, and
 * the last reminder of an access removed. The owner's links; a developer's digest takes each
 * notice's `actionUrl` as the client's account (`sampleDeveloperDigestEmailData`).
 */
export const sampleDigestEmailData: DigestEmailData = {
  name: 'Ann Example',
  preferencesUrl: 'https://app.example.com/settings#notifications',
  unsubscribeUrl: 'https://api.example.com/unsubscribe?token=sample',
  accountsUrl: 'https://app.example.com/instagram-accounts',
  notices: [
    {
      kind: 'expired',
      username: 'ann.bakery',
      reason: 'expired',
      cause: 'expired',
      expiresAt: '2026-11-25T12:00:00.000Z',
      actionUrl: 'https://app.example.com/instagram-accounts',
      reconnectLinkUrl: sampleReconnectLinkUrl,
    },
    {
      kind: 'expired',
      username: 'ann.cafe',
      reason: 'invalid',
      cause: 'password-changed',
      expiresAt: '2026-12-20T08:30:00.000Z',
      actionUrl: 'https://app.example.com/instagram-accounts',
      reconnectLinkUrl:
        'https://app.example.com/instagram-accounts?account=17841400000000002#reconnect-link',
    },
    {
      kind: 'expiring',
      username: 'ann.catering',
      expiresAt: '2026-12-02T09:00:00.000Z',
      writtenAt: '2026-11-25T12:40:00.000Z',
      actionUrl: 'https://app.example.com/instagram-accounts',
      reconnectLinkUrl:
        'https://app.example.com/instagram-accounts?account=17841400000000003#reconnect-link',
    },
    {
      kind: 'reminder',
      username: 'ann.pastry',
      reason: 'invalid',
      cause: 'checkpoint',
      daysSince: 7,
      last: false,
      expiresAt: '2026-12-28T18:00:00.000Z',
      actionUrl: 'https://app.example.com/instagram-accounts',
      reconnectLinkUrl:
        'https://app.example.com/instagram-accounts?account=17841400000000004#reconnect-link',
    },
    {
      kind: 'reminder',
      username: 'ann.weddings',
      reason: 'invalid',
      cause: 'app-removed',
      daysSince: 28,
      last: true,
      expiresAt: '2027-01-10T10:00:00.000Z',
      actionUrl: 'https://app.example.com/instagram-accounts',
      reconnectLinkUrl:
        'https://app.example.com/instagram-accounts?account=17841400000000005#reconnect-link',
    },
  ],
};

/** The same digest for a developer: each notice leads to the client's account in the app. */
export const sampleDeveloperDigestEmailData: DigestEmailData = {
  ...sampleDigestEmailData,
  name: 'Dev Example',
  notices: sampleDigestEmailData.notices.map((notice) => ({
    ...notice,
    actionUrl: (notice.reconnectLinkUrl ?? '').replace(/#reconnect-link$/, ''),
  })),
};

/** A client used the link on 26 November, a day after the token expired. */
export const sampleReconnectedEmailData: ReconnectedEmailData = {
  name: 'Dev Example',
  username: 'ann.bakery',
  reconnectedAt: '2026-11-26T15:42:00.000Z',
  actionUrl: 'https://app.example.com/instagram-accounts?account=17841400000000001',
};
