/**
 * Nothing marked without an event. Seeded runs of the expiry check against the local
 * EventBridge, under PutEvents partial failures, throttling past the last retry, outages,
 * crashes after the publish and before the mark, a refresh landing between the publish and the
 * mark, and two checks at once. At every mark, the bus must already have accepted an event for
 * that token's generation; and once the faults stop, every due token has been published.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutEventsRequestEntry, PutEventsResponse } from '@aws-sdk/client-eventbridge';
import {
  awsError,
  FaultSchedule,
  reportFigure,
  seededRandom,
  type Fault,
} from '../support/reliability-faults';
import {
  canaryPrefix,
  canaryToken,
  startFaultyPipeline,
  type FaultyPipeline,
} from '../support/reliability-pipeline';

const seed = 7_000_007;
const runs = 100;
const parallelRuns = 16;

let pipeline: FaultyPipeline;
beforeAll(async () => {
  pipeline = await startFaultyPipeline('tokenwatch-reliability-publish');
});
afterAll(async () => {
  await pipeline.stop();
});

/** EventBridge refuses the entries `refuse` picks, with `code`, and accepts the others. */
function refuseSome(code: string, refuse: (detail: { accountId: string }) => boolean): Fault {
  return {
    kind: 'rewrite',
    run: async (next, input) => {
      const entries = input.Entries as PutEventsRequestEntry[];
      const refused = entries.map((entry) =>
        refuse(JSON.parse(entry.Detail ?? '{}') as { accountId: string }),
      );
      const kept = entries.filter((_, index) => !refused[index]);
      const answer =
        kept.length > 0
          ? ((await next({ input: { ...input, Entries: kept } })).output as PutEventsResponse)
          : { Entries: [] };
      const accepted = [...(answer.Entries ?? [])];
      const merged = entries.map((_, index) =>
        refused[index] ? { ErrorCode: code, ErrorMessage: 'injected' } : accepted.shift(),
      );
      return {
        output: {
          ...answer,
          FailedEntryCount: refused.filter(Boolean).length,
          Entries: merged,
        },
        response: {},
      };
    },
  };
}

