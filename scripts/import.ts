/**
 * `npm run import -- <file.jsonl> --table <name>`: moves an existing widget service in. Each
 * line is a user, an Instagram account with its token, or a developer role, with the fields of
 * the matching service route. The whole file is judged first; a bad line means nothing is
 * written, unless `--skip-invalid`. Then users, accounts and roles are written through the same
 * operations as the routes. Running it again leaves the same table.
 *
 * Exit codes: 0 imported, 1 bad lines (nothing written), 2 usage, 3 a write failed (the import
 * stopped; running it again is safe). Access tokens are never printed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../functions/platform/dynamodb';
import { planImport, readLines, type ImportPlan } from './import-lines';
import {
  accountLookup,
  importTarget,
  phaseNames,
  runImport,
  type ImportResult,
  type ImportStore,
  type Phase,
} from './import-run';

export const usage = `Usage: npm run import -- <file.jsonl> (--table <name> | --outputs <file> [--stack <name>]) [options]

Loads users, Instagram accounts with their tokens, and developer roles into tokenwatch's table,
one JSON object per line, through the same rules as the service API (docs/import-example.jsonl).

  --table <name>       the table to write to
  --outputs <file>     take the table from \`cdk deploy --outputs-file <file>\` (its TableName output)
  --stack <name>       the stack in that file, when it holds more than one
  --skip-invalid       write the valid lines even when others are bad (the bad ones are still listed)
  --check              judge the file only; write nothing (a table is needed only to look up the
                       accounts of developer roles that are not in the file)
  --concurrency <n>    writes in flight at once, 1 to 256 (default 16)
  -h, --help           this text

The endpoint and credentials are the AWS SDK's usual settings (AWS_REGION, AWS_PROFILE,
AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local, AWS_MAX_ATTEMPTS).
Exit codes: 0 done, 1 bad lines and nothing written, 2 usage, 3 a write failed (run it again).`;

export const exitCodes = { ok: 0, badLines: 1, usage: 2, writeFailed: 3 } as const;

class UsageError extends Error {}

interface Options {
  file: string;
  table?: string;
  skipInvalid: boolean;
  check: boolean;
  concurrency: number;
}

/** The table named in `cdk deploy --outputs-file`'s JSON: `{ "<stack>": { "TableName": … } }`. */
export function tableFromOutputs(file: string, stack: string | undefined): string {
  let outputs: Record<string, Record<string, unknown>>;
  try {
    outputs = JSON.parse(readFileSync(file, 'utf8')) as typeof outputs;
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  const stacks = Object.keys(outputs).filter((name) => outputs[name]?.TableName !== undefined);
  const chosen = stack ?? (stacks.length === 1 ? stacks[0] : undefined);
  if (chosen === undefined) {
    throw new UsageError(
      stacks.length === 0
        ? `${file} names no stack with a TableName output`
        : `${file} holds several stacks (${stacks.join(', ')}): choose one with --stack`,
    );
  }
  const table = outputs[chosen]?.TableName;
  if (typeof table !== 'string' || table === '') {
    throw new UsageError(`${file} has no TableName output for the stack ${chosen}`);
  }
  return table;
}

export function parseOptions(argv: readonly string[]): Options | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        table: { type: 'string' },
        outputs: { type: 'string' },
        stack: { type: 'string' },
        'skip-invalid': { type: 'boolean', default: false },
        check: { type: 'boolean', default: false },
        concurrency: { type: 'string', default: '16' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError('Name exactly one file to import');
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    throw new UsageError('--concurrency must be a whole number from 1 to 256');
  }
  if (values.table !== undefined && values.outputs !== undefined) {
    throw new UsageError('Give --table or --outputs, not both');
  }
  if (values.stack !== undefined && values.outputs === undefined) {
    throw new UsageError('--stack chooses a stack of --outputs');
  }
  const table =
    values.table ??
    (values.outputs !== undefined ? tableFromOutputs(values.outputs, values.stack) : undefined);
  if (table !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(table)) {
    throw new UsageError(`${table} cannot be a DynamoDB table name`);
  }
  if (table === undefined && !values.check) {
    throw new UsageError('Name the table: --table <name>, or --outputs <cdk outputs file>');
  }
  return {
    file: positionals[0] as string,
    ...(table !== undefined ? { table } : {}),
    skipInvalid: values['skip-invalid'],
    check: values.check,
    concurrency,
  };
}

