/**
 * The email of one notice to one recipient, as the notifier sends it at once and as the digest
 * flush sends a window's only notice: the same words either way.
 */
import type { OutgoingEmail } from '#platform/ses';
import type { Announcement } from './announcements';
import { emailLinks, unsubscribeHeaders, type LinkSettings } from './email-links';
import type { DigestNotice, EmailRenderer } from './emails';
import { templateName, type Audience } from './occasions';
import { preferenceGoverning } from './preferences';

export interface NoticeRecipient {
  userId: string;
  audience: Audience;
  name: string;
  email: string;
}

/** The links of one account's notice to `recipient`, signed with `key`. */
export const noticeLinks = (
  settings: LinkSettings,
  announcement: Pick<Announcement, 'accountId' | 'kind'>,
  recipient: Pick<NoticeRecipient, 'userId' | 'audience'>,
  key: string,
  now: Date,
) =>
  emailLinks(
    settings,
    {
      accountId: announcement.accountId,
      audience: recipient.audience,
      userId: recipient.userId,
      preference: preferenceGoverning(announcement.kind, recipient.audience),
    },
    key,
    now,
  );

export function noticeEmail(
  deps: LinkSettings & { renderer: EmailRenderer },
  announcement: Announcement,
  username: string,
  recipient: NoticeRecipient,
  key: string,
  now: Date,
): OutgoingEmail {
  const links = noticeLinks(deps, announcement, recipient, key, now);
  const rendered = deps.renderer.render(templateName(announcement.kind, recipient.audience), {
    name: recipient.name,
    username,
    expiresAt: announcement.expiresAt,
    ...announcement.facts(now),
    ...links,
  });
  return { to: recipient.email, ...rendered, headers: unsubscribeHeaders(links.unsubscribeUrl) };
}

/** One notice as a line of a digest: its own email's facts and links, without the recipient's. */
export function digestNotice(
  settings: LinkSettings,
  announcement: Announcement,
  username: string,
  recipient: Pick<NoticeRecipient, 'userId' | 'audience'>,
  key: string,
  now: Date,
): DigestNotice {
  const { actionUrl, reconnectLinkUrl } = noticeLinks(settings, announcement, recipient, key, now);
  return {
    kind: announcement.kind,
    username,
    expiresAt: announcement.expiresAt,
    actionUrl,
    ...(reconnectLinkUrl ? { reconnectLinkUrl } : {}),
    ...announcement.facts(now),
  } as DigestNotice;
}
