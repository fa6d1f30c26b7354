/**
 * Reconnect links (DESIGN.md "Reconnect links"): the rules. A developer makes a link; the client
 * who can log in to the Instagram account opens it, authorizes on Instagram, and the new token is
 * stored as the next generation, by `link:<linkId>`. Plain functions over a link; the flows that
 * use them are in reconnect-link-flows.ts, the item in reconnect-link-store.ts.
 *
 * - The secret (32 random bytes) is in the link's URL only: the table keeps its SHA-256, so a
 *   table read never yields a usable link. It is compared as a hash, in constant time.
 * - A link works once, until `expiresAt`, unless revoked. Its status is one word, derived here.
 * - The OAuth `state` names account and link and carries a MAC over both and the secret's hash
 *   under the Instagram app secret: Instagram's redirect back can only finish the link it
 *   started from, and a state cannot be made for a link without reading the table and the app
 *   secret.
 */
import { createHash, randomBytes } from 'node:crypto';
import { macsMatch, purposeMac } from '#platform/signed-token';
import { schema } from '#platform/schemas';
import * as z from '#platform/validation';

/** How long a new link works, by default (`reconnectLinkHours`). */
export const defaultReconnectLinkHours = 72;

/**
 * The most links an account may have active at once. Each active link is a way to replace the
 * account's token for whoever holds it, so their number is bounded; 20 is far above what a
 * developer needs (one per client conversation, for three days) and keeps the list short. Links
 * stop counting when used, revoked or expired, so the cap frees itself.
 */
export const maxActiveLinksPerAccount = 20;

/**
 * How long one use of a link holds it: longer than the callback function's timeout (20 s), so a
 * live attempt never loses its claim; short, so that a client whose attempt crashed can retry.
 */
export const linkClaimSeconds = 30;

/** How long a link's record stays (for the list) after it expired, in days. */
export const linkRecordDaysAfterExpiry = 30;

/** 16 random bytes, base64url: 22 characters. */
export const linkId = /* @__PURE__ */ schema(() =>
  z.string().check(z.regex(/^[A-Za-z0-9_-]{22}$/, 'a reconnect link id: 22 base64url characters')),
);

/** The secret of a link as it arrives in `?key=`: 32 random bytes, base64url (43 characters). */
export const linkSecret = /* @__PURE__ */ schema(() =>
  z
    .string()
    .check(z.regex(/^[A-Za-z0-9_-]{43}$/, "a reconnect link's key: 43 base64url characters")),
);

/** Who stored a token through a link, in `Instagram Token Refreshed`'s `by`. */
export const linkActor = /* @__PURE__ */ schema(() =>
  z.string().check(z.regex(/^link:[A-Za-z0-9_-]{22}$/)),
);
export const actorOfLink = (id: string) => `link:${id}`;

export type LinkStatus = 'active' | 'used' | 'expired' | 'revoked';
export const linkStatuses = ['active', 'used', 'expired', 'revoked'] as const;

export interface ReconnectLink {
  accountId: string;
  linkId: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  /** SHA-256 of the secret, hex. Never the secret. */
  secretHash: string;
  /** The token generation the link was made for (informational). */
  generation: number;
  usedAt?: string;
  revokedAt?: string;
  /** Set while one use of the link is under way (linkClaimSeconds). */
  claimedUntil?: string;
}

export const hashOfSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A new link's id and secret, and what is stored of the secret. */
export function newLinkSecret(): { linkId: string; secret: string; secretHash: string } {
  const secret = randomBytes(32).toString('base64url');
  return {
    linkId: randomBytes(16).toString('base64url'),
    secret,
    secretHash: hashOfSecret(secret),
  };
}

/** The link a developer hands on: the secret in the query, which the access log leaves out. */
export function linkUrl(apiUrl: string, accountId: string, id: string, secret: string): string {
  const url = new URL(
    `reconnect/${encodeURIComponent(accountId)}/${id}`,
    apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`,
  );
  url.searchParams.set('key', secret);
  return url.toString();
}

export function linkExpiry(now: Date, hours: number): string {
  return new Date(now.getTime() + hours * 3_600_000).toISOString();
}

/** A used link stays used, whatever else happened to it; then revoked; then expired. */
export function linkStatus(
  link: Pick<ReconnectLink, 'usedAt' | 'revokedAt' | 'expiresAt'>,
  now: Date,
): LinkStatus {
  if (link.usedAt !== undefined) return 'used';
  if (link.revokedAt !== undefined) return 'revoked';
  if (Date.parse(link.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

/** Whether `secret` is the link's, comparing hashes in constant time. */
export const secretMatches = (link: Pick<ReconnectLink, 'secretHash'>, secret: string) =>
  macsMatch(hashOfSecret(secret), link.secretHash);

const statePurpose = 'reconnect-link';
const stateMac = (
  link: Pick<ReconnectLink, 'accountId' | 'linkId' | 'secretHash'>,
  appSecret: string,
) => purposeMac(statePurpose, `${link.accountId}:${link.linkId}:${link.secretHash}`, appSecret);

/**
 * The OAuth state for a link: `<accountId>.<linkId>.<MAC>` (neither part holds a "."). The
 * account comes first, as in the reauthorize state, so Instagram's consent page (and the local
 * stand-in's) sees which account is meant.
 */
export function linkState(
  link: Pick<ReconnectLink, 'accountId' | 'linkId' | 'secretHash'>,
  appSecret: string,
): string {
  return `${link.accountId}.${link.linkId}.${stateMac(link, appSecret)}`;
}

/** The account and link a state names, unverified; undefined when it is no link state at all. */
export function parseLinkState(
  state: string,
): { accountId: string; linkId: string; mac: string } | undefined {
  const match = /^([0-9A-Za-z_-]{1,64})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(state);
  if (!match) return undefined;
  const [, accountId = '', id = '', mac = ''] = match;
  return { accountId, linkId: id, mac };
}

/** Whether a state's MAC was made for this very link under the app secret. */
export const stateMatches = (
  link: Pick<ReconnectLink, 'accountId' | 'linkId' | 'secretHash'>,
  mac: string,
  appSecret: string,
) => macsMatch(mac, stateMac(link, appSecret));

/** Whether another use of the link is under way right now. */
export const isClaimed = (link: Pick<ReconnectLink, 'claimedUntil'>, now: Date) =>
  link.claimedUntil !== undefined && Date.parse(link.claimedUntil) > now.getTime();
