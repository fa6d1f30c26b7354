/**
 * A month of the fleet through the real code, on the jobs' deployed schedules: every 5 minutes
 * the digest flush, every 15 the check, every hour the refresh job, each on the injected clock
 * and followed by its queues drained; between them the month's events (Meta's storm of
 * deauthorize callbacks, its release, the widget service reconnecting lost accounts).
 *
 * A check or flush run with nothing due does exactly what every such run does (the same queries
 * of empty buckets, the same storm-state read), so those are not all run: one is run for real
 * each simulated day, to keep the prediction honest, and the others are counted and costed at
 * the mean of idle runs measured on the empty table before the fleet was loaded. A run is
 * predicted idle only when no `dueAt` read or written since is at or before it.
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { asOf } from '../functions/platform/clock';
import { dueIndex, dueShards } from '../functions/storage/table';
import { noticeBuckets } from '../functions/storage/keys';
import { metering, onDueWrite, type Meter } from './cost-meter';
import { DAY, HOUR, MINUTE, type Fleet } from './cost-fleet';
import type { CostSystem } from './cost-system';

export type Job = 'check-expired-tokens' | 'refresh-due-tokens' | 'flush-digests';
export const jobEvery: Record<Job, number> = {
  'check-expired-tokens': 15 * MINUTE,
  'refresh-due-tokens': HOUR,
  'flush-digests': 5 * MINUTE,
};
export const monthDays = 30;

export interface MonthCounts {
  /** runs made for real, and runs predicted idle and only counted */
  ran: Record<Job, number>;
  skipped: Record<Job, number>;
  /** predicted idle, run anyway as a probe, and found work: should stay 0 */
  mispredicted: number;
  deauthorizeCalls: number;
  reconnects: number;
  stormReleases: number;
}

interface Happening {
  at: number;
  run: () => Promise<unknown>;
}

function happenings(fleet: Fleet, system: CostSystem, start: number, counts: MonthCounts) {
  const end = start + monthDays * DAY;
  const list: Happening[] = [];
  const reconnect = (accountId: string, ownerId: string, at: number) =>
    list.push({
      at,
      run: async () => {
        counts.reconnects += 1;
        const answer = await system.api(
          'PUT',
          `/service/instagram-accounts/${accountId}`,
          JSON.stringify({
            ownerUserId: ownerId,
            username: `ig.${accountId}`,
            accessToken: `IGQ${accountId}r${at.toString(36)}`,
            expiresAt: new Date(at + 60 * DAY).toISOString(),
            issuedAt: new Date(at).toISOString(),
          }),
        );
        if (answer.statusCode !== 200) throw new Error(`Reconnect answered ${answer.statusCode}`);
      },
    });
  const stormed = fleet.accounts.filter((account) => account.inStorm);
  stormed.forEach((account, index) => {
    list.push({
      at: fleet.stormAt + Math.floor((index / stormed.length) * 30 * MINUTE),
      run: async () => {
        counts.deauthorizeCalls += 1;
        await system.deauthorize(account.accountId);
      },
    });
    if (account.reconnectAfterMs !== undefined)
      reconnect(account.accountId, account.ownerId, fleet.releaseAt + account.reconnectAfterMs);
  });
  list.push({
    at: fleet.releaseAt,
    run: async () => {
      counts.stormReleases += 1;
      await system.api('POST', '/service/storm', JSON.stringify({ action: 'release' }));
    },
  });
  for (const account of fleet.accounts) {
    if (account.rejection && account.reconnectAfterMs !== undefined) {
      // Lost at its refresh, at most an hour after it fell due (14 days before its expiry).
      const lost = account.expiresAt - 14 * DAY + HOUR;
      reconnect(account.accountId, account.ownerId, lost + account.reconnectAfterMs);
    }
  }
  return list.filter((happening) => happening.at < end).sort((a, b) => a.at - b.at);
}

