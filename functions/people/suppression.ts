/**
 * Suppression (DESIGN.md "Notices"): what SES's feedback about an address means for the emails
 * tokenwatch sends to it. A hard bounce (SES's `bounceType` Permanent: the mailbox does not
 * exist) or a complaint (the person marked an email as spam) stops every email to that address;
 * a soft bounce (Transient or Undetermined: a full mailbox, a server down) is only counted, since
 * the next email may well arrive.
 *
 * It is kept per address, not per user, because an address is what bounces: a user whose email
 * changes (the service API) starts clean at the new one, and two users who share an address are
 * both spared it. Addresses are named by the SHA-256 of the address trimmed and lowercased
 * (`addressHash`): no key or item holds the address itself, and logs name only its domain.
 */
import { createHash } from 'node:crypto';
import { schema } from '#platform/schemas';
import * as z from '#platform/validation';

/** What the preferences API answers as `emailStatus`. */
export const emailStatuses = ['ok', 'bounced', 'complained'] as const;
export type EmailStatus = (typeof emailStatuses)[number];
export const emailStatus = /* @__PURE__ */ schema(() =>
  z
    .enum(emailStatuses)
    .check(
      z.describe(
        'Whether email reaches the address on file: `ok`, or `bounced` (it does not exist) or ' +
          '`complained` (its reader marked an email as spam), after which tokenwatch sends it ' +
          'nothing. It starts again at `ok` once the widget service stores another address.',
      ),
    ),
);

/** What SES said about one email to the address. */
export type FeedbackKind = 'hard-bounce' | 'soft-bounce' | 'complaint';

export interface EmailFeedback {
  kind: FeedbackKind;
  /** SES's `feedbackId`: the same event delivered twice carries the same one */
  feedbackId: string;
  at: Date;
}

/** SES's bounce types (`bounce.bounceType`). */
export const bounceTypes = ['Permanent', 'Transient', 'Undetermined'] as const;
export type BounceType = (typeof bounceTypes)[number];

/** Only a Permanent bounce is hard; SES itself retries the soft ones before it reports them. */
export const bounceKind = (bounceType: BounceType): FeedbackKind =>
  bounceType === 'Permanent' ? 'hard-bounce' : 'soft-bounce';

/**
 * The address's status after `kind`: a hard bounce makes an address `bounced`, a complaint makes
 * it `complained` (also one that bounced: the person asked us to stop), and nothing SES says
 * later undoes either. A soft bounce changes nothing. The store writes exactly this
 * (suppression-store.ts), in one conditional update.
 */
export function statusAfter(current: EmailStatus, kind: FeedbackKind): EmailStatus {
  if (kind === 'complaint') return 'complained';
  if (kind === 'hard-bounce' && current === 'ok') return 'bounced';
  return current;
}

/** Whether an address in this status gets no email at all. */
export const isSuppressed = (status: EmailStatus): status is Exclude<EmailStatus, 'ok'> =>
  status !== 'ok';

const normalized = (address: string) => address.trim().toLowerCase();

/** The name an address is stored under: SHA-256 (hex) of the address, trimmed and lowercased. */
export const addressHash = (address: string): string =>
  createHash('sha256').update(normalized(address)).digest('hex');

/** The part of an address a log line may carry: its domain. */
export function addressDomain(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '(no domain)' : normalized(address.slice(at + 1));
}
