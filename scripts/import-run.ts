/**
 * Writes a judged file (import-lines.ts) through the same operations as the service routes:
 * `upsertUser`, `connectAccount` and the developer-role repository. Users first, then accounts,
 * then developer roles, so that a role's account is there before the role; within each kind, at
 * most `concurrency` writes in flight.
 *
 * Run again, it leaves the same table: a profile is written as the same item, the same token is
 * no new generation (connectAccount writes nothing for it), and a role already held is left as
 * it is, with its first `grantedAt`.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { upsertUser, type ProfileWriter } from '../functions/people/users';
import { connectAccount } from '../functions/tokens/connect';
import type { AccountConnector } from '../functions/tokens/account-connections';
import type { AccountReader } from '../functions/tokens/accounts';
import type { DeveloperRoleRepository } from '../functions/tokens/developer-roles';
import { createTableStore } from '../local/table-store';
import type { ImportPlan, Numbered } from './import-lines';
import { prefetchingConnector } from './import-prefetch';

/** The operations the import writes through; the table store has them all. */
export type ImportStore = ProfileWriter &
  AccountConnector &
  AccountReader &
  Pick<DeveloperRoleRepository, 'putDeveloperRole' | 'hasDeveloperRole'>;

export type Phase = 'users' | 'accounts' | 'developers';
export const phaseNames: Record<Phase, string> = {
  users: 'users',
  accounts: 'accounts',
  developers: 'developer roles',
};

export interface PhaseResult {
  phase: Phase;
  total: number;
  done: number;
  /** what each write came to, by outcome (users: written; accounts: new, new token, …) */
  outcomes: Record<string, number>;
  ms: number;
}

export interface WriteFailure {
  line: number;
  /** the error's name and message, with anything the line held cut out */
  reason: string;
}

export interface ImportResult {
  phases: PhaseResult[];
  /** the first write that failed: the import stopped there (running it again is safe) */
  failure?: WriteFailure;
}

export interface RunOptions {
  concurrency: number;
  /**
   * How connectAccount reads the accounts of this run, in file order: by default one GetItem
   * each through `store`; `prefetchingConnector` reads them ahead in batches.
   */
  accountReader?: (accountIds: readonly string[]) => AccountConnector;
  clock?: () => Date;
  onProgress?: (phase: Phase, done: number, total: number) => void;
}

type Outcome = string;

/**
 * Runs `task` for every entry, at most `concurrency` at once, in file order. The first failure
 * stops new work; what is in flight finishes.
 */
async function writeAll<T>(
  entries: readonly Numbered<T>[],
  concurrency: number,
  task: (entry: Numbered<T>) => Promise<Outcome>,
  onDone: (done: number) => void,
): Promise<{ outcomes: Record<string, number>; done: number; failure?: WriteFailure }> {
  const outcomes: Record<string, number> = {};
  let next = 0;
  let done = 0;
  let failure: WriteFailure | undefined;
  const worker = async () => {
    while (failure === undefined && next < entries.length) {
      const entry = entries[next] as Numbered<T>;
      next += 1;
      try {
        const outcome = await task(entry);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        done += 1;
        onDone(done);
      } catch (error) {
        failure ??= { line: entry.line, reason: describeError(error, entry.record) };
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, entries.length)) }, worker),
  );
  return { outcomes, done, ...(failure ? { failure } : {}) };
}

/** An SDK error's name and message; a message that repeats a value of the line loses it. */
function describeError(error: unknown, record: unknown): string {
  const { name, message } =
    error instanceof Error ? error : { name: 'Error', message: String(error) };
  let reason = `${name}: ${message}`;
  const values = Object.values(record as Record<string, unknown>).filter(
    (value): value is string => typeof value === 'string' && value.length >= 4,
  );
  for (const value of values.sort((a, b) => b.length - a.length))
    reason = reason.replaceAll(value, '…');
  return reason;
}

export async function runImport(
  store: ImportStore,
  plan: Pick<ImportPlan, 'users' | 'accounts' | 'developers'>,
  options: RunOptions,
): Promise<ImportResult> {
  const clock = options.clock ?? (() => new Date());
  const progress = options.onProgress ?? (() => undefined);
  const phases: PhaseResult[] = [];
  const reader =
    options.accountReader?.(plan.accounts.map(({ record }) => record.accountId)) ?? store;

  const phase = async <T>(
    name: Phase,
    entries: readonly Numbered<T>[],
    task: (entry: Numbered<T>) => Promise<Outcome>,
  ): Promise<WriteFailure | undefined> => {
    const started = performance.now();
    progress(name, 0, entries.length);
    const result = await writeAll(entries, options.concurrency, task, (done) => {
      progress(name, done, entries.length);
    });
    phases.push({
      phase: name,
      total: entries.length,
      done: result.done,
      outcomes: result.outcomes,
      ms: performance.now() - started,
    });
    return result.failure;
  };

  const failure =
    (await phase('users', plan.users, async ({ record }) => {
      await upsertUser(store, record.userId, { email: record.email, name: record.name });
      return 'written';
    })) ??
    (await phase('accounts', plan.accounts, async ({ record }) => {
      const { accountId, ownerUserId, username, accessToken, expiresAt, issuedAt } = record;
      const connection = { ownerUserId, username, accessToken, expiresAt, issuedAt };
      // Which write connectAccount chose (the last one, if a concurrent write made it retry).
      let outcome: Outcome = 'unchanged';
      const observed: AccountConnector = {
        getAccountWithToken: (id) => reader.getAccountWithToken(id),
        storeConnectedToken: (...args) => {
          outcome = args[3] === undefined ? 'new' : 'new token';
          return store.storeConnectedToken(...args);
        },
        updateAccountDetails: (...args) => {
          outcome = 'owner or username changed';
          return store.updateAccountDetails(...args);
        },
      };
      await connectAccount(observed, accountId, connection, clock());
      return outcome;
    })) ??
    (await phase('developers', plan.developers, async ({ record }) => {
      // A role held already keeps its first grantedAt: a second run changes nothing.
      if (await store.hasDeveloperRole(record.accountId, record.userId)) return 'already held';
      await store.putDeveloperRole({ accountId: record.accountId, userId: record.userId }, clock());
      return 'granted';
    }));

  return { phases, ...(failure ? { failure } : {}) };
}

/** Which of these accounts the table holds: for roles whose account is not in the file. */
export function accountLookup(store: AccountReader, concurrency: number) {
  return async (accountIds: readonly string[]): Promise<ReadonlySet<string>> => {
    const found = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < accountIds.length) {
        const accountId = accountIds[next] as string;
        next += 1;
        if (await store.getAccount(accountId)) found.add(accountId);
      }
    };
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(concurrency, accountIds.length)) }, worker),
    );
    return found;
  };
}

/** What the CLI (and the benchmark) writes to: every repository over the table, reads batched. */
export function importTarget(db: DynamoDBDocumentClient, tableName: string) {
  const store = createTableStore(db, tableName);
  return {
    store,
    accountReader: (accountIds: readonly string[]) =>
      prefetchingConnector(db, tableName, store, accountIds),
  };
}
