/**
 * What the reconnect link routes do (DESIGN.md "Reconnect links"), over the rules of
 * reconnect-links.ts: make, list and revoke links (for an account someone may act on: access.ts
 * decides who), open one (the client's page), and finish one (Instagram's redirect back).
 *
 * Finishing a link, exactly once:
 * 1. the state's MAC must be this link's (else it is as unknown as a forged one);
 * 2. a link whose token is already the account's (`tokenBy` is `link:<linkId>`: an earlier use
 *    stored it and stopped before marking the link used) is marked used and reported reconnected,
 *    with no second exchange and no second generation;
 * 3. an active link is claimed with a conditional write for linkClaimSeconds before Instagram is
 *    called: of two browsers at once, one claims it, the other hears that it is in use;
 * 4. the code is exchanged by the reconnect rules (reconnect.ts: the same Instagram user only),
 *    and the token stored as the next generation by `link:<linkId>`, which publishes
 *    `Instagram Token Refreshed` with that `by` — on top of whatever generation is stored by
 *    then, should another writer have moved the account on during the exchange (see
 *    storingOverNewer);
 * 5. the link is marked used. A failed exchange gives the claim back: the link stays usable.
 */
import { randomUUID } from 'node:crypto';
import { InstagramError } from '#platform/instagram';
import { logger } from '#platform/observability';
import type { ProfileReader } from '#people/profiles';
import type { Access } from './access';
import { accountId as accountIdSchema } from './account';
import type { AccountReader } from './accounts';
import {
  GenerationConflictError,
  InstagramUserMismatchError,
  ReauthorizationRequiredError,
  ReconnectLinkNotFoundError,
  TooManyReconnectLinksError,
} from './errors';
import type { TokenFlowDependencies } from './new-token';
import { reconnectToken } from './reconnect';
import type { ReconnectLinkStore } from './reconnect-link-store';
import {
  actorOfLink,
  linkExpiry,
  linkId as linkIdSchema,
  linkSecret,
  linkState,
  linkStatus,
  linkUrl,
  maxActiveLinksPerAccount,
  newLinkSecret,
  parseLinkState,
  secretMatches,
  stateMatches,
  type LinkStatus,
  type ReconnectLink,
} from './reconnect-links';

export interface CreatedLink {
  linkId: string;
  /** The only place the secret ever appears. */
  url: string;
  expiresAt: string;
}

export async function createReconnectLink(
  links: Pick<ReconnectLinkStore, 'listReconnectLinks' | 'putReconnectLink'>,
  { account }: Access,
  createdBy: string,
  options: { apiUrl: string; hours: number; now: Date },
): Promise<CreatedLink> {
  const { now } = options;
  const existing = await links.listReconnectLinks(account.accountId);
  const active = existing.filter((link) => linkStatus(link, now) === 'active').length;
  if (active >= maxActiveLinksPerAccount) {
    throw new TooManyReconnectLinksError(account.accountId, maxActiveLinksPerAccount);
  }
  const { linkId, secret, secretHash } = newLinkSecret();
  const link: ReconnectLink = {
    accountId: account.accountId,
    linkId,
    createdBy,
    createdAt: now.toISOString(),
    expiresAt: linkExpiry(now, options.hours),
    secretHash,
    generation: account.generation,
  };
  await links.putReconnectLink(link);
  logger.info('Reconnect link made', { accountId: account.accountId, linkId });
  return {
    linkId,
    url: linkUrl(options.apiUrl, account.accountId, linkId, secret),
    expiresAt: link.expiresAt,
  };
}

export interface LinkSummary {
  linkId: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  status: LinkStatus;
}

/** The account's links, newest first: never a secret nor its hash. */
export async function listReconnectLinks(
  links: Pick<ReconnectLinkStore, 'listReconnectLinks'>,
  accountId: string,
  now: Date,
): Promise<LinkSummary[]> {
  return (await links.listReconnectLinks(accountId)).map((link) => ({
    linkId: link.linkId,
    createdBy: link.createdBy,
    createdAt: link.createdAt,
    expiresAt: link.expiresAt,
    status: linkStatus(link, now),
  }));
}

