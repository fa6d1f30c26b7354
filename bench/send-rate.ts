/**
 * Send-rate discipline: with an SES rate R and a backlog of emails, the real notifier fleet (the
 * concurrency the stack derives for R, each instance pacing itself to R ÷ concurrency with the
 * mailer's pacer) drains the backlog; the arrivals are counted at the SES emulator itself.
 * Figures: the achieved rate ÷ R, and the most emails in any one second, counted twice: where the
 * notifiers put the SendEmail requests on the wire (what the code controls) and where the emulator
 * took them in (what SES would count, plus the scheduling delays of a loaded machine).
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { notifierConcurrency } from '../lib/notifications';
import { createBenchTable, writeItems } from './data';
import { round, sesArrivals, type Benchmark } from './harness';
import { expiredAccounts, startNotifierFleet } from './notifier-fleet';
import { busiestWindow } from './stats';

/** 100 emails a second: a 2,000-email backlog takes 20 s, long enough to show a steady rate. */
const rate = 100;

export const run: Benchmark = async ({ quick, log }) => {
  const emails = quick ? 500 : 2_000;
  const concurrency = notifierConcurrency(rate);
  const table = await createBenchTable('send-rate');
  const backlog = await expiredAccounts({ prefix: 'rate', count: emails, now: new Date() });
  // A batch for each notifier first, unmeasured: warm Lambdas, as a backlog meets in AWS.
  const warmUp = await expiredAccounts({
    prefix: 'warm',
    count: concurrency * 10,
    now: new Date(),
  });
  await writeItems(table.db, table.tableName, [...warmUp.items, ...backlog.items]);
  const fleet = await startNotifierFleet({
    tableName: table.tableName,
    instances: concurrency,
    sesMaxSendRate: rate,
  });
  // When each SendEmail left a notifier, from Node's own HTTP client instrumentation.
  const departures: number[] = [];
  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: ClientRequest };
    if (request.method === 'POST' && request.path.endsWith('/outbound-emails')) {
      departures.push(Date.now());
    }
  });
  try {
    await fleet.deliver(warmUp.details);
    const started = Date.now();
    await fleet.deliver(backlog.details);
    const finished = Date.now();
    const arrivals = (await sesArrivals(started, finished)).sort((a, b) => a - b);
    if (arrivals.length !== emails) {
      throw new Error(`SES received ${arrivals.length} of ${emails} emails`);
    }
    const first = arrivals[0] as number;
    const last = arrivals.at(-1) as number;
    // n sends spaced exactly 1/R apart span (n - 1)/R seconds.
    const achieved = ((arrivals.length - 1) / (last - first)) * 1000;
    const { count: busiest, start: busiestStart } = busiestWindow(arrivals);
    const sent = departures.filter((instant) => instant >= started && instant <= finished);
    const busiestSent = busiestWindow(sent).count;
    log(
      `  ${emails} emails in ${((finished - started) / 1000).toFixed(1)} s: ${achieved.toFixed(1)}/s, at most ${busiestSent} sent and ${busiest} received in one second`,
    );
    const details = {
      rate,
      emails,
      concurrency,
      achievedPerSecond: round(achieved, 1),
      busiestSecondSent: busiestSent,
      busiestSecond: busiest,
      busiestSecondStartsAfterMs: busiestStart - first,
      perSecond: Array.from(
        { length: Math.ceil((last - first + 1) / 1000) },
        (_, second) =>
          arrivals.filter((instant) => Math.floor((instant - first) / 1000) === second).length,
      ),
      drainSeconds: round((finished - started) / 1000, 1),
    };
    return [
      {
        benchmark: 'send-rate discipline',
        figure: `achieved rate ÷ R (R = ${rate}/s, ${emails.toLocaleString('en')} emails, ${concurrency} notifiers)`,
        goal: { between: [0.9, 1.0] },
        measured: achieved / rate,
        details,
      },
      {
        benchmark: 'send-rate discipline',
        figure: 'most SendEmail requests the notifiers sent in any one second',
        goal: { atMost: rate },
        measured: busiestSent,
        decimals: 0,
        details,
      },
      {
        benchmark: 'send-rate discipline',
        figure: 'most SendEmail requests the SES emulator received in any one second',
        goal: { atMost: rate },
        measured: busiest,
        decimals: 0,
        details,
      },
    ];
  } finally {
    await fleet.stop();
    await table.drop();
  }
};
