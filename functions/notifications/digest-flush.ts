/**
 * The digest flush (run every few minutes): every recipient whose window ended with notices
 * waiting gets them in one email (a digest, or the notice's own email when it is the only one),
 * and, once a storm is released, every recipient of a held notice gets theirs the same way; a
 * discarded storm's notices are recorded as discarded and sent to nobody.
 *
 * Per recipient: claim each waiting notice (its record, with a lease), look again that each still
 * holds (the token not replaced, the account there, the recipient still its owner or developer,
 * the preference on, an address known) and record the others as dropped, send one email per
 * audience (a person can be owner of one account and developer of another; each email's
 * unsubscribe link turns off the one preference that let it through), then complete the records.
 * A notice is thus in exactly one email, or recorded as why none. Outside the crash window (SES
 * took the email, the process died before the records) nobody gets one twice: then the lease
 * runs out and the next run sends that email again, as for any email (send-once.ts).
 */
import { randomUUID } from 'node:crypto';
import { errorName, type LogSink } from '#platform/observability';
import { MailNotSentError, type Mailer, type OutgoingEmail } from '#platform/ses';
import type { ProfileReader } from '#people/profiles';
import { addressDomain, isSuppressed } from '#people/suppression';
import type { EmailStatusReader } from '#people/suppression-store';
import type { StormStore } from '#storm/storm-store';
import type { AccountReader } from '#tokens/accounts';
import type { AccountSummary } from '#tokens/account';
import type { DeveloperRoleReader } from '#tokens/developer-roles';
import { announcementOf, type Announcement } from './announcements';
import { unsubscribeHeaders, type LinkSettings } from './email-links';
import type { EmailRenderer } from './emails';
import { digestNotice, noticeEmail, noticeLinks } from './notice-email';
import type { Audience } from './occasions';
import { preferenceGoverning } from './preferences';
import type { PreferencesReader } from './preferences-store';
import { statusesOf, suppressedReason } from './suppressed';
import type { ClaimedNotice, DueNotice, WaitingNoticeStore } from './waiting-notices';

export interface DigestFlushDependencies extends LinkSettings {
  store: WaitingNoticeStore &
    Pick<StormStore, 'getStormState'> &
    AccountReader &
    Pick<DeveloperRoleReader, 'listDeveloperIds'> &
    PreferencesReader &
    ProfileReader &
    Pick<EmailStatusReader, 'emailStatusesOf'>;
  mailer: Mailer;
  renderer: EmailRenderer;
  unsubscribeKey: () => Promise<string>;
  clock: () => Date;
  leaseSeconds: number;
  /** the recipients' window: after an email, their next notice waits this long */
  windowMinutes: number;
  /** days of pending buckets read, for a flush that could not run for a while */
  lookbackDays: number;
  log: LogSink;
  remainingMs?: () => number;
  /** @default 10_000 */
  reserveMs?: number;
}

export interface DigestFlushSummary {
  /** waiting notices found due */
  due: number;
  recipients: number;
  /** emails sent: digests, and single notices a window had alone */
  emails: number;
  digests: number;
  /** notices told in those emails */
  told: number;
  /** stale by now (token replaced, account gone, preference off, no address): in no email */
  dropped: number;
  /** held by a storm an operator discarded: in no email, recorded */
  discarded: number;
  /**
   * the recipient's address was reported by SES (bounced, complained): in no email, recorded as
   * dropped with the reason
   */
  suppressed: number;
  /** claimed by another flush; its lease decides */
  busy: number;
  /** emails not sent: their notices wait for the next run */
  failed: number;
  /** a storm is on: nothing was sent (what was claimed went back) */
  stormOn: boolean;
  /** stopped before the time reserve: the rest wait for the next run */
  outOfTime: boolean;
}

