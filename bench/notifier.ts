/**
 * Notifier overhead: emails per second through the real notifier (read the account, its
 * developers, their preferences and profiles, claim, render, send, complete) ÷ bare SendEmail
 * calls of the same email to the same SES emulator, at the same concurrency. Pacing is set far
 * above what either reaches, so this measures the notifier's own work, not its speed limit.
 */
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { createEmailRenderer } from '../functions/notifications/emails';
import { sampleEmailData } from '../functions/notifications/email-samples';
import { notifierConcurrency } from '../lib/notifications';
import { createBenchTable, writeItems } from './data';
import { round, sesArrivals, timeCalls, type Benchmark } from './harness';
import { documentClient } from '../functions/platform/dynamodb';
import { expiredAccounts, startNotifierFleet } from './notifier-fleet';
import { BusyTime, pairedRatio, timed, withConcurrency } from './stats';

export const run: Benchmark = async ({ quick, log }) => {
  const perRound = quick ? 100 : 300;
  const rounds = quick ? 2 : 3;
  // The stack's default rate (10 emails/s) gives this many notifiers; the bare senders match it.
  const concurrency = notifierConcurrency(10);
  const now = new Date();

  const table = await createBenchTable('notifier');
  // One set of accounts per round (and one to warm up): each event needs its emails once.
  const sets = await Promise.all(
    Array.from({ length: rounds + 1 }, (_, index) =>
      expiredAccounts({ prefix: `r${index}`, count: perRound, developerEvery: 2, now }),
    ),
  );
  await writeItems(
    table.db,
    table.tableName,
    sets.flatMap((set) => set.items),
  );
  // The notifiers share this module's document client: timing its calls profiles their reads
  // and writes.
  const busy = new BusyTime();
  timeCalls(documentClient(), busy);
  const fleet = await startNotifierFleet({
    tableName: table.tableName,
    instances: concurrency,
    sesMaxSendRate: 1_000_000,
  });

  const rendered = createEmailRenderer().render('expired-owner', sampleEmailData);
  const ses = new SESv2Client({ maxAttempts: 1 });
  const bareSends = (count: number, label: string) =>
    withConcurrency(
      Array.from({ length: count }, (_, index) => index),
      concurrency,
      async (index) => {
        await ses.send(
          new SendEmailCommand({
            FromEmailAddress: 'notifications@tokenwatch.bench',
            Destination: { ToAddresses: [`bare-${label}-${index}@example.com`] },
            Content: {
              Simple: {
                Subject: { Data: rendered.subject, Charset: 'UTF-8' },
                Body: {
                  Html: { Data: rendered.html, Charset: 'UTF-8' },
                  Text: { Data: rendered.text, Charset: 'UTF-8' },
                },
                Headers: [
                  { Name: 'List-Unsubscribe', Value: `<${sampleEmailData.unsubscribeUrl}>` },
                  { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
                ],
              },
            },
          }),
        );
      },
    );

  try {
    const [warmUp, ...measured] = sets;
    if (!warmUp) throw new Error('no warm-up set');
    await fleet.deliver(warmUp.details);
    await bareSends(warmUp.emails, 'warm');

    const notifierRates: number[] = [];
    const bareRates: number[] = [];
    let profile: Record<string, number> = {};
    for (const [index, set] of measured.entries()) {
      busy.reset();
      const started = Date.now();
      const notifierMs = await timed(() => fleet.deliver(set.details));
      const sent = (await sesArrivals(started + 1, Date.now())).length;
      if (sent !== set.emails) throw new Error(`The notifier sent ${sent} of ${set.emails} emails`);
      profile = { totalMs: Math.round(notifierMs), ...busy.summary() };
      const bareMs = await timed(() => bareSends(set.emails, String(index)));
      notifierRates.push(set.emails / (notifierMs / 1000));
      bareRates.push(set.emails / (bareMs / 1000));
      log(`  profile: ${JSON.stringify(profile)}`);
      log(
        `  round ${index + 1}: ${set.emails} emails, notifier ${notifierMs.toFixed(0)} ms, bare ${bareMs.toFixed(0)} ms`,
      );
    }
    return [
      {
        benchmark: 'notifier overhead',
        figure: `emails per second through the notifier ÷ bare SendEmail calls, ${concurrency} at a time`,
        goal: { atLeast: 0.5 },
        measured: pairedRatio(notifierRates, bareRates),
        details: {
          concurrency,
          emailsPerRound: measured[0]?.emails,
          notifierEmailsPerSecond: notifierRates.map((rate) => round(rate, 1)),
          bareEmailsPerSecond: bareRates.map((rate) => round(rate, 1)),
          profileOfLastRound: profile,
        },
      },
    ];
  } finally {
    ses.destroy();
    await fleet.stop();
    await table.drop();
  }
};