/** Revokes a link (a used one stays used; a repeat is no error); unknown: ReconnectLinkNotFound. */
export async function revokeReconnectLink(
  links: Pick<ReconnectLinkStore, 'revokeReconnectLink'>,
  accountId: string,
  linkId: string,
  now: Date,
): Promise<void> {
  if (!(await links.revokeReconnectLink(accountId, linkId, now))) {
    throw new ReconnectLinkNotFoundError(accountId, linkId);
  }
}

/** What the client's pages say; every kind is one page (api/reconnect-pages.ts). */
export type LinkOutcome =
  | { kind: 'ready'; username: string; askedBy?: string; authorizeUrl: string }
  | { kind: 'unusable'; status: Exclude<LinkStatus, 'active'>; username: string; askedBy?: string }
  | { kind: 'unknown' }
  | { kind: 'in-use'; username: string; askedBy?: string }
  | { kind: 'reconnected'; username: string; askedBy?: string }
  | { kind: 'wrong-account'; username: string }
  | { kind: 'not-allowed'; username: string }
  | { kind: 'code-rejected'; username: string }
  | { kind: 'instagram-unavailable'; username: string };

export interface LinkPageDependencies {
  links: Pick<ReconnectLinkStore, 'getReconnectLink'>;
  accounts: AccountReader;
  profiles: ProfileReader;
  /** Instagram's authorize page for a state, with the link redirect URI. */
  authorizeUrl(state: string): Promise<string>;
  appSecret(): Promise<string>;
}

/** The creator's name for the client's page; none when they have no profile (any more). */
async function nameOf(profiles: ProfileReader, userId: string): Promise<string | undefined> {
  return (await profiles.getProfiles([userId])).get(userId)?.name;
}

/**
 * The link and its account, when the link exists and `proves` says the caller knows it (its
 * secret, or a state made from it). Unknown and unproven look the same: no oracle.
 */
async function provenLink(
  deps: Pick<LinkPageDependencies, 'links' | 'accounts'>,
  accountId: string,
  linkId: string,
  proves: (link: ReconnectLink) => boolean | Promise<boolean>,
) {
  const link = await deps.links.getReconnectLink(accountId, linkId);
  if (!link || !(await proves(link))) return undefined;
  const account = await deps.accounts.getAccount(accountId);
  return account ? { link, account } : undefined;
}

/** GET <url>: what the client sees on opening the link. Changes nothing. */
export async function openReconnectLink(
  deps: LinkPageDependencies,
  request: { accountId: string; linkId: string; key?: string },
  now: Date,
): Promise<LinkOutcome> {
  const { key = '' } = request;
  // A damaged link is as unknown as a wrong one, and is not even looked up.
  const wellFormed =
    accountIdSchema.safeParse(request.accountId).success &&
    linkIdSchema.safeParse(request.linkId).success &&
    linkSecret.safeParse(key).success;
  if (!wellFormed) return { kind: 'unknown' };
  const found = await provenLink(deps, request.accountId, request.linkId, (link) =>
    secretMatches(link, key),
  );
  if (!found) return { kind: 'unknown' };
  const { link, account } = found;
  const askedBy = await nameOf(deps.profiles, link.createdBy);
  const status = linkStatus(link, now);
  if (status !== 'active') return { kind: 'unusable', status, username: account.username, askedBy };
  const state = linkState(link, await deps.appSecret());
  return {
    kind: 'ready',
    username: account.username,
    askedBy,
    authorizeUrl: await deps.authorizeUrl(state),
  };
}

export interface LinkFinishDependencies extends TokenFlowDependencies {
  links: ReconnectLinkStore;
  profiles: ProfileReader;
}

/** How many newer generations a link's use stores over before it gives up (answering theirs). */
const linkStoreAttempts = 3;

/**
 * The store a link's use writes its token through. The account is read before the claim and
 * Instagram's two exchanges; when another writer (the automatic refresh, typically) stores a
 * newer generation meanwhile, the conditional write loses, and the shared flow would answer with
 * the winner's state, as a refresh that lost a race does. For a link that is wrong: the link is
 * then used up and the page says reconnected, yet the client's token is thrown away, no
 * `Instagram Token Refreshed` by `link:<linkId>` is published, and the creator never hears of it
 * (found by test/reliability/reconnect-link-race.test.ts). The client has just authorized, so
 * their token is stored as the next generation on top of the newer one instead, which is then
 * announced as usual; the generations stay consecutive.
 */