describe('publishing expired tokens', () => {
  it('never marks a token expired without an accepted event, and publishes every due token in the end', async () => {
    const totals = {
      tokens: 0,
      replaced: 0,
      checks: 0,
      maxChecks: 0,
      concurrentChecks: 0,
      refusedEntries: 0,
      crashes: 0,
      marksWithoutEvent: 0,
      unpublished: 0,
      expiredWithoutEvent: 0,
    };
    let nextId = 0;
    await Promise.all(
      Array.from({ length: parallelRuns }, async () => {
        while (nextId < runs) {
          const id = nextId;
          nextId += 1;
          const rand = seededRandom(seed + id * 104_729);
          const schedule = new FaultSchedule();
          const run = pipeline.newRun(id, { schedule, copies: () => 1 });
          // Mostly a few tokens; sometimes more than one PutEvents call's ten.
          const count = rand.pick([1, 2, 3, 4, 5, 12]);
          const accountIds = Array.from({ length: count }, (_, n) => `pub-${id}-${n}`);
          const expiresAt = new Date(run.base.getTime() - 3_600_000).toISOString();
          await Promise.all(
            accountIds.map((accountId) =>
              pipeline.table.store.putAccount(
                {
                  accountId,
                  ownerUserId: `u-${accountId}`,
                  username: accountId.replace(/-/g, '_'),
                  accessToken: canaryToken(),
                  expiresAt,
                },
                run.base,
              ),
            ),
          );
          const faulty = new Set(accountIds.filter(() => rand.chance(0.5)));
          for (let call = 1; call <= 6; call += 1) {
            const kind = rand.pick(['none', 'partial', 'throttled', 'outage', 'crash-after']);
            if (kind === 'partial') {
              schedule.add('publish', call, 'partial', () =>
                refuseSome('InternalFailure', (detail) => faulty.has(detail.accountId)),
              );
            }
            if (kind === 'throttled') {
              schedule.add('publish', call, 'throttled', () =>
                refuseSome('ThrottlingException', () => true),
              );
            }
            if (kind === 'outage') {
              schedule.add('publish', call, 'outage', () => ({
                kind: 'throw',
                error: () => awsError('ServiceUnavailableException', 503),
              }));
            }
            if (kind === 'crash-after') {
              schedule.add('publish', call, 'crash after the publish', () => ({
                kind: 'crash-after',
              }));
            }
          }
          if (rand.chance(0.3)) {
            // A refresh lands between the publish and the mark: the mark must not win.
            schedule.add('mark', 1, 'refresh before the mark', (input) => {
              const key = input.Key as { pk: string };
              const values = input.ExpressionAttributeValues as Record<string, unknown>;
              return {
                kind: 'race',
                competitor: () =>
                  pipeline.table.store
                    .replaceToken(
                      key.pk.replace(/^IGACCOUNT#/, ''),
                      values[':generation'] as number,
                      {
                        accessToken: canaryToken(),
                        expiresAt: new Date(run.base.getTime() + 60 * 86_400_000).toISOString(),
                      },
                      run.base,
                    )
                    .catch(() => undefined),
              };
            });
          }
          if (rand.chance(0.2)) {
            schedule.add('mark', 2, 'crash before a mark', () => ({ kind: 'crash-before' }));
          }

          // Faulty checks, sometimes two at once (the scheduler may overlap a slow run).
          let checks = 0;
          for (let round = 0; round < 4; round += 1) {
            if (rand.chance(0.25)) {
              totals.concurrentChecks += 1;
              checks += 2;
              await Promise.all([pipeline.check(run), pipeline.check(run)]);
            } else {
              checks += 1;
              await pipeline.check(run);
            }
          }
          // Then the faults stop (whatever was scheduled and not reached is dropped).
          run.schedule = new FaultSchedule();
          for (;;) {
            checks += 1;
            const { summary } = await pipeline.check(run);
            if (summary?.due === 0) break;
            if (checks > 20) throw new Error(`run ${id} never settled`);
          }
          totals.refusedEntries += schedule.fired.length;
          totals.crashes += run.crashes.length;

          for (const accountId of accountIds) {
            const account = await pipeline.table.store.getAccount(accountId);
            const published = pipeline.bus.accepted.some(
              (event) =>
                (event.detail as { accountId?: string; generation?: number }).accountId ===
                  accountId && (event.detail as { generation?: number }).generation === 1,
            );
            totals.tokens += 1;
            if (account?.generation === 2) {
              totals.replaced += 1;
              expect(account.tokenStatus).toBe('active');
              continue;
            }
            if (!published) totals.unpublished += 1;
            if (account?.tokenStatus === 'expired' && !published) totals.expiredWithoutEvent += 1;
            expect(account?.tokenStatus).toBe('expired');
          }
          totals.marksWithoutEvent += run.marksWithoutEvent;
          totals.checks += checks;
          totals.maxChecks = Math.max(totals.maxChecks, checks);
          run.queue.stop();
        }
      }),
    );

    reportFigure('publishing', {
      runs,
      seed,
      tokens: totals.tokens,
      'replaced-while-published': totals.replaced,
      checks: totals.checks,
      'max-checks-per-run': totals.maxChecks,
      'concurrent-check-pairs': totals.concurrentChecks,
      'faults-fired': totals.refusedEntries,
      crashes: totals.crashes,
      'marked-without-event': totals.marksWithoutEvent,
      'expired-without-event': totals.expiredWithoutEvent,
      'due-never-published': totals.unpublished,
    });
    expect(totals.tokens).toBeGreaterThan(runs);
    expect(totals.marksWithoutEvent).toBe(0);
    expect(totals.expiredWithoutEvent).toBe(0);
    expect(totals.unpublished).toBe(0);
    expect(totals.replaced).toBeGreaterThan(0);
    expect(totals.crashes).toBeGreaterThan(0);
  }, 120_000);

  it('never put an access token in an event or a log line', () => {
    const scanned = JSON.stringify(pipeline.bus.accepted) + JSON.stringify(pipeline.log.lines);
    const hits = scanned.split(canaryPrefix).length - 1;
    reportFigure('secrets publishing', {
      events: pipeline.bus.accepted.length,
      'log-lines': pipeline.log.lines.length,
      'canary-hits': hits,
    });
    expect(pipeline.bus.accepted.length).toBeGreaterThan(0);
    expect(hits).toBe(0);
  });
});
