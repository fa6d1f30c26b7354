/**
 * Exactly once, under faults. A seeded schedule drives 500 runs of check → bus → queue →
 * notifier, each with one to three accounts and one to three people per account, and injects
 * into each run some of: duplicate events (up to three copies), SQS redelivery, PutEvents
 * partial failures and outages, SES throttling, outages and lost answers, DynamoDB conditional
 * races (a competing claim, a competing mark) and errors, and a crash at one step (before the
 * claim, after the claim, after the send, after the record, before the ack, and in the check:
 * before the publish, after it, after the mark). Then the SES emulator's store is counted:
 * every expected email delivered, none lost, none twice except in the crash window (SES
 * accepted the email, its record was not completed), where it is at most twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutEventsRequestEntry, PutEventsResponse } from '@aws-sdk/client-eventbridge';
import { emailsTo } from '../support/pipeline-services';
import {
  awsError,
  connectionReset,
  FaultSchedule,
  reportFigure,
  seededRandom,
  stepCalls,
  type Fault,
  type Random,
  type Step,
} from '../support/reliability-faults';
import {
  canaryPrefix,
  canaryToken,
  noteRecordWindow,
  noteSendWindow,
  startFaultyPipeline,
  type FaultyPipeline,
  type PipelineRun,
} from '../support/reliability-pipeline';

const seed = 20_261_125;
const runs = 500;
const parallelRuns = 24;

let pipeline: FaultyPipeline;
beforeAll(async () => {
  pipeline = await startFaultyPipeline('tokenwatch-reliability-once');
});
afterAll(async () => {
  await pipeline.stop();
});

/** A PutEvents call where EventBridge refuses the chosen entries with `code`, accepts the rest. */
function partialFailure(code: string, refuse: (index: number) => boolean): Fault {
  return {
    kind: 'rewrite',
    run: async (next, input) => {
      const entries = input.Entries as PutEventsRequestEntry[];
      const kept = entries.filter((_, index) => !refuse(index));
      const answer =
        kept.length > 0
          ? ((await next({ input: { ...input, Entries: kept } })).output as PutEventsResponse)
          : { Entries: [] };
      const accepted = [...(answer.Entries ?? [])];
      const merged = entries.map((_, index) =>
        refuse(index) ? { ErrorCode: code, ErrorMessage: `${code} (injected)` } : accepted.shift(),
      );
      return {
        output: {
          ...answer,
          FailedEntryCount: merged.filter((entry) => entry?.ErrorCode).length,
          Entries: merged,
        },
        response: {},
      };
    },
  };
}

const crashPoints: { label: string; step: Step; fault: Fault['kind'] }[] = [
  { label: 'check: before the publish', step: 'publish', fault: 'crash-before' },
  { label: 'check: after the publish, before the mark', step: 'publish', fault: 'crash-after' },
  { label: 'check: after the mark', step: 'mark', fault: 'crash-after' },
  { label: 'notifier: before the claim', step: 'claim', fault: 'crash-before' },
  { label: 'notifier: after the claim', step: 'claim', fault: 'crash-after' },
  { label: 'notifier: after the send', step: 'send', fault: 'crash-after' },
  { label: 'notifier: after the record', step: 'record', fault: 'crash-after' },
  { label: 'notifier: before the ack', step: 'ack', fault: 'crash-before' },
];