function storingOverNewer(store: LinkFinishDependencies['store']): LinkFinishDependencies['store'] {
  return {
    ...store,
    async replaceToken(accountId, generation, token, now, by) {
      let expected = generation;
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await store.replaceToken(accountId, expected, token, now, by);
        } catch (error) {
          if (!(error instanceof GenerationConflictError) || attempt >= linkStoreAttempts) {
            throw error;
          }
          const current = await store.getAccount(accountId);
          if (!current) throw error;
          expected = current.generation;
        }
      }
    },
  };
}

/** Instagram's redirect back: `code` and `state`, or `error` when the client said no. */
export interface LinkRedirect {
  code?: string;
  state?: string;
  error?: string;
}

/** Instagram's redirect back to the link redirect URI: finishes the link once (see above). */
export async function finishReconnectLink(
  deps: LinkFinishDependencies,
  redirect: LinkRedirect,
): Promise<LinkOutcome> {
  const named = parseLinkState(redirect.state ?? '');
  if (!named) return { kind: 'unknown' };
  const { appSecret } = await deps.instagram.appCredentials();
  const found = await provenLink(
    { links: deps.links, accounts: deps.store },
    named.accountId,
    named.linkId,
    (link) => stateMatches(link, named.mac, appSecret),
  );
  if (!found) return { kind: 'unknown' };
  const { link, account } = found;
  const { accountId, linkId } = link;
  const { username } = account;
  const actor = actorOfLink(linkId);
  const now = deps.now();
  const status = linkStatus(link, now);
  const unusable = async (current: Exclude<LinkStatus, 'active'>): Promise<LinkOutcome> => ({
    kind: 'unusable',
    status: current,
    username,
    askedBy: await nameOf(deps.profiles, link.createdBy),
  });
  if (status === 'used') return unusable(status);

  // An earlier use stored this link's token and stopped before marking the link: finish that.
  if ((await deps.links.currentTokenBy(accountId)) === actor) {
    await deps.links.markReconnectLinkUsed(accountId, linkId, now);
    logger.info('Reconnect link finished after an interrupted use', { accountId, linkId });
    return { kind: 'reconnected', username, askedBy: await nameOf(deps.profiles, link.createdBy) };
  }
  if (status !== 'active') return unusable(status);
  if (redirect.error !== undefined || !redirect.code) return { kind: 'not-allowed', username };

  const claimId = randomUUID();
  if (!(await deps.links.claimReconnectLink(accountId, linkId, claimId, now))) {
    const current = await deps.links.getReconnectLink(accountId, linkId);
    const after = current ? linkStatus(current, deps.now()) : 'revoked';
    if (after !== 'active') return unusable(after);
    return { kind: 'in-use', username, askedBy: await nameOf(deps.profiles, link.createdBy) };
  }

  try {
    await reconnectToken(
      { ...deps, store: storingOverNewer(deps.store) },
      account,
      { by: actor, relation: 'link' },
      { code: redirect.code, redirectUri: deps.instagram.redirectUri },
    );
  } catch (error) {
    await deps.links.releaseReconnectLink(accountId, linkId, claimId).catch(() => undefined);
    if (error instanceof InstagramUserMismatchError) return { kind: 'wrong-account', username };
    if (error instanceof ReauthorizationRequiredError) return { kind: 'code-rejected', username };
    if (error instanceof InstagramError) {
      logger.warn('Instagram call failed for a reconnect link', {
        operation: error.operation,
        failure: error.failure,
        ...error.details,
      });
      return { kind: 'instagram-unavailable', username };
    }
    throw error;
  }
  await deps.links.markReconnectLinkUsed(accountId, linkId, deps.now());
  logger.info('Reconnect link used', { accountId, linkId });
  return { kind: 'reconnected', username, askedBy: await nameOf(deps.profiles, link.createdBy) };
}