const count = (value: number) => value.toLocaleString('en');
const counted = (value: number, one: string, many = `${one}s`) =>
  `${count(value)} ${value === 1 ? one : many}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * What the person running it sees. On a terminal, one line that keeps being rewritten while
 * work goes on; elsewhere (a log, a pipe), only the lines that stay.
 */
export class Console {
  private shown = false;
  private lastDraw = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly err: NodeJS.WriteStream,
  ) {}

  get live(): boolean {
    return this.out.isTTY;
  }

  /** The updating line, drawn at most ten times a second (and always when `force`). */
  status(text: string, force = false): void {
    if (!this.live) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = this.out.columns > 1 ? this.out.columns - 1 : 79;
    this.out.write(`\r\x1b[2K${text.slice(0, width)}`);
    this.shown = true;
  }

  private clear(): void {
    if (this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
  }

  line(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
  }

  error(text: string): void {
    this.clear();
    this.err.write(`${text}\n`);
  }
}

function describePlan(file: string, plan: ImportPlan): string {
  return (
    `${file}: ${counted(plan.lines, 'line')}: ${counted(plan.users.length, 'user')}, ` +
    `${counted(plan.accounts.length, 'account')}, ` +
    `${counted(plan.developers.length, 'developer role')}, ${count(plan.bad.length)} bad`
  );
}

function describeResult(result: ImportResult): string[] {
  return result.phases
    .filter(({ total }) => total > 0)
    .map(({ phase, done, total, outcomes, ms }) => {
      const parts = Object.entries(outcomes)
        .sort(([, a], [, b]) => b - a)
        .map(([outcome, value]) => `${count(value)} ${outcome}`);
      return `${phaseNames[phase]}: ${count(done)} of ${count(total)} in ${seconds(ms)}${
        parts.length > 0 ? ` (${parts.join(', ')})` : ''
      }`;
    });
}

export async function main(
  argv: readonly string[],
  out: NodeJS.WriteStream = process.stdout,
  err: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  const ui = new Console(out, err);
  let options: Options | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    ui.error(`${error.message}\n\n${usage}`);
    return exitCodes.usage;
  }
  if (options === 'help') {
    ui.line(usage);
    return exitCodes.ok;
  }

  const started = performance.now();
  const client = new DynamoDBClient({});
  try {
    const target =
      options.table !== undefined
        ? importTarget(createDocumentClient(client), options.table)
        : undefined;
    const store: ImportStore | undefined = target?.store;

    let plan: ImportPlan;
    try {
      plan = await planImport(
        readLines(options.file),
        store && accountLookup(store, options.concurrency),
        (lines) => {
          ui.status(`Checking ${options.file}: line ${count(lines)}`);
        },
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
        ui.error(`Cannot read ${options.file} (${code})\n\n${usage}`);
        return exitCodes.usage;
      }
      throw error;
    }
    ui.line(describePlan(options.file, plan));
    for (const { line, reason } of plan.bad) ui.error(`  line ${line}: ${reason}`);

    const writable = plan.users.length + plan.accounts.length + plan.developers.length;
    if (options.check) {
      ui.line(plan.bad.length > 0 ? 'Checked: bad lines above.' : 'Checked: every line is good.');
      return plan.bad.length > 0 ? exitCodes.badLines : exitCodes.ok;
    }
    if (plan.bad.length > 0 && !options.skipInvalid) {
      ui.error(
        `Nothing was written. Fix the lines above, or run again with --skip-invalid to import ` +
          `the ${counted(writable, 'good line')}.`,
      );
      return exitCodes.badLines;
    }
    if (!store || !target) throw new Error('unreachable: a table is required unless --check');

    ui.line(`Importing into ${options.table ?? ''} (${options.concurrency} at a time)`);
    const phaseStarted = new Map<Phase, number>();
    const result = await runImport(store, plan, {
      concurrency: options.concurrency,
      accountReader: target.accountReader,
      onProgress: (phase, done, total) => {
        if (total === 0) return;
        if (!phaseStarted.has(phase)) phaseStarted.set(phase, performance.now());
        const elapsed = (performance.now() - (phaseStarted.get(phase) ?? 0)) / 1000;
        const rate = elapsed > 0 ? Math.round(done / elapsed) : 0;
        ui.status(
          `${phaseNames[phase]}: ${count(done)} of ${count(total)}` +
            (done > 0 ? ` · ${count(rate)}/s` : ''),
          done === total,
        );
      },
    });
    for (const text of describeResult(result)) ui.line(text);
    if (result.failure) {
      ui.error(
        `Stopped: line ${result.failure.line} could not be written: ${result.failure.reason}\n` +
          'What was written stays; running the import again is safe.',
      );
      return exitCodes.writeFailed;
    }
    ui.line(
      `Done in ${seconds(performance.now() - started)}` +
        (plan.bad.length > 0 ? `; ${counted(plan.bad.length, 'bad line')} skipped.` : '.'),
    );
    return exitCodes.ok;
  } finally {
    client.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
