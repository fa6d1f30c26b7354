/**
 * Telling a reconnect link's creator that a client used it (`Instagram Token Refreshed` by
 * `link:<linkId>`, DESIGN.md "Reconnect links"): one email, to one person, once per token
 * generation (the ledger's occasion `reconnected`).
 *
 * It answers the creator's own action, so no preference governs it and it goes at once (DESIGN.md
 * "Notices"). Nothing makes it stale: the account removed since, or a newer token stored since,
 * does not undo that the client reconnected. Only a link or creator that cannot be found (the
 * link's record expired, the creator erased) leaves nobody to tell: logged, and acknowledged.
 */
import type { TokenRefreshedDetail } from '#tokens/events';
import { accountUrl } from './email-links';
import { templateName } from './occasions';
import { noEmails, type NotificationOutcome, type NotifierDependencies } from './notify';
import { sendOnce } from './send-once';
import { skipIfSuppressed, statusesOf } from './suppressed';

const occasion = 'reconnected';
/** The link a `by` names, or undefined for a user or the automatic refresh. */
export const linkIdOfActor = (by: string): string | undefined =>
  by.startsWith('link:') ? by.slice('link:'.length) : undefined;

/** It still happened, whatever became of the account since. */
const neverStale = { staleReason: () => undefined };

export async function notifyReconnected(
  detail: TokenRefreshedDetail,
  deps: NotifierDependencies,
): Promise<NotificationOutcome> {
  const outcome: NotificationOutcome = { status: 'done', ...noEmails() };
  const { accountId, generation } = detail;
  const context = { accountId, generation, occasion, by: detail.by };
  const linkId = linkIdOfActor(detail.by);
  if (linkId === undefined) {
    // The rule routes only link uses here; a refresh by a user or `auto` tells nobody.
    deps.log.info('Not stored through a reconnect link; nobody to tell', context);
    return outcome;
  }
  const link = await deps.store.getReconnectLink(accountId, linkId);
  if (!link) {
    deps.log.warn('The reconnect link is gone, so its creator is unknown: not notified', context);
    return { ...outcome, unreachable: 1 };
  }
  const userId = link.createdBy;
  const profile = (await deps.store.getProfiles([userId])).get(userId);
  if (!profile) {
    deps.log.warn('The link creator has no profile, so no address: not notified', {
      ...context,
      userId,
    });
    return { ...outcome, unreachable: 1 };
  }
  const email = { accountId, generation, occasion, userId } as const;
  const address = {
    email: profile.email,
    status: (await statusesOf(deps.store, [profile])).get(profile.email),
  };
  if ((await skipIfSuppressed(deps, email, address, { ...context, userId })) === 'suppressed') {
    return { ...outcome, suppressed: 1 };
  }
  if (deps.remainingMs && deps.remainingMs() < (deps.reserveMs ?? 10_000)) {
    return { ...outcome, status: 'out-of-time' };
  }

  const account = await deps.store.getAccount(accountId);
  const rendered = deps.renderer.render(templateName('reconnected', 'creator'), {
    name: profile.name,
    username: account?.username ?? '',
    // When the link was used up; a link that is not marked yet (the crash window between storing
    // the token and marking the link) was used now.
    reconnectedAt: link.usedAt ?? deps.clock().toISOString(),
    actionUrl: accountUrl(deps.appUrl, accountId),
  });
  // No unsubscribe headers: no preference governs this email (see above).
  const result = await sendOnce(
    email,
    neverStale,
    { to: profile.email, ...rendered, headers: [] },
    deps,
  );
  if (result.kind === 'sent' || result.kind === 'sent-twice') outcome.sent += 1;
  if (result.kind === 'sent-twice') outcome.sentTwice += 1;
  if (result.kind === 'already-sent') outcome.alreadySent += 1;
  if (result.kind === 'in-progress') outcome.inProgress += 1;
  if (result.kind === 'failed') outcome.failed += 1;
  outcome.status = outcome.failed + outcome.inProgress > 0 ? 'retry' : 'done';
  return outcome;
}
