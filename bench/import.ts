/**
 * The import, measured through its real code path: a JSON Lines file of new accounts read,
 * judged and written by `npm run import`'s own modules (readLines → planImport → runImport, so
 * connectAccount and the account repository) into DynamoDB Local, at the import's default
 * concurrency.
 *
 * Against: the very PutItem the repository sends for a new account (the same item, the same
 * `attribute_not_exists(pk)` condition, recorded from the repository rather than written by
 * hand), bare, for as many other new accounts, at the same concurrency.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  PutCommand,
  type DynamoDBDocumentClient,
  type PutCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../functions/platform/dynamodb';
import { createAccountConnections } from '../functions/tokens/account-connections';
import { planImport, readLines } from '../scripts/import-lines';
import { importTarget, runImport } from '../scripts/import-run';
import { createBenchTable, type BenchTable } from './data';
import { round, timeCalls, type Benchmark, type Figure } from './harness';
import { BusyTime, median, pairedRatio, seededRandom, timed, withConcurrency } from './stats';

/** The import's default (`--concurrency`). */
const concurrency = 16;
const DAY_MS = 86_400_000;
const now = new Date('2026-06-01T12:00:00.000Z');

interface AccountLine {
  type: 'account';
  accountId: string;
  ownerUserId: string;
  username: string;
  accessToken: string;
  expiresAt: string;
  issuedAt?: string;
}

/** `count` new accounts, ids starting with `prefix`: tokens of a realistic length (~200 characters). */
function accountLines(seed: number, count: number, prefix: string): AccountLine[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, index) => {
    const expiresAt = new Date(now.getTime() + Math.floor(random() * 60 * DAY_MS));
    return {
      type: 'account',
      accountId: `${prefix}${index.toString().padStart(7, '0')}`,
      ownerUserId: `owner-${Math.floor(random() * count)}`,
      username: `shop.${prefix.toLowerCase()}${index}`,
      accessToken: `IGQ-bench-${Math.floor(random() * 1e15).toString(36)}-${'x'.repeat(180)}`,
      expiresAt: expiresAt.toISOString(),
      ...(index % 2 === 0
        ? { issuedAt: new Date(expiresAt.getTime() - 60 * DAY_MS).toISOString() }
        : {}),
    };
  });
}

/** The PutItems the repository sends to store these as new accounts, recorded, not sent. */
async function recordedPuts(lines: readonly AccountLine[], tableName: string) {
  const puts: PutCommandInput[] = [];
  const recorder = {
    send: (command: { input: PutCommandInput }) => {
      puts.push(command.input);
      return Promise.resolve({});
    },
  } as unknown as DynamoDBDocumentClient;
  const repository = createAccountConnections(recorder, tableName);
  for (const { accountId, ownerUserId, username, accessToken, expiresAt, issuedAt } of lines) {
    const connection = { ownerUserId, username, accessToken, expiresAt, issuedAt };
    await repository.storeConnectedToken(accountId, connection, 1, undefined, now);
  }
  if (puts.some((put) => put.ConditionExpression !== 'attribute_not_exists(pk)')) {
    throw new Error('A new account is no longer stored with attribute_not_exists(pk)');
  }
  return puts;
}

export const run: Benchmark = async ({ quick, seed, log }) => {
  const accounts = quick ? 1_000 : 5_000;
  const rounds = quick ? 3 : 7;
  const table: BenchTable = await createBenchTable('import');
  const directory = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-import-'));
  const target = importTarget(table.db, table.tableName);

  /** One import of a file of `accounts` new accounts, exactly as the CLI runs it. */
  const importRound = async (name: string, into = target) => {
    const file = join(directory, `${name}.jsonl`);
    const lines = accountLines(seed + name.length, accounts, name);
    writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
    return timed(async () => {
      const plan = await planImport(readLines(file), undefined);
      if (plan.bad.length > 0 || plan.accounts.length !== accounts) {
        throw new Error(`The bench file has ${plan.bad.length} bad lines`);
      }
      const result = await runImport(into.store, plan, {
        concurrency,
        accountReader: into.accountReader,
      });
      if (result.failure || result.phases[1]?.outcomes.new !== accounts) {
        throw new Error(`The import did not store ${accounts} new accounts`);
      }
    });
  };
  /** The same conditional PutItem as the repository's, bare, for other new accounts. */
  const bareRound = async (name: string) => {
    const puts = await recordedPuts(
      accountLines(seed + name.length, accounts, name),
      table.tableName,
    );
    return timed(() =>
      withConcurrency(puts, concurrency, async (put) => {
        await table.db.send(new PutCommand(put));
      }),
    );
  };

  try {
    // One untimed round of each first: DynamoDB Local's JIT and the SDK's connections warm up.
    await importRound('WI');
    await bareRound('WB');
    const times = { import: [] as number[], bare: [] as number[] };
    for (let index = 0; index < rounds; index += 1) {
      const order = index % 2 === 0 ? (['import', 'bare'] as const) : (['bare', 'import'] as const);
      for (const side of order) {
        times[side].push(
          side === 'import' ? await importRound(`I${index}`) : await bareRound(`B${index}`),
        );
      }
      log(
        `  round ${index + 1}: import ${times.import.at(-1)?.toFixed(0)} ms, bare PutItems ${times.bare.at(-1)?.toFixed(0)} ms for ${accounts} accounts`,
      );
    }

    // The profile: where one more import spends its time, call by call.
    const busy = new BusyTime();
    const profiled = new DynamoDBClient({});
    timeCalls(profiled, busy);
    const profiledMs = await importRound(
      'P',
      importTarget(createDocumentClient(profiled), table.tableName),
    );
    const profile = { totalMs: Math.round(profiledMs), busyMs: busy.summary() };
    log(`  profile: ${JSON.stringify(profile)}`);
    profiled.destroy();

    const figures: Figure[] = [
      {
        benchmark: 'import',
        figure: `accounts imported per second ÷ bare conditional PutItems per second, ${concurrency} at a time (${accounts.toLocaleString('en')} new accounts)`,
        goal: { atLeast: 0.7 },
        // The same number of accounts on both sides: import rate ÷ bare rate = bare time ÷ import time.
        measured: pairedRatio(times.bare, times.import),
        details: {
          accounts,
          concurrency,
          rounds,
          importAccountsPerSecond: Math.round(accounts / (median(times.import) / 1000)),
          barePutsPerSecond: Math.round(accounts / (median(times.bare) / 1000)),
          msImport: times.import.map(Math.round),
          msBare: times.bare.map(Math.round),
          profile,
        },
      },
    ];
    log(`  import ÷ bare: ${round(figures[0]?.measured ?? 0)}`);
    return figures;
  } finally {
    rmSync(directory, { recursive: true, force: true });
    await table.drop();
  }
};
