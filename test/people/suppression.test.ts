import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import {
  addressDomain,
  addressHash,
  bounceKind,
  isSuppressed,
  statusAfter,
  type EmailStatus,
  type FeedbackKind,
} from '#people/suppression';
import { useTestTable, type TestTable } from '../support/table';

let table: TestTable;
useTestTable((created) => (table = created));

const at = new Date('2026-11-25T12:00:00.000Z');
const uniqueAddress = () => `person-${randomUUID().slice(0, 8)}@Example.COM`;
const feedback = (kind: FeedbackKind, feedbackId: string = randomUUID()) => ({
  kind,
  feedbackId,
  at,
});

describe('the suppression rule', () => {
  it('takes a Permanent bounce as hard, and Transient and Undetermined ones as soft', () => {
    expect(bounceKind('Permanent')).toBe('hard-bounce');
    expect(bounceKind('Transient')).toBe('soft-bounce');
    expect(bounceKind('Undetermined')).toBe('soft-bounce');
  });

  it('stops email to an address that hard-bounced or complained, and only then', () => {
    expect(statusAfter('ok', 'hard-bounce')).toBe('bounced');
    expect(statusAfter('ok', 'complaint')).toBe('complained');
    expect(statusAfter('ok', 'soft-bounce')).toBe('ok');
    expect(isSuppressed('ok')).toBe(false);
    expect(isSuppressed('bounced')).toBe(true);
    expect(isSuppressed('complained')).toBe(true);
  });

  it('lets a complaint outweigh a bounce, and nothing undo either', () => {
    expect(statusAfter('bounced', 'complaint')).toBe('complained');
    expect(statusAfter('complained', 'hard-bounce')).toBe('complained');
    expect(statusAfter('bounced', 'soft-bounce')).toBe('bounced');
    expect(statusAfter('complained', 'soft-bounce')).toBe('complained');
  });

  it('names an address by a hash that ignores case and surrounding space, and logs only its domain', () => {
    expect(addressHash(' Ann@Example.com ')).toBe(addressHash('ann@example.com'));
    expect(addressHash('ann@example.com')).toMatch(/^[0-9a-f]{64}$/);
    expect(addressHash('ann@example.com')).not.toBe(addressHash('ann@example.org'));
    expect(addressDomain('Ann@Mail.Example.com')).toBe('mail.example.com');
    expect(addressDomain('not-an-address')).toBe('(no domain)');
  });
});

describe('the suppression store', () => {
  it('answers ok for an address SES never reported', async () => {
    const address = uniqueAddress();
    expect(await table.store.emailStatusOf(address)).toBe('ok');
    expect(await table.store.emailStatusesOf([address])).toEqual(new Map([[address, 'ok']]));
  });

  it('records a hard bounce under the address in any case, and a complaint after it', async () => {
    const address = uniqueAddress();
    expect(await table.store.recordEmailFeedback(address, feedback('hard-bounce'))).toBe(
      'recorded',
    );
    expect(await table.store.emailStatusOf(address.toLowerCase())).toBe('bounced');
    await table.store.recordEmailFeedback(address.toUpperCase(), feedback('complaint'));
    expect(await table.store.emailStatusOf(address)).toBe('complained');
  });

  it('counts a feedback event delivered twice once', async () => {
    const address = uniqueAddress();
    const soft = feedback('soft-bounce');
    expect(await table.store.recordEmailFeedback(address, soft)).toBe('recorded');
    expect(await table.store.recordEmailFeedback(address, soft)).toBe('duplicate');
    await table.store.recordEmailFeedback(address, feedback('soft-bounce'));
    const [item] = (await table.itemsMentioning(addressHash(address))).filter(
      (stored) => stored.sk === 'ADDRESS',
    );
    expect(item).toMatchObject({ softBounces: 2 });
    expect(item?.status).toBeUndefined();
    expect(await table.store.emailStatusOf(address)).toBe('ok');
  });

  it('never stores the address itself, in a key or an attribute', async () => {
    const address = uniqueAddress();
    await table.store.recordEmailFeedback(address, feedback('complaint'));
    expect(await table.itemsMentioning(address.toLowerCase())).toEqual([]);
    expect(await table.itemsMentioning(address)).toEqual([]);
    expect(await table.itemsMentioning(addressHash(address))).toHaveLength(2);
  });

  it('ends in the status the rule gives, whatever the order and repeats of the feedback', async () => {
    const kinds = fc.constantFrom<FeedbackKind>('hard-bounce', 'soft-bounce', 'complaint');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(kinds, fc.nat(3)), { maxLength: 6 }), async (events) => {
        const address = uniqueAddress();
        let expected: EmailStatus = 'ok';
        const seen = new Set<number>();
        for (const [kind, id] of events) {
          // The same id is the same SES event: only its first delivery counts.
          if (!seen.has(id)) expected = statusAfter(expected, kind);
          seen.add(id);
          await table.store.recordEmailFeedback(address, feedback(kind, `feedback-${id}`));
        }
        expect(await table.store.emailStatusOf(address)).toBe(expected);
      }),
      { numRuns: 25 },
    );
  });
});
