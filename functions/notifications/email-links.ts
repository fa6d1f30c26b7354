/**
 * The links an email carries: where to act (the owner reconnects on their accounts page; a
 * developer lands on the client's account), where to change preferences, and a signed one-click
 * unsubscribe link (RFC 8058) that turns off exactly the preference that let this email through.
 */
import type { Audience } from './occasions';
import type { PreferenceName } from './preferences';
import { signUnsubscribeToken, unsubscribeLink } from './unsubscribe-link';

/** How long a one-click unsubscribe link in an email keeps working. */
export const unsubscribeLinkDays = 90;

export interface LinkSettings {
  /** the frontend's base URL, without a trailing slash */
  appUrl: string;
  /** the full URL of `POST /unsubscribe` */
  unsubscribeUrl: string;
}

export interface EmailLinks {
  actionUrl: string;
  preferencesUrl: string;
  unsubscribeUrl: string;
  /** a developer's: where to make a reconnect link for the client (the settings page's anchor) */
  reconnectLinkUrl?: string;
}

/** The account in the app, as a developer (or a reconnect link's creator) reaches it. */
export const accountUrl = (appUrl: string, accountId: string) =>
  `${appUrl}/instagram-accounts?account=${encodeURIComponent(accountId)}`;

/** The app page where a reconnect link for the account is made. */
export const reconnectLinkPageUrl = (appUrl: string, accountId: string) =>
  `${accountUrl(appUrl, accountId)}#reconnect-link`;

export function emailLinks(
  settings: LinkSettings,
  email: { accountId: string; audience: Audience; userId: string; preference: PreferenceName },
  signingKey: string,
  now: Date,
): EmailLinks {
  const token = signUnsubscribeToken(
    {
      userId: email.userId,
      preference: email.preference,
      expiresAt: new Date(now.getTime() + unsubscribeLinkDays * 86_400_000),
    },
    signingKey,
  );
  return {
    actionUrl:
      email.audience === 'owner'
        ? `${settings.appUrl}/instagram-accounts`
        : accountUrl(settings.appUrl, email.accountId),
    preferencesUrl: `${settings.appUrl}/settings#notifications`,
    unsubscribeUrl: unsubscribeLink(settings.unsubscribeUrl, token),
    ...(email.audience === 'developer'
      ? { reconnectLinkUrl: reconnectLinkPageUrl(settings.appUrl, email.accountId) }
      : {}),
  };
}

/** The headers that make the unsubscribe link one click in a mail client. */
export const unsubscribeHeaders = (unsubscribeUrl: string) => [
  { name: 'List-Unsubscribe', value: `<${unsubscribeUrl}>` },
  { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
];
