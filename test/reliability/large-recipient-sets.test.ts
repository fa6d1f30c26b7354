/**
 * Large recipient sets. One expired account whose owner and opted-in developers are more than
 * one notifier invocation can tell (each invocation starts a fixed number of recipients before
 * its time reserve, as a Lambda timeout small for the set would), through the real check → bus →
 * queue (5 receives, then the dead-letter queue) → notifier, with the notifier handing the
 * remainder of a message that made progress on through the bus, as deployed. Faults: SES
 * throttling (a proxy answering 429 in front of the SES emulator), SES outages that end (every
 * send refused, or never answered, for several invocations), and outages that do not.
 *
 * Promises: 0 people untold and each told once; nothing dead-lettered that made progress (a
 * receive that sent someone their email is never failed); and a message that makes no progress
 * still reaches the dead-letter queue after 5 receives, so a real outage is alarmed, not looped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailsTo, startThrottlingSesProxy } from '../support/pipeline-services';
import {
  awsError,
  connectionReset,
  FaultSchedule,
  reportFigure,
  seededRandom,
  type Fault,
  type Step,
} from '../support/reliability-faults';
import {
  canaryToken,
  startFaultyPipeline,
  type FaultyPipeline,
  type NotifierSettings,
  type PipelineRun,
} from '../support/reliability-pipeline';

const seed = 12_002;

let proxy: Awaited<ReturnType<typeof startThrottlingSesProxy>>;
/** Which SendEmail calls the proxy throttles (n counts from 1 over the whole file). */
let throttle: (sendNumber: number) => boolean = () => false;
let pipeline: FaultyPipeline;
beforeAll(async () => {
  proxy = await startThrottlingSesProxy((sendNumber) => throttle(sendNumber));
  pipeline = await startFaultyPipeline('tokenwatch-reliability-large', {
    sesEndpoint: proxy.endpoint,
  });
});
afterAll(async () => {
  await pipeline.stop();
  await proxy.stop();
});

/**
 * SES fails every send during the notifier invocations `outage` picks (counted from 1 in the
 * run), with the fault it answers; other steps follow the (empty) one-shot schedule.
 */
class SesOutage extends FaultSchedule {
  refused = 0;
  constructor(
    private readonly run: () => PipelineRun,
    private readonly outage: (invocation: number) => Fault | undefined,
  ) {
    super();
  }

  override faultFor(step: Step, input: Record<string, unknown> = {}): Fault | undefined {
    const fault = step === 'send' ? this.outage(this.run().notifierInvocations) : undefined;
    if (!fault) return super.faultFor(step, input);
    this.refused += 1;
    return fault;
  }
}

const unavailable: Fault = { kind: 'throw', error: () => awsError('ServiceUnavailable', 503) };
const unanswered: Fault = { kind: 'throw', error: connectionReset };

let nextRunId = 0;

interface Scenario {
  /** @default 1 */
  accounts?: number;
  /** opted-in developers per account, besides its owner */
  developers: number;
  notifier: NotifierSettings;
  copies?: number;
  outage?: (invocation: number) => Fault | undefined;
}

interface Result {
  run: PipelineRun;
  recipients: number;
  told: number;
  untold: number;
  twice: number;
  receives: number;
  handedOn: number;
  deadLettered: number;
  /** receives that sent someone their email and were failed all the same */
  failedAfterProgress: number;
  sesRefused: number;
}

/** An account due in this run, its owner and `developers` opted-in developers: their addresses. */
async function expiredAccount(
  run: PipelineRun,
  index: number,
  developers: number,
): Promise<string[]> {
  const owner = await pipeline.person(run, 'owner');
  const accountId = `large-${run.id}-${index}-${owner.userId.slice(-8)}`;
  pipeline.track(run, accountId);
  await pipeline.table.store.putAccount(
    {
      accountId,
      ownerUserId: owner.userId,
      username: `big_shop_${run.id}_${index}`,
      accessToken: canaryToken(),
      expiresAt: new Date(run.base.getTime() - 3_600_000).toISOString(),
    },
    run.base,
  );
  const addresses = [owner.email];
  for (let start = 0; start < developers; start += 50) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(50, developers - start) }, async () => {
        const developer = await pipeline.person(run, 'dev', {
          ownerExpiredToken: true,
          developerExpiredToken: true,
        });
        await pipeline.table.store.putDeveloperRole(
          { accountId, userId: developer.userId },
          run.base,
        );
        return developer.email;
      }),
    );
    addresses.push(...chunk);
  }
  return addresses;
}

/** Seeds the accounts and their people, runs the check until settled, counts the inboxes. */
async function oneRun(scenario: Scenario): Promise<Result> {
  const id = (nextRunId += 1);
  const schedule = new SesOutage(() => run, scenario.outage ?? (() => undefined));
  const run = pipeline.newRun(id, {
    schedule,
    copies: () => scenario.copies ?? 1,
    notifier: scenario.notifier,
  });
  const addresses: string[] = [];
  for (let account = 0; account < (scenario.accounts ?? 1); account += 1) {
    addresses.push(...(await expiredAccount(run, account, scenario.developers)));
  }

  await pipeline.settle(run);

  const received = new Map<string, number>();
  for (const email of await emailsTo(addresses)) {
    for (const to of email.destination.to) received.set(to, (received.get(to) ?? 0) + 1);
  }
  const batches = run.batches ?? [];
  return {
    run,
    recipients: addresses.length,
    told: addresses.filter((address) => (received.get(address) ?? 0) > 0).length,
    untold: addresses.filter((address) => !received.has(address)).length,
    twice: addresses.filter((address) => (received.get(address) ?? 0) > 1).length,
    receives: run.queue.stats.deliveries,
    handedOn: batches.reduce((sum, batch) => sum + batch.totals.handedOn, 0),
    deadLettered: run.deadLetters.size,
    // One account and one copy of its event: one message per batch, whose totals are its own.
    failedAfterProgress: batches.filter(
      (batch) =>
        batch.totals.messages === 1 &&
        batch.totals.sent - batch.totals.sentTwice > 0 &&
        batch.batchItemFailures.length > 0,
    ).length,
    sesRefused: schedule.refused,
  };
}

