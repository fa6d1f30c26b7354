import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { main, parseOptions, tableFromOutputs } from '../../scripts/import';
import { createTestTable, type TestTable } from '../support/table';

const root = fileURLToPath(new URL('../../', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'tokenwatch-import-'));
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

let file = 0;
function jsonl(lines: readonly string[]): string {
  const path = join(directory, `import-${(file += 1)}.jsonl`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const tables: TestTable[] = [];
async function freshTable(): Promise<TestTable> {
  const table = await createTestTable('tokenwatch-import');
  tables.push(table);
  return table;
}
afterAll(async () => {
  await Promise.all(tables.map((table) => table.drop()));
});

/** Every token of these tests starts so: no output of the import may ever contain it. */
const canary = 'IGQ-canary-';

/** A stream that keeps what is written; `tty` makes it look like a terminal. */
function capture(tty = false) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as Writable & { isTTY: boolean; columns: number };
  stream.isTTY = tty;
  stream.columns = 100;
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

/** Runs the import in this process, as `npm run import -- …args` would. */
async function runImport(args: readonly string[], tty = false) {
  const out = capture(tty);
  const err = capture();
  const code = await main(args, out.stream, err.stream);
  const output = out.text() + err.text();
  expect(output).not.toContain(canary);
  return { code, stdout: out.text(), stderr: err.text() };
}

const badLineNumbers = (stderr: string) =>
  [...stderr.matchAll(/^ {2}line (\d+): /gm)].map((match) => Number(match[1]));

/** Sorted by key, so two scans of the same table compare equal item by item. */
const sortedItems = (items: Record<string, unknown>[]) =>
  [...items].sort((a, b) =>
    `${a.pk as string}|${a.sk as string}`.localeCompare(`${b.pk as string}|${b.sk as string}`),
  );

const expiresAt = (index: number) =>
  new Date(Date.UTC(2027, 0, 1) + (index % 50) * 86_400_000).toISOString();

/**
 * 10,000 lines, as a widget service might export them: 3,000 users, 5,000 accounts and 2,000
 * developer roles, interleaved, every role before its account's line. `bad` maps a line number
 * to what replaces it.
 */
function generatedFile(bad: ReadonlyMap<number, string>) {
  const lines: string[] = [];
  let users = 0;
  let accounts = 0;
  let roles = 0;
  for (let line = 1; line <= 10_000; line += 1) {
    const slot = line % 5;
    if (slot === 0 || slot === 3) {
      lines.push(
        JSON.stringify({
          type: 'user',
          userId: `user-${users}`,
          email: `owner${users}@shop.example`,
          name: `Shop ${users}`,
        }),
      );
      users += 1;
    } else if (slot === 4) {
      // The account of this role comes five lines later: the order of the file does not matter.
      const accountId = `1784140${String(accounts + 1).padStart(10, '0')}`;
      lines.push(JSON.stringify({ type: 'developer', accountId, userId: `user-${roles % 500}` }));
      roles += 1;
    } else {
      const accountId = `1784140${String(accounts).padStart(10, '0')}`;
      lines.push(
        JSON.stringify({
          type: 'account',
          accountId,
          ownerUserId: `user-${accounts % 3000}`,
          username: `shop.${accounts}`,
          accessToken: `${canary}${accounts}-${'x'.repeat(40)}`,
          expiresAt: expiresAt(accounts),
          ...(accounts % 2 === 0 ? { issuedAt: '2026-11-01T00:00:00Z' } : {}),
        }),
      );
      accounts += 1;
    }
  }
  for (const [line, text] of bad) lines[line - 1] = text;
  return lines;
}

/**
 * Bad lines of every kind, among them some that hold a token where it does not belong. The
 * accounts replaced are ones no role names (the first of each pair), so no other line turns bad.
 */
const badLines = new Map<number, string>([
  [
    16,
    JSON.stringify({
      type: 'account',
      accountId: '17841409999999991',
      ownerUserId: 'user-1',
      username: 'not a username',
      accessToken: `${canary}bad-username`,
      expiresAt: '2027-01-01T00:00:00Z',
    }),
  ],
  [2_048, `{"type": "account", "accessToken": "${canary}unterminated`],
  [
    4_241,
    JSON.stringify({
      type: 'account',
      accountId: '17841409999999992',
      ownerUserId: 'user-2',
      username: 'shop.bad',
      accessToken: `${canary}in-expires`,
      expiresAt: `${canary}not-an-instant`,
    }),
  ],
  [
    6_000,
    JSON.stringify({
      type: 'user',
      userId: 'user-bad',
      email: 'bad@shop.example',
      name: 'Bad',
      token: `${canary}unknown-field`,
    }),
  ],
  // A role on an account that is neither in the file nor in the table.
  [8_004, JSON.stringify({ type: 'developer', accountId: '17841409999999993', userId: 'user-1' })],
  [9_999, JSON.stringify({ type: 'owner', accountId: '17841409999999994' })],
]);

describe('npm run import', () => {
  let big: string;
  beforeAll(() => {
    big = jsonl(generatedFile(badLines));
  });

  it('reports exactly the bad lines of a 10,000-line file, by number, and writes nothing', async () => {
    const table = await freshTable();
    const { code, stdout, stderr } = await runImport([big, '--table', table.tableName]);
    expect(code).toBe(1);
    expect(badLineNumbers(stderr)).toEqual([...badLines.keys()].sort((a, b) => a - b));
    expect(stderr).toContain('line 16: username: an Instagram username');
    expect(stderr).toContain('line 2048: not valid JSON');
    expect(stderr).toContain('line 4241: expiresAt: Invalid ISO datetime');
    expect(stderr).toContain('line 6000: unknown field "token"');
    expect(stderr).toContain('line 8004: its account is neither in this file nor in the table');
    expect(stderr).toContain('line 9999: type: must be one of "user", "account", "developer"');
    expect(stderr).toContain('Nothing was written');
    expect(stdout).toContain('10,000 lines');
    expect(await table.scanAll()).toEqual([]);
  });

  it('writes the other lines with --skip-invalid, and a second run leaves the same table', async () => {
    const table = await freshTable();
    const first = await runImport([big, '--table', table.tableName, '--skip-invalid']);
    expect(first.code).toBe(0);
    expect(badLineNumbers(first.stderr)).toEqual([...badLines.keys()].sort((a, b) => a - b));

    const items = sortedItems(await table.scanAll());
    const kinds = (prefix: string) =>
      items.filter((item) => (item.sk as string).startsWith(prefix));
    // Every line but the bad ones, each written once.
    const expected = generatedFile(new Map())
      .map((text, index) => ({ line: index + 1, value: JSON.parse(text) as { type: string } }))
      .filter(({ line }) => !badLines.has(line));
    const count = (type: string) => expected.filter(({ value }) => value.type === type).length;
    expect(kinds('PROFILE')).toHaveLength(count('user'));
    expect(kinds('TOKEN')).toHaveLength(count('account'));
    expect(kinds('DEVELOPER#')).toHaveLength(count('developer'));
    expect(items).toHaveLength(count('user') + count('account') + count('developer'));
    expect(kinds('TOKEN').every((item) => item.generation === 1)).toBe(true);
    // Every role's account is in the table, though each came after its role in the file.
    const accountIds = new Set(kinds('TOKEN').map((item) => item.accountId));
    expect(kinds('DEVELOPER#').every((item) => accountIds.has(item.accountId))).toBe(true);

    const second = await runImport([big, '--table', table.tableName, '--skip-invalid']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/accounts: [\d,]+ of [\d,]+ in [\d.]+ s \([\d,]+ unchanged\)/);
    expect(second.stdout).toMatch(/developer roles: .*\([\d,]+ already held\)/);
    // Compared whole, every attribute of every item: no new generation, no new grantedAt.
    expect(sortedItems(await table.scanAll())).toEqual(items);
  }, 240_000);

  it('files a role that comes before its account, and takes a role on an account already in the table', async () => {
    const table = await freshTable();
    const account = (accountId: string, token: string) =>
      JSON.stringify({
        type: 'account',
        accountId,
        ownerUserId: 'user-owner',
        username: 'petal.florist',
        accessToken: `${canary}${token}`,
        expiresAt: '2027-02-01T00:00:00Z',
      });
    const first = await runImport([
      jsonl([
        JSON.stringify({ type: 'developer', accountId: '1001', userId: 'user-dev' }),
        JSON.stringify({ type: 'user', userId: 'user-dev', email: 'dev@x.example', name: 'Dev' }),
        account('1001', 'one'),
      ]),
      '--table',
      table.tableName,
    ]);
    expect(first.code).toBe(0);
    expect(await table.store.listDeveloperIds('1001')).toEqual(['user-dev']);

    // A later file names the account only in a role: the table has it, so the role is taken.
    const later = await runImport([
      jsonl([JSON.stringify({ type: 'developer', accountId: '1001', userId: 'user-dev-2' })]),
      '--table',
      table.tableName,
    ]);
    expect(later.code).toBe(0);
    expect((await table.store.listDeveloperIds('1001')).sort()).toEqual(['user-dev', 'user-dev-2']);

    // A different token is the next generation, as through the service route.
    const replaced = await runImport([jsonl([account('1001', 'two')]), '--table', table.tableName]);
    expect(replaced.stdout).toContain('accounts: 1 of 1');
    expect(replaced.stdout).toContain('(1 new token)');
    expect((await table.store.getAccount('1001'))?.generation).toBe(2);
  });

  it('refuses a role whose account line is refused, naming that line', async () => {
    const table = await freshTable();
    const { code, stderr } = await runImport([
      jsonl([
        JSON.stringify({
          type: 'account',
          accountId: '2002',
          ownerUserId: 'user-owner',
          username: 'ok.name',
          accessToken: `${canary}x`,
          expiresAt: 'tomorrow',
        }),
        JSON.stringify({ type: 'developer', accountId: '2002', userId: 'user-dev' }),
      ]),
      '--table',
      table.tableName,
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain(
      "line 2: its account's line 1 is refused, and the account is not in the table",
    );
  });

  it('shows one updating line on a terminal, and plain summary lines elsewhere', async () => {
    const table = await freshTable();
    const example = join(root, 'docs', 'import-example.jsonl');
    const onTerminal = await runImport([example, '--table', table.tableName], true);
    expect(onTerminal.code).toBe(0);
    expect(onTerminal.stdout).toContain('\r\x1b[2K');
    expect(onTerminal.stdout).toMatch(/accounts: 2 of 2/);
    const inALog = await runImport([example, '--table', table.tableName]);
    expect(inALog.stdout).not.toContain('\r');
    expect(inALog.stdout.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(
        /import-example\.jsonl: 7 lines: 3 users, 2 accounts, 2 developer roles, 0 bad$/,
      ),
      `Importing into ${table.tableName} (16 at a time)`,
      expect.stringMatching(/^users: 3 of 3 in [\d.]+ s \(3 written\)$/),
      expect.stringMatching(/^accounts: 2 of 2 in [\d.]+ s \(2 unchanged\)$/),
      expect.stringMatching(/^developer roles: 2 of 2 in [\d.]+ s \(2 already held\)$/),
      expect.stringMatching(/^Done in [\d.]+ s\.$/),
    ]);
  });

  it('runs as its own process: exit codes 1, 2 and 0, and no token in its output', async () => {
    const table = await freshTable();
    const run = async (args: string[]) => {
      try {
        const { stdout, stderr } = await promisify(execFile)(
          process.execPath,
          ['--import', 'tsx', join(root, 'scripts', 'import.ts'), ...args],
          { cwd: root, env: process.env },
        );
        return { code: 0, output: stdout + stderr };
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { code: failed.code, output: failed.stdout + failed.stderr };
      }
    };
    const small = jsonl(generatedFile(badLines).slice(0, 30));
    const bad = await run([small, '--table', table.tableName]);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('line 16: ');
    expect(bad.output).not.toContain(canary);
    expect((await run([small])).code).toBe(2);
    expect((await run([small, '--table', table.tableName, '--concurrency', '0'])).code).toBe(2);
    const skipped = await run([small, '--table', table.tableName, '--skip-invalid']);
    expect(skipped.code).toBe(0);
    expect(skipped.output).not.toContain(canary);
  }, 60_000);
});

describe('naming the table', () => {
  it('takes the TableName output of `cdk deploy --outputs-file`', () => {
    const outputs = join(directory, 'outputs.json');
    writeFileSync(
      outputs,
      JSON.stringify({
        'Tokenwatch-prod': { ApiUrl: 'https://x', TableName: 'Tokenwatch-prod-T' },
      }),
    );
    expect(tableFromOutputs(outputs, undefined)).toBe('Tokenwatch-prod-T');
    expect(parseOptions(['f.jsonl', '--outputs', outputs])).toMatchObject({
      table: 'Tokenwatch-prod-T',
    });
    writeFileSync(
      outputs,
      JSON.stringify({
        'Tokenwatch-dev': { TableName: 'd-T' },
        'Tokenwatch-prod': { TableName: 'p-T' },
      }),
    );
    expect(() => tableFromOutputs(outputs, undefined)).toThrow(/choose one with --stack/);
    expect(tableFromOutputs(outputs, 'Tokenwatch-dev')).toBe('d-T');
  });

  it('refuses a command line it cannot read, with the usage (exit 2)', async () => {
    for (const args of [
      [],
      ['a.jsonl', 'b.jsonl', '--table', 'tbl'],
      ['a.jsonl'],
      ['a.jsonl', '--table', 'tbl', '--outputs', 'o.json'],
      ['a.jsonl', '--table', 'x'],
      ['a.jsonl', '--tabel', 'tbl'],
      ['missing.jsonl', '--table', 'tbl'],
    ]) {
      const { code, stderr } = await runImport(args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toContain('Usage: npm run import');
    }
  });
});
