/**
 * Whether a notice goes at once, waits for its recipient's digest, or is held (DESIGN.md
 * "Notices"). In a storm every notice is held: the burst is most likely not the customers'
 * fault, and an operator decides whether it is told at all. Otherwise the first notice of a
 * recipient's window (`digestWindowMinutes`) opens it and goes at once, and the others of that
 * window wait for one digest at its end (digest-flush.ts). An answer to a person's own action
 * (reconnected.ts) never passes here.
 *
 * Each check is made just before the send, per recipient, so a storm declared while a notifier is
 * mid-batch holds everything it has not sent yet. The window remembers which notice opened it:
 * that notice's retry (SES refused it, or the process died before the send) still goes at once.
 */
import type { StormStore } from '#storm/storm-store';
import type { WaitingNotice, WaitingNoticeStore } from './waiting-notices';

export interface NoticeGate {
  store: WaitingNoticeStore & Pick<StormStore, 'getStormState'>;
  /** a recipient's window; 0 turns digests off (every notice goes at once, but in a storm) */
  windowMinutes: number;
}

/**
 * - `now`: send it (the window is opened, or digests are off);
 * - `waiting`: written down for the digest at the window's end;
 * - `held`: written down until the storm ends;
 * - `exists`: a record of this email is there already (waiting, being sent, or sent): the
 *   send-once path says which, and takes over a claim whose lease ran out;
 * - in a storm, for a record already there: `in-progress` (another delivery's claim is live: the
 *   retry looks again), `settled` (sent, or settled without an email), `waiting` (pending or
 *   held already). A claim whose lease ran out is held too, never sent in a storm.
 */
export type Admission = 'now' | 'waiting' | 'held' | 'exists' | 'in-progress' | 'settled';

export async function admitNotice(
  gate: NoticeGate,
  notice: WaitingNotice,
  now: Date,
  leaseSeconds: number,
): Promise<Admission> {
  const storm = await gate.store.getStormState();
  if (storm.status === 'storm') {
    const held = { waitingAs: 'held' as const, dueAt: now, heldIn: storm.since, now };
    if ((await gate.store.fileWaitingNotice(notice, held)) === 'written') return 'held';
    // A delivery that died after its claim, before or after SES took the email: what it was
    // sending is held with the rest (sent again on release, the usual crash window).
    const claim = await gate.store.holdExpiredClaim(notice, held, leaseSeconds);
    return claim === 'held' ? 'held' : claim;
  }
  if (gate.windowMinutes <= 0) return 'now';
  const until = new Date(now.getTime() + gate.windowMinutes * 60_000);
  const window = await gate.store.openDigestWindow(
    notice.userId,
    now,
    until,
    // The notice's own name: its account, generation and occasion (the recipient is the window's).
    `${notice.accountId}#${String(notice.generation)}#${notice.occasion}`,
  );
  if (window.opened) return 'now';
  const filed = await gate.store.fileWaitingNotice(notice, {
    waitingAs: 'pending',
    dueAt: new Date(window.until),
    now,
  });
  return filed === 'written' ? 'waiting' : 'exists';
}