export async function flushDigests(deps: DigestFlushDependencies): Promise<DigestFlushSummary> {
  const summary: DigestFlushSummary = {
    due: 0,
    recipients: 0,
    emails: 0,
    digests: 0,
    told: 0,
    dropped: 0,
    discarded: 0,
    suppressed: 0,
    busy: 0,
    failed: 0,
    stormOn: false,
    outOfTime: false,
  };
  const state = await deps.store.getStormState();
  if (state.status === 'storm') {
    // Held, and pending digests alike: nothing goes to customers until an operator decides.
    return { ...summary, stormOn: true };
  }
  const byRecipient = new Map<string, DueNotice[]>();
  for await (const page of deps.store.dueNotices(deps.clock(), {
    lookbackDays: deps.lookbackDays,
    held: true,
  })) {
    for (const notice of page) {
      summary.due += 1;
      byRecipient.set(notice.userId, [...(byRecipient.get(notice.userId) ?? []), notice]);
    }
  }
  const key = byRecipient.size > 0 ? await deps.unsubscribeKey() : '';
  for (const [userId, notices] of byRecipient) {
    if (deps.remainingMs && deps.remainingMs() < (deps.reserveMs ?? 10_000)) {
      summary.outOfTime = true;
      break;
    }
    summary.recipients += 1;
    let result: 'done' | 'storm';
    try {
      result = await flushRecipient(deps, summary, userId, notices, key, state.endings ?? {});
    } catch (error) {
      // One recipient's trouble never holds back the others: what it claimed comes back to the
      // next run once the lease ran out.
      summary.failed += 1;
      deps.log.error('Could not flush one recipient’s notices; the next run tries again', {
        userId,
        error: errorName(error),
      });
      continue;
    }
    if (result === 'storm') {
      summary.stormOn = true;
      break;
    }
  }
  deps.log.info('Digest flush finished', { summary });
  return summary;
}

type StormEndings = NonNullable<Awaited<ReturnType<StormStore['getStormState']>>['endings']>;
type FreshNotices = Awaited<ReturnType<typeof freshNotices>>;

async function flushRecipient(
  flush: DigestFlushDependencies,
  summary: DigestFlushSummary,
  userId: string,
  due: readonly DueNotice[],
  signingKey: string,
  endings: StormEndings,
): Promise<'done' | 'storm'> {
  const claimId = randomUUID();
  const now = flush.clock();
  const lease = { claimId, now, leaseSeconds: flush.leaseSeconds };
  if (!(await flush.store.takeRecipientFlush(userId, lease))) {
    // Another flush is sending this person's notices: they go in its email, not a second one.
    summary.busy += due.length;
    return 'done';
  }
  try {
    return await flushClaimed(flush, summary, { userId, due, signingKey, endings, claimId, now });
  } finally {
    await flush.store.releaseRecipientFlush(userId, claimId);
  }
}

async function flushClaimed(
  flush: DigestFlushDependencies,
  summary: DigestFlushSummary,
  recipient: {
    userId: string;
    due: readonly DueNotice[];
    signingKey: string;
    endings: StormEndings;
    claimId: string;
    now: Date;
  },
): Promise<'done' | 'storm'> {
  const { userId, due, signingKey, endings, claimId, now } = recipient;
  const claimed: ClaimedNotice[] = [];
  for (const notice of due) {
    const result = await flush.store.claimWaitingNotice(notice, {
      claimId,
      now,
      leaseSeconds: flush.leaseSeconds,
    });
    if (result.kind === 'claimed') claimed.push(result.notice);
    if (result.kind === 'busy') summary.busy += 1;
  }
  const toTell: ClaimedNotice[] = [];
  for (const notice of claimed) {
    const ending = notice.heldIn ? endings[notice.heldIn] : undefined;
    if (notice.waitingAs === 'held' && ending?.action === 'discard') {
      await flush.store.settleWaitingNotice(notice, claimId, {
        status: 'discarded',
        reason: `storm of ${notice.heldIn ?? 'unknown'} discarded`,
        at: now,
      });
      summary.discarded += 1;
    } else toTell.push(notice);
  }
  const fresh = await freshNotices(flush, summary, userId, toTell, claimId, now);
  return sendToRecipient(flush, summary, { userId, fresh, signingKey, claimId, now });
}

/** One email per audience of the recipient's fresh notices; the window extended after. */
async function sendToRecipient(
  flush: DigestFlushDependencies,
  summary: DigestFlushSummary,
  recipient: {
    userId: string;
    fresh: FreshNotices;
    signingKey: string;
    claimId: string;
    now: Date;
  },
): Promise<'done' | 'storm'> {
  const { userId, fresh, signingKey, claimId, now } = recipient;
  let sentToThem = 0;
  for (const [audience, group] of fresh.byAudience) {
    // A storm declared since this run began holds what is not sent yet.
    if ((await flush.store.getStormState()).status === 'storm') {
      await releaseAll(flush, [...fresh.byAudience.values()].flat(), claimId);
      return 'storm';
    }
    const email = emailOf(flush, group, { userId, audience, ...fresh.person }, signingKey, now);
    let messageId: string;
    try {
      ({ messageId } = await flush.mailer.send(email));
    } catch (error) {
      summary.failed += 1;
      if (error instanceof MailNotSentError) await releaseAll(flush, group, claimId);
      flush.log.warn('Digest not sent; its notices wait for the next run', {
        userId,
        notices: group.length,
        error: errorName(error),
      });
      fresh.byAudience.delete(audience);
      continue;
    }
    for (const { notice } of group) {
      await flush.store.completeWaitingNotice(notice, claimId, {
        messageId,
        sentAt: flush.clock(),
      });
    }
    summary.emails += 1;
    sentToThem += 1;
    summary.told += group.length;
    if (group.length > 1) summary.digests += 1;
    flush.log.info('Digest sent', { userId, audience, notices: group.length, messageId });
  }
  if (sentToThem > 0 && flush.windowMinutes > 0) {
    // The next notice waits a window from now: one email per window, digests included.
    await flush.store.extendDigestWindow(
      userId,
      new Date(now.getTime() + flush.windowMinutes * 60_000),
    );
  }
  return 'done';
}