function report(promise: string, result: Result, extra: Record<string, number | string> = {}) {
  reportFigure(`large-recipient-sets ${promise}`, {
    recipients: result.recipients,
    told: result.told,
    untold: result.untold,
    'told-twice': result.twice,
    receives: result.receives,
    'handed-on': result.handedOn,
    'dead-lettered': result.deadLettered,
    'failed-after-progress': result.failedAfterProgress,
    ...extra,
  });
}

describe('an event with more recipients than one invocation can tell', () => {
  it('tells an owner and 150 opted-in developers once each, 25 per receive, and dead-letters nothing', async () => {
    const result = await oneRun({
      developers: 150,
      notifier: { recipientsPerInvocation: 25, handOn: true },
    });
    report('issue-12', result);

    expect(result).toMatchObject({
      recipients: 151,
      told: 151,
      untold: 0,
      twice: 0,
      deadLettered: 0,
      failedAfterProgress: 0,
    });
    // 25 + 25 + … : six messages handed on, seven receives, no receive wasted.
    expect(result.handedOn).toBe(6);
    expect(result.receives).toBe(7);
    expect(result.run.marksWithoutEvent).toBe(0);
  });

  it('tells 1,201 people once each while SES throttles half the sends, with duplicate events', async () => {
    const rand = seededRandom(seed);
    const throttledBefore = proxy.throttled.length;
    throttle = () => rand.chance(0.5);
    let result: Result;
    try {
      result = await oneRun({
        developers: 1_200,
        // Each copy of the event is a chain of its own; the ledger keeps them from telling
        // anyone twice.
        copies: 2,
        notifier: { recipientsPerInvocation: 100, handOn: true },
      });
    } finally {
      throttle = () => false;
    }
    const throttled = proxy.throttled.length - throttledBefore;
    report('ses-throttling', result, { 'ses-throttled': throttled });

    expect(throttled).toBeGreaterThan(500);
    expect(result).toMatchObject({ told: 1_201, untold: 0, twice: 0, deadLettered: 0 });
    expect(result.handedOn).toBeGreaterThan(12);
  }, 180_000);

  it('tells the people of several large events at once, though each batch has time for one', async () => {
    const result = await oneRun({
      accounts: 6,
      developers: 60,
      notifier: { recipientsPerInvocation: 25, handOn: true },
    });
    report('six-events-at-once', result);

    expect(result).toMatchObject({ recipients: 366, told: 366, untold: 0, twice: 0 });
    // The events the time ran out before were not failed for it: none used up its receives.
    expect(result.deadLettered).toBe(0);
  });

  it('tells everyone after an SES outage of four receives (refused, then unanswered) that ends', async () => {
    const result = await oneRun({
      developers: 150,
      notifier: { recipientsPerInvocation: 25, handOn: true },
      // Invocation 1 tells 25 and hands on; the new message's first four receives find SES
      // down (a fifth would dead-letter it); then SES is back.
      outage: (invocation) =>
        invocation >= 2 && invocation <= 3
          ? unavailable
          : invocation >= 4 && invocation <= 5
            ? unanswered
            : undefined,
    });
    report('ses-outage-that-ends', result, { 'ses-refused': result.sesRefused });

    expect(result.sesRefused).toBeGreaterThan(0);
    expect(result).toMatchObject({
      told: 151,
      untold: 0,
      twice: 0,
      deadLettered: 0,
      failedAfterProgress: 0,
    });
    expect(result.handedOn).toBe(6);
  });

  it('still dead-letters a message that makes no progress, after 5 receives, and only that one', async () => {
    const fromStart = await oneRun({
      developers: 150,
      notifier: { recipientsPerInvocation: 25, handOn: true },
      outage: () => unavailable,
    });
    report('ses-outage-from-the-start', fromStart);
    expect(fromStart).toMatchObject({
      told: 0,
      untold: 151,
      receives: 5,
      handedOn: 0,
      deadLettered: 1,
    });

    // SES goes down for good after the first receive told 25: the message handed on makes no
    // progress in its 5 receives and is dead-lettered with the 126 still waiting; the one that
    // made progress was not.
    const afterProgress = await oneRun({
      developers: 150,
      notifier: { recipientsPerInvocation: 25, handOn: true },
      outage: (invocation) => (invocation >= 2 ? unavailable : undefined),
    });
    report('ses-outage-that-does-not-end', afterProgress);
    expect(afterProgress).toMatchObject({
      told: 25,
      untold: 126,
      twice: 0,
      receives: 6,
      handedOn: 1,
      deadLettered: 1,
      failedAfterProgress: 0,
    });
  });
});
