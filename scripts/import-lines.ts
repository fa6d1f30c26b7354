/**
 * The import's file, read and judged as a whole before anything is written: one JSON object per
 * line, each validated with the very schemas the service routes use (a line is a route's path
 * fields and body, plus `type`), then the file as a whole: no id twice, and no developer role on
 * an account that is neither in the file nor in the table.
 *
 * A reason never quotes the line: the line may hold an access token. It names the field and
 * what is wrong with it, as the route's 400 would.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import * as z from '../functions/platform/validation';
import { accountPath } from '../functions/api/schemas';
import {
  developerPath,
  serviceAccountBody,
  serviceUserBody,
  userPath,
} from '../functions/api/service-schemas';

// One schema per kind of line: `type`, and then exactly what the matching route takes.
const userLine = z.strictObject({
  type: z.literal('user'),
  ...userPath.shape, // PUT /service/users/{userId}
  ...serviceUserBody.shape,
});
const accountLine = z.strictObject({
  type: z.literal('account'),
  ...accountPath.shape, // PUT /service/instagram-accounts/{accountId}
  ...serviceAccountBody.shape,
});
const developerLine = z.strictObject({
  type: z.literal('developer'),
  ...developerPath.shape, // PUT /service/instagram-accounts/{accountId}/developers/{userId}
});

/** One line of the file, whichever its `type`. */
export const importLine = z.discriminatedUnion('type', [userLine, accountLine, developerLine]);
export type ImportLine = z.infer<typeof importLine>;
export type UserLine = Extract<ImportLine, { type: 'user' }>;
export type AccountLine = Extract<ImportLine, { type: 'account' }>;
export type DeveloperLine = Extract<ImportLine, { type: 'developer' }>;

export const lineTypes = ['user', 'account', 'developer'] as const;

/** The same limit as an HTTP body: a line over it is refused unread. */
export const maxLineBytes = 16 * 1024;

export interface Numbered<T> {
  /** 1-based, as an editor shows it */
  line: number;
  record: T;
}

export interface BadLine {
  line: number;
  reason: string;
}

/** The file, judged: what would be written, in the order it is written, and what is refused. */
export interface ImportPlan {
  users: Numbered<UserLine>[];
  accounts: Numbered<AccountLine>[];
  developers: Numbered<DeveloperLine>[];
  bad: BadLine[];
  /** lines that hold something (blank lines are skipped, not counted) */
  lines: number;
}

/** Whether each account exists in the table: asked only for roles whose account is not in the file. */
export type AccountLookup = (accountIds: readonly string[]) => Promise<ReadonlySet<string>>;

const keyOf = (record: ImportLine): string => {
  switch (record.type) {
    case 'user':
      return `user ${record.userId}`;
    case 'account':
      return `account ${record.accountId}`;
    case 'developer':
      return `developer ${record.accountId} ${record.userId}`;
  }
};

const kindName = { user: 'user', account: 'account', developer: 'developer role' } as const;

/** A key that is shown as it is in a reason: it looks like a field's name, not like data. */
const looksLikeFieldName = (key: string) => /^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(key);

/**
 * What a reason must never contain: every string value of the line long enough to be a secret
 * (the access token whatever its length), and every key that does not look like a field name.
 * `type`'s value is only a kind of line.
 */
function secretsIn(value: unknown, into: Set<string> = new Set(), key = ''): Set<string> {
  if (typeof value === 'string') {
    if (key !== 'type' && (value.length >= 8 || (key === 'accessToken' && value.length >= 2)))
      into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) secretsIn(item, into);
  } else if (value && typeof value === 'object') {
    for (const [name, item] of Object.entries(value)) {
      if (!looksLikeFieldName(name)) into.add(name);
      secretsIn(item, into, name);
    }
  }
  return into;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.map(String).join('.');
  if (issue.code === 'invalid_union' && field === 'type') {
    return `type: must be one of ${lineTypes.map((type) => `"${type}"`).join(', ')}`;
  }
  if (issue.code === 'unrecognized_keys') {
    // Field names are not secrets, but a key can be anything a line holds: only names that
    // look like a field's are repeated.
    const named = issue.keys.filter(looksLikeFieldName);
    const unnamed = issue.keys.length - named.length;
    const parts = [
      ...named.map((key) => `"${key}"`),
      ...(unnamed > 0 ? [`${unnamed} other${unnamed > 1 ? 's' : ''}`] : []),
    ];
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${parts.join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined && field) {
    return `${field}: required`;
  }
  return field ? `${field}: ${issue.message}` : issue.message;
}

/**
 * Why a line is refused, in words that never repeat what it holds. The messages name fields and
 * rules, not values; should one ever quote a value of the line anyway, it is cut out.
 */