async function freshNotices(
  flush: DigestFlushDependencies,
  summary: DigestFlushSummary,
  userId: string,
  notices: readonly ClaimedNotice[],
  claimId: string,
  now: Date,
) {
  const accounts = new Map<string, AccountSummary | undefined>();
  const developers = new Map<string, readonly string[]>();
  for (const { accountId, audience } of notices) {
    if (!accounts.has(accountId)) accounts.set(accountId, await flush.store.getAccount(accountId));
    if (audience === 'developer' && !developers.has(accountId)) {
      developers.set(accountId, await flush.store.listDeveloperIds(accountId));
    }
  }
  const preferences = (await flush.store.getPreferencesOf([userId])).get(userId);
  const profile = (await flush.store.getProfiles([userId])).get(userId);
  const emailStatus = profile
    ? (await statusesOf(flush.store, [profile])).get(profile.email)
    : undefined;
  const suppressed =
    emailStatus && isSuppressed(emailStatus) ? suppressedReason(emailStatus) : undefined;
  const byAudience = new Map<
    Audience,
    { notice: ClaimedNotice; announcement: Announcement; username: string }[]
  >();
  for (const notice of notices) {
    const account = accounts.get(notice.accountId);
    const announcement = announcementOf(notice.event);
    const stillTheirs =
      notice.audience === 'owner'
        ? account?.ownerUserId === userId
        : (developers.get(notice.accountId) ?? []).includes(userId) &&
          account?.ownerUserId !== userId;
    const reason =
      announcement.staleReason(account, now) ??
      (!stillTheirs ? 'no-longer-theirs' : undefined) ??
      (!preferences?.[preferenceGoverning(announcement.kind, notice.audience)]
        ? 'preference-off'
        : undefined) ??
      (!profile ? 'no-address' : undefined) ??
      suppressed;
    if (reason || !account) {
      await flush.store.settleWaitingNotice(notice, claimId, {
        status: 'dropped',
        reason: reason ?? 'account-gone',
        at: now,
      });
      if (reason !== undefined && reason === suppressed) summary.suppressed += 1;
      else summary.dropped += 1;
      continue;
    }
    const group = byAudience.get(notice.audience) ?? [];
    group.push({ notice, announcement, username: account.username });
    byAudience.set(notice.audience, group);
  }
  if (suppressed && profile) {
    flush.log.info('Address suppressed (SES reported it): its notices go in no email', {
      userId,
      emailStatus,
      domain: addressDomain(profile.email),
    });
  }
  return { byAudience, person: { name: profile?.name ?? '', email: profile?.email ?? '' } };
}

function emailOf(
  deps: DigestFlushDependencies,
  group: readonly { announcement: Announcement; username: string }[],
  recipient: { userId: string; audience: Audience; name: string; email: string },
  key: string,
  now: Date,
): OutgoingEmail {
  const [only] = group;
  if (group.length === 1 && only) {
    return noticeEmail(deps, only.announcement, only.username, recipient, key, now);
  }
  const first = group[0];
  if (!first) throw new Error('A digest of no notice');
  const links = noticeLinks(deps, first.announcement, recipient, key, now);
  const rendered = deps.renderer.render(
    recipient.audience === 'owner' ? 'digest-owner' : 'digest-developer',
    {
      name: recipient.name,
      preferencesUrl: links.preferencesUrl,
      unsubscribeUrl: links.unsubscribeUrl,
      accountsUrl: `${deps.appUrl}/instagram-accounts`,
      notices: group.map(({ announcement, username }) =>
        digestNotice(deps, announcement, username, recipient, key, now),
      ),
    },
  );
  return { to: recipient.email, ...rendered, headers: unsubscribeHeaders(links.unsubscribeUrl) };
}

async function releaseAll(
  deps: DigestFlushDependencies,
  group: readonly { notice: ClaimedNotice }[],
  claimId: string,
) {
  for (const { notice } of group) await deps.store.releaseWaitingNotice(notice, claimId);
}