/** The faults of one run, drawn from its own seed. */
function scheduleFor(rand: Random, run: () => PipelineRun, recipients: number): FaultSchedule {
  const schedule = new FaultSchedule();
  const taken = new Set<string>();
  const add = (
    step: Step,
    call: number,
    label: string,
    fault: (input: Record<string, unknown>) => Fault,
  ) => {
    if (taken.has(`${step}#${call}`)) return;
    taken.add(`${step}#${call}`);
    schedule.add(step, call, label, fault);
  };
  const someRecipient = () => rand.int(1, recipients);

  if (rand.chance(0.6)) {
    const point = rand.pick(crashPoints);
    const call = ['claim', 'send', 'record'].includes(point.step) ? someRecipient() : 1;
    add(point.step, call, `crash ${point.label}`, () => ({ kind: point.fault }) as Fault);
  }

  const publishFault = rand.pick(['none', 'partial', 'partial-exhausted', 'outage'] as const);
  const refused = rand.int(1, 7);
  const refuse = (index: number) => ((refused >> (index % 3)) & 1) === 1 || index === 0;
  if (publishFault === 'partial') {
    add('publish', 1, 'PutEvents partial failure (throttled entries, retried)', () =>
      partialFailure('ThrottlingException', refuse),
    );
  }
  if (publishFault === 'partial-exhausted') {
    for (const call of [1, 2, 3]) {
      add('publish', call, 'PutEvents partial failure (retries exhausted)', () =>
        partialFailure('InternalFailure', (index) => call > 1 || refuse(index)),
      );
    }
  }
  if (publishFault === 'outage') {
    for (const call of [1, 2, 3]) {
      add('publish', call, 'PutEvents outage', () => ({
        kind: 'throw',
        error: () => awsError('InternalException', 500),
      }));
    }
  }

  const sesFault = rand.pick([
    'none',
    'throttle-once',
    'throttle-exhausted',
    'outage',
    'no-answer',
    'answer-lost',
  ] as const);
  const firstSend = someRecipient();
  if (sesFault === 'throttle-once') {
    add('send', firstSend, 'SES throttling (retried)', () => ({
      kind: 'throw',
      error: () => awsError('TooManyRequestsException', 429),
    }));
  }
  if (sesFault === 'throttle-exhausted' || sesFault === 'outage') {
    for (const call of [firstSend, firstSend + 1, firstSend + 2]) {
      add(
        'send',
        call,
        sesFault === 'outage' ? 'SES outage' : 'SES throttling (exhausted)',
        () => ({
          kind: 'throw',
          error: () =>
            sesFault === 'outage'
              ? awsError('InternalFailure', 500)
              : awsError('TooManyRequestsException', 429),
        }),
      );
    }
  }
  if (sesFault === 'no-answer') {
    add('send', firstSend, 'SES unreachable', () => ({
      kind: 'throw',
      error: connectionReset,
    }));
  }
  if (sesFault === 'answer-lost') {
    add('send', firstSend, 'SES answer lost after acceptance', (input) => {
      noteSendWindow(run(), input);
      return { kind: 'answer-lost' };
    });
  }

  if (rand.chance(0.25)) {
    add('claim', someRecipient(), 'DynamoDB race: a competing claim', (input) => {
      const item = input.Item as { accountId: string; generation: number; userId: string };
      return {
        kind: 'race',
        competitor: () =>
          pipeline.table.store.claimNotification(
            {
              accountId: item.accountId,
              generation: item.generation,
              occasion: 'expired',
              userId: item.userId,
            },
            {
              claimId: 'competitor',
              now: new Date(run().base.getTime() + run().epoch * 300_000),
              leaseSeconds: 120,
            },
          ),
      };
    });
  }
  if (rand.chance(0.15)) {
    add('mark', 1, 'DynamoDB race: a competing mark', (input) => {
      const values = input.ExpressionAttributeValues as Record<string, unknown>;
      const key = input.Key as { pk: string };
      return {
        kind: 'race',
        competitor: () =>
          pipeline.table.store.markTokenExpired({
            accountId: key.pk.replace(/^IGACCOUNT#/, ''),
            generation: values[':generation'] as number,
            expiresAt: '',
            reason: values[':reason'] as 'expired',
            cause: values[':cause'] as 'expired',
          }),
      };
    });
  }
  if (rand.chance(0.2)) {
    const step = rand.pick(['read', 'claim', 'record'] as const);
    const call = step === 'read' ? rand.int(1, 4) : someRecipient();
    add(step, call, `DynamoDB error at ${step}`, (input) => {
      if (step === 'record') noteRecordWindow(run(), input);
      return {
        kind: 'throw',
        error: () => awsError('ProvisionedThroughputExceededException', 400),
      };
    });
  }
  return schedule;
}

interface RunResult {
  run: PipelineRun;
  expected: string[];
  unwanted: string[];
  checks: number;
  fired: string[];
}

async function oneRun(id: number): Promise<RunResult> {
  const rand = seededRandom(seed + id * 7919);
  // Small runs, mostly one account: the faults are the point, and 500 runs must stay fast.
  const accounts = rand.pick([1, 1, 1, 1, 1, 1, 1, 2, 2, 3]);
  const shapes = Array.from({ length: accounts }, () => ({
    ownerOn: rand.chance(0.85),
    developers: Array.from({ length: rand.int(0, 2) }, () => rand.chance(0.7)),
  }));
  const recipients = Math.max(
    1,
    ...shapes.map((shape) => Number(shape.ownerOn) + shape.developers.filter(Boolean).length),
  );
  // The schedule's faults note crash windows on the run, which exists by the time they fire.
  const schedule = scheduleFor(rand, () => created, recipients);
  const created = pipeline.newRun(id, {
    schedule,
    copies: () => rand.pick([1, 1, 1, 1, 1, 1, 2, 2, 3]),
  });
  const expected: string[] = [];
  const unwanted: string[] = [];
  const expiresAt = new Date(created.base.getTime() - 3_600_000).toISOString();
  await Promise.all(
    shapes.map(async (shape, index) => {
      // The defaults (owner on, developer off) need no preferences item.
      const owner = await pipeline.person(
        created,
        'owner',
        shape.ownerOn ? undefined : { ownerExpiredToken: false, developerExpiredToken: false },
      );
      (shape.ownerOn ? expected : unwanted).push(owner.email);
      const accountId = `once-${id}-${index}-${owner.userId.slice(-8)}`;
      pipeline.track(created, accountId);
      await Promise.all([
        pipeline.table.store.putAccount(
          {
            accountId,
            ownerUserId: owner.userId,
            username: `shop_${id}_${index}`,
            accessToken: canaryToken(),
            expiresAt,
          },
          created.base,
        ),
        ...shape.developers.map(async (on) => {
          const developer = await pipeline.person(
            created,
            'dev',
            on ? { ownerExpiredToken: true, developerExpiredToken: true } : undefined,
          );
          await pipeline.table.store.putDeveloperRole(
            { accountId, userId: developer.userId },
            created.base,
          );
          (on ? expected : unwanted).push(developer.email);
        }),
      ]);
    }),
  );
  const checks = await pipeline.settle(created);
  return { run: created, expected, unwanted, checks, fired: schedule.fired };
}

describe('exactly once, under faults', () => {
  it(`delivers every expected email across ${runs} faulty runs, none lost, duplicates only in the crash window and at most one`, async () => {
    const results: RunResult[] = [];
    let nextId = 0;
    await Promise.all(
      Array.from({ length: parallelRuns }, async () => {
        while (nextId < runs) {
          const id = nextId;
          nextId += 1;
          results.push(await oneRun(id));
        }
      }),
    );
    results.sort((a, b) => a.run.id - b.run.id);

    const everyone = results.flatMap((result) => [...result.expected, ...result.unwanted]);
    const received = new Map<string, number>();
    for (const email of await emailsTo(everyone)) {
      for (const to of email.destination.to) received.set(to, (received.get(to) ?? 0) + 1);
    }

    let expected = 0;
    let delivered = 0;
    let lost = 0;
    let duplicates = 0;
    let windowDuplicates = 0;
    let unwantedEmails = 0;
    /** addresses with more duplicates than crash-window events: each event may cost one */
    let beyondBound = 0;
    let windowEvents = 0;
    const lostIn: number[] = [];
    const duplicatedIn: number[] = [];
    for (const result of results) {
      for (const address of result.expected) {
        expected += 1;
        const count = received.get(address) ?? 0;
        if (count === 0) {
          lost += 1;
          lostIn.push(result.run.id);
          continue;
        }
        delivered += 1;
        const window = result.run.windowAddresses.get(address) ?? 0;
        windowEvents += window;
        if (count - 1 > window && window > 0) beyondBound += 1;
        if (count > 1) {
          if (window > 0) windowDuplicates += count - 1;
          else {
            duplicates += count - 1;
            duplicatedIn.push(result.run.id);
          }
        }
      }
      for (const address of result.unwanted) unwantedEmails += received.get(address) ?? 0;
    }

    const fired = results.flatMap((result) => result.fired);
    const count = (prefix: string) => fired.filter((label) => label.startsWith(prefix)).length;
    const crashesByPoint = Object.fromEntries(
      crashPoints.map((point) => [point.label, count(`crash ${point.label}`)]),
    );
    const deadLettered = results.reduce((sum, result) => sum + result.run.deadLetters.size, 0);
    const redeliveries = results.reduce(
      (sum, result) => sum + result.run.queue.stats.deliveries - result.run.queue.stats.sent,
      0,
    );
    const copies = results.reduce((sum, result) => sum + result.run.queue.stats.sent, 0);

    reportFigure('exactly-once', {
      runs: results.length,
      seed,
      expected,
      delivered,
      lost,
      duplicates,
      'crash-window-duplicates': windowDuplicates,
      'crash-window-events': windowEvents,
      'max-duplicates-per-window-event': beyondBound === 0 ? 1 : '>1',
      'emails-to-opted-out': unwantedEmails,
      'dead-lettered': deadLettered,
    });
    reportFigure('exactly-once faults', {
      'queue-messages': copies,
      redeliveries,
      'putevents-partial': count('PutEvents partial'),
      'putevents-outage': count('PutEvents outage'),
      'ses-throttled': count('SES throttling'),
      'ses-outage': count('SES outage') + count('SES unreachable'),
      'ses-answer-lost': count('SES answer lost'),
      'dynamodb-races': count('DynamoDB race'),
      'dynamodb-errors': count('DynamoDB error'),
      crashes: results.reduce((sum, result) => sum + result.run.crashes.length, 0),
    });
    reportFigure('exactly-once calls', Object.fromEntries(stepCalls));
    reportFigure(
      'exactly-once crashes',
      Object.fromEntries(
        Object.entries(crashesByPoint).map(([label, n]) => [label.replace(/[ :,]+/g, '-'), n]),
      ),
    );

    expect(results).toHaveLength(runs);
    expect(expected).toBeGreaterThan(runs);
    expect({ lost, lostIn }).toEqual({ lost: 0, lostIn: [] });
    expect({ duplicates, duplicatedIn }).toEqual({ duplicates: 0, duplicatedIn: [] });
    expect(beyondBound).toBe(0);
    expect(unwantedEmails).toBe(0);
    expect(deadLettered).toBe(0);
    expect(results.every((result) => result.run.marksWithoutEvent === 0)).toBe(true);
    // Every crash point was really reached, many times over.
    for (const [label, n] of Object.entries(crashesByPoint)) {
      expect(n, label).toBeGreaterThan(10);
    }
  }, 120_000);

  it('never put an access token in an email, an event or a log line on the way', () => {
    const scanned = [
      JSON.stringify(pipeline.sent),
      JSON.stringify(pipeline.bus.accepted),
      pipeline.log.lines.map((line) => line.text).join('\n'),
    ].join('\n');
    const hits = scanned.split(canaryPrefix).length - 1;
    reportFigure('secrets exactly-once', {
      emails: pipeline.sent.length,
      events: pipeline.bus.accepted.length,
      'log-lines': pipeline.log.lines.length,
      'canary-hits': hits,
    });
    expect(pipeline.sent.length).toBeGreaterThan(0);
    expect(hits).toBe(0);
  });
});
