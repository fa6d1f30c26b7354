/**
 * One recipient's notice of an announcement, from the gate to the ledger: in a calm, in the
 * common case, one request claims the email, opens the recipient's digest window and checks the
 * token (notice-claim.ts), and the email goes. Otherwise (a storm, a record or a window there
 * already, the token moved on) the step-by-step path decides: the gate (digest.ts) says whether
 * it goes now, waits for a digest or is held, and the send-once path (send-once.ts) claims, looks
 * at the account again and sends.
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingEmail } from '#platform/ses';
import type { StormState } from '#storm/storm-store';
import type { AccountSummary } from '#tokens/account';
import type { Announcement } from './announcements';
import { admitNotice, windowOf } from './digest';
import type { NotificationKey } from './ledger';
import type { NoticeClaims } from './notice-claim';
import type { EmailCounts, NotifierDependencies } from './notify';
import { sendClaimed, sendOnce, type SendOutcome } from './send-once';
import type { WaitingNotice } from './waiting-notices';

export interface RecipientNotice {
  record: NotificationKey;
  notice: WaitingNotice;
  announcement: Announcement;
  email: OutgoingEmail;
  /** the account as the notifier read it for this announcement */
  account: AccountSummary;
  /** the storm's state as read for this announcement; none without a notice gate */
  storm?: StormState;
}

/**
 * The send's outcome; undefined when the gate kept the notice back (waiting, held, or another
 * delivery's), counted in `outcome` already.
 */
export async function tellRecipient(
  input: RecipientNotice,
  deps: NotifierDependencies & { store: NoticeClaims },
  outcome: EmailCounts,
): Promise<SendOutcome | undefined> {
  const { record, notice, announcement, email, account, storm } = input;
  if (storm?.status !== 'storm') {
    const now = deps.clock();
    const claimId = randomUUID();
    const window = deps.notices ? windowOf(deps.notices, notice, now) : undefined;
    const claim = await deps.store.claimNoticeAtOnce(
      record,
      { claimId, now, leaseSeconds: deps.leaseSeconds },
      { account, ...(window ? { window } : {}) },
    );
    if (claim === 'claimed') return sendClaimed(record, claimId, email, deps);
  }
  if (!(await goesNow(deps, notice, outcome, storm))) return undefined;
  return sendOnce(record, announcement, email, deps);
}

/**
 * Whether this recipient's notice goes now (digest.ts): it may wait for their digest, or be held
 * in a storm; counted in `outcome` either way.
 */
async function goesNow(
  deps: NotifierDependencies,
  notice: WaitingNotice,
  outcome: EmailCounts,
  storm: StormState | undefined,
): Promise<boolean> {
  if (!deps.notices) return true;
  const admission = await admitNotice(deps.notices, notice, deps.clock(), deps.leaseSeconds, storm);
  if (admission === 'held') outcome.held += 1;
  if (admission === 'waiting') outcome.waiting += 1;
  if (admission === 'in-progress') outcome.inProgress += 1;
  if (admission === 'settled') outcome.alreadySent += 1;
  // `exists`: this email has a record already, most likely a claim of an earlier delivery that
  // died (this notice opened the window). The send-once path decides, as for any retry: sent is
  // sent, a live claim waits, a claim whose lease ran out is taken over.
  return admission === 'now' || admission === 'exists';
}
