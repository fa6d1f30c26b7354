/**
 * Imports flow one way under functions/ (README "Project layout"): eslint refuses the others.
 * This proves the rule can fail, on real files of each layer with one import added.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';

const eslint = new ESLint();

async function importProblems(file: string, specifier: string): Promise<string[]> {
  const source = `import '${specifier}';\n${readFileSync(file, 'utf8')}`;
  const [result] = await eslint.lintText(source, { filePath: file });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId === 'no-restricted-imports')
    .map((message) => message.message);
}

describe('the direction of imports under functions/', () => {
  it.each([
    ['functions/platform/retry.ts', '#tokens/lifecycle'],
    ['functions/platform/retry.ts', '#storage/keys'],
    ['functions/storage/keys.ts', '#people/user'],
    ['functions/people/user.ts', '#tokens/lifecycle'],
    ['functions/tokens/lifecycle.ts', '#notifications/occasions'],
    ['functions/notifications/occasions.ts', '#api/problems'],
    ['functions/tokens/lifecycle.ts', '../../local/table-store'],
    ['functions/tokens/lifecycle.ts', 'zod'],
    // A relative path would slip past the aliases' rules: crossing modules must use an alias.
    ['functions/platform/retry.ts', '../tokens/lifecycle'],
    ['functions/platform/http/handler.ts', '../../people/user'],
  ])(
    'refuses %s importing %s',
    async (file, specifier) => {
      expect(await importProblems(file, specifier)).not.toEqual([]);
    },
    // The first lint starts TypeScript's project service: seconds on a busy machine.
    120_000,
  );

  it.each([
    ['functions/notifications/occasions.ts', '#tokens/lifecycle'],
    ['functions/tokens/lifecycle.ts', '#people/user'],
    ['functions/api/handler.ts', '#notifications/preferences'],
    ['functions/people/user.ts', '#platform/schemas'],
  ])(
    'lets %s import %s',
    async (file, specifier) => {
      expect(await importProblems(file, specifier)).toEqual([]);
    },
    120_000,
  );
});