/** The earliest `dueAt` of the buckets the check and the flush read, up to tomorrow. */
async function earliestDue(db: DynamoDBDocumentClient, tableName: string, at: number) {
  let earliest = new Date(Math.floor(at / DAY) * DAY + 2 * DAY).toISOString();
  for (let day = -7; day <= 1; day += 1) {
    const date = new Date(at + day * DAY).toISOString().slice(0, 10);
    for (let shard = 0; shard < dueShards; shard += 1) {
      for (const bucket of [`${date}#${shard}`, noticeBuckets.pending(date, shard)]) {
        const page = await db.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: dueIndex.name,
            KeyConditionExpression: '#bucket = :bucket',
            ExpressionAttributeNames: { '#bucket': dueIndex.partitionKey },
            ExpressionAttributeValues: { ':bucket': bucket },
            Limit: 1,
          }),
        );
        const dueAt = page.Items?.[0]?.dueAt as string | undefined;
        if (dueAt !== undefined && dueAt < earliest) earliest = dueAt;
      }
    }
  }
  return earliest;
}

const didWork = (job: Job, summary: unknown): boolean => {
  const s = summary as { due?: number; warnings?: { published?: number } } | undefined;
  return job !== 'refresh-due-tokens' && ((s?.due ?? 0) > 0 || (s?.warnings?.published ?? 0) > 0);
};

export async function runMonth(options: {
  fleet: Fleet;
  system: CostSystem;
  db: DynamoDBDocumentClient;
  tableName: string;
  start: number;
  meter: Meter;
  log: (line: string) => void;
}): Promise<MonthCounts> {
  const { fleet, system, start, meter } = options;
  const jobs = Object.keys(jobEvery) as Job[];
  const counts: MonthCounts = {
    ran: Object.fromEntries(jobs.map((job) => [job, 0])) as Record<Job, number>,
    skipped: Object.fromEntries(jobs.map((job) => [job, 0])) as Record<Job, number>,
    mispredicted: 0,
    deauthorizeCalls: 0,
    reconnects: 0,
    stormReleases: 0,
  };
  let nextDue = '';
  onDueWrite((dueAt) => {
    if (dueAt < nextDue) nextDue = dueAt;
  });
  const peek = async (at: number) => {
    metering(undefined);
    nextDue = await earliestDue(options.db, options.tableName, at);
    metering(meter);
  };
  await peek(start);
  const queue = happenings(fleet, system, start, counts);
  // Digests wait up to a window; held notices until the release: the flush runs for real then.
  const busyFlush = (at: number) => at >= fleet.stormAt && at <= fleet.releaseAt + 2 * HOUR;
  let upcoming = 0;
  const step = jobEvery['flush-digests'];
  for (let tick = start; tick < start + monthDays * DAY; tick += step) {
    while (queue[upcoming] && (queue[upcoming]?.at ?? Infinity) <= tick) {
      const happening = queue[upcoming] as Happening;
      upcoming += 1;
      await asOf(new Date(happening.at), async () => {
        await happening.run();
        await system.drain();
      });
    }
    for (const job of jobs) {
      if ((tick - start) % jobEvery[job] !== 0) continue;
      const iso = new Date(tick).toISOString();
      const probe = (tick - start) % DAY === 0;
      const due = nextDue <= iso || (job === 'flush-digests' && busyFlush(tick));
      if (job !== 'refresh-due-tokens' && !due && !probe) {
        counts.skipped[job] += 1;
        continue;
      }
      counts.ran[job] += 1;
      const summary = await asOf(new Date(tick), async () => {
        const result = await system.job(job);
        await system.drain();
        return result;
      });
      if (!due && didWork(job, summary)) counts.mispredicted += 1;
      if (job !== 'refresh-due-tokens') await peek(tick);
    }
    if ((tick - start) % (5 * DAY) === 0)
      options.log(`  day ${String((tick - start) / DAY)}: ${JSON.stringify(counts.ran)}`);
  }
  return counts;
}