function reasonFor(issues: readonly z.core.$ZodIssue[], parsed: unknown): string {
  let reason = issues.map(describeIssue).join('; ');
  for (const text of [...secretsIn(parsed)].sort((a, b) => b.length - a.length)) {
    reason = reason.replaceAll(text, '…');
  }
  return reason;
}

/** JSON.parse's message may quote the text; only where it stopped is kept. */
function jsonReason(error: unknown): string {
  const position = /at position (\d+)/.exec((error as Error).message)?.[1];
  return position === undefined
    ? 'not valid JSON'
    : `not valid JSON (stops at character ${Number(position) + 1})`;
}

/** One line: its record, or why it is refused. */
export function parseLine(text: string): { record: ImportLine } | { reason: string } {
  if (Buffer.byteLength(text, 'utf8') > maxLineBytes) {
    return { reason: `longer than ${maxLineBytes / 1024} KiB` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { reason: jsonReason(error) };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { reason: 'not a JSON object' };
  }
  const result = importLine.safeParse(parsed);
  if (!result.success) return { reason: reasonFor(result.error.issues, parsed) };
  return { record: result.data };
}

/** The lines of a file, numbered from 1, blank ones left out; a leading BOM is dropped. */
export async function* readLines(file: string): AsyncGenerator<{ line: number; text: string }> {
  const reader = createInterface({
    input: createReadStream(file, { encoding: 'utf8' }),
    crlfDelay: Infinity,
  });
  let line = 0;
  for await (const raw of reader) {
    line += 1;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() !== '') yield { line, text };
  }
}

/**
 * Judges the whole file. Every line is parsed; a later line with the id of an earlier valid one
 * is refused (which of two different tokens is meant cannot be guessed); a developer role whose
 * account has no valid line in the file is checked against the table with `lookup`, once, here.
 * `onLine` reports progress.
 */
export async function planImport(
  lines: AsyncIterable<{ line: number; text: string }>,
  lookup: AccountLookup | undefined,
  onLine: (count: number) => void = () => undefined,
): Promise<ImportPlan> {
  const plan: ImportPlan = { users: [], accounts: [], developers: [], bad: [], lines: 0 };
  const firstLine = new Map<string, number>();
  /** Account lines that were refused, by account id, for a clearer reason on their roles. */
  const refusedAccounts = new Map<string, number>();
  for await (const { line, text } of lines) {
    plan.lines += 1;
    onLine(plan.lines);
    const parsed = parseLine(text);
    if ('reason' in parsed) {
      plan.bad.push({ line, reason: parsed.reason });
      const accountId = refusedAccountId(text);
      if (accountId !== undefined && !refusedAccounts.has(accountId)) {
        refusedAccounts.set(accountId, line);
      }
      continue;
    }
    const { record } = parsed;
    const key = keyOf(record);
    const earlier = firstLine.get(key);
    if (earlier !== undefined) {
      plan.bad.push({ line, reason: `the same ${kindName[record.type]} as line ${earlier}` });
      continue;
    }
    firstLine.set(key, line);
    if (record.type === 'user') plan.users.push({ line, record });
    else if (record.type === 'account') plan.accounts.push({ line, record });
    else plan.developers.push({ line, record });
  }

  // Roles may come before their account in the file: only now is the whole file known.
  const inFile = new Set(plan.accounts.map((entry) => entry.record.accountId));
  const elsewhere = [
    ...new Set(
      plan.developers
        .map((entry) => entry.record.accountId)
        .filter((accountId) => !inFile.has(accountId)),
    ),
  ];
  const inTable = elsewhere.length > 0 && lookup ? await lookup(elsewhere) : new Set<string>();
  const developers: Numbered<DeveloperLine>[] = [];
  for (const entry of plan.developers) {
    const { accountId } = entry.record;
    if (inFile.has(accountId) || inTable.has(accountId)) {
      developers.push(entry);
      continue;
    }
    const refused = refusedAccounts.get(accountId);
    plan.bad.push({
      line: entry.line,
      reason:
        refused !== undefined
          ? `its account's line ${refused} is refused, and the account is not in the table`
          : lookup
            ? 'its account is neither in this file nor in the table'
            : 'its account is not in this file (and no table was named to look in)',
    });
  }
  plan.developers = developers;
  plan.bad.sort((a, b) => a.line - b.line);
  return plan;
}

/** The account id of a refused account line, if it has a valid one: for its roles' reasons. */
function refusedAccountId(text: string): string | undefined {
  try {
    const value = JSON.parse(text) as { type?: unknown; accountId?: unknown };
    if (value.type !== 'account') return undefined;
    return accountPath.shape.accountId.safeParse(value.accountId).data;
  } catch {
    return undefined;
  }
}
