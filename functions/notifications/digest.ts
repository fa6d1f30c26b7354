/**
 * Whether a notice goes at once, waits for its recipient's digest, or is held (DESIGN.md
 * "Notices"). In a storm every notice is held: the burst is most likely not the customers'
 * fault, and an operator decides whether it is told at all. Otherwise the first notice of a
 * recipient's window (`digestWindowMinutes`) opens it and goes at once, and the others of that
 * window wait for one digest at its end (digest-flush.ts). An answer to a person's own action
 * (reconnected.ts) never passes here.
 *
 * The storm's state is read once per announcement, with its recipients' addresses, just before
 * the first of them is sent anything (notice-reads.ts): a storm declared while a notifier is
 * mid-batch holds every announcement it has not started; the one being sent at that instant
 * finishes its few recipients, as it would have a moment earlier. (A read per recipient cost a
 * request per email; a check of the storm inside each claim's transaction would make every claim
 * of the fleet contend for one item.) The window remembers which notice opened it: that notice's
 * retry (SES refused it, or the process died before the send) still goes at once.
 */
import type { StormState, StormStore } from '#storm/storm-store';
import type { WindowOpened } from './notice-claim';
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

/**
 * The window a notice opens when it goes at once: until `windowMinutes` from now, named by the
 * notice (its account, generation and occasion; the recipient is the window's). None when
 * digests are off.
 */
export function windowOf(
  gate: Pick<NoticeGate, 'windowMinutes'>,
  notice: WaitingNotice,
  now: Date,
): WindowOpened | undefined {
  if (gate.windowMinutes <= 0) return undefined;
  return {
    until: new Date(now.getTime() + gate.windowMinutes * 60_000),
    openedBy: `${notice.accountId}#${String(notice.generation)}#${notice.occasion}`,
  };
}

/** `storm`: the state as the caller read it just before (notice-reads.ts); none: read here. */
export async function admitNotice(
  gate: NoticeGate,
  notice: WaitingNotice,
  now: Date,
  leaseSeconds: number,
  stormRead?: StormState,
): Promise<Admission> {
  const storm = stormRead ?? (await gate.store.getStormState());
  if (storm.status === 'storm') {
    const held = { waitingAs: 'held' as const, dueAt: now, heldIn: storm.since, now };
    if ((await gate.store.fileWaitingNotice(notice, held)) === 'written') return 'held';
    // A delivery that died after its claim, before or after SES took the email: what it was
    // sending is held with the rest (sent again on release, the usual crash window).
    const claim = await gate.store.holdExpiredClaim(notice, held, leaseSeconds);
    return claim === 'held' ? 'held' : claim;
  }
  const window = windowOf(gate, notice, now);
  if (!window) return 'now';
  const opening = await gate.store.openDigestWindow(
    notice.userId,
    now,
    window.until,
    window.openedBy,
  );
  if (opening.opened) return 'now';
  const filed = await gate.store.fileWaitingNotice(notice, {
    waitingAs: 'pending',
    dueAt: new Date(opening.until),
    now,
  });
  return filed === 'written' ? 'waiting' : 'exists';
}
