/**
 * Bundle size and cold init, per function. Each entry in functions/ is built with exactly the
 * deployed esbuild options (lib/bundling.ts) and compared with a bundle, built the same way, of
 * only the AWS SDK clients and commands that function imports: the least it could ship.
 *
 * - size: the minified bundle's bytes ÷ the SDK-only bundle's bytes;
 * - cold init: the time a fresh Node.js 24 process takes to import the bundle ÷ the time it
 *   takes to import the SDK-only one, with `--enable-source-maps` as the functions run in Lambda;
 *   the median of the ratios of back-to-back runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { esbuildOptionsOf } from '../lib/bundling';
import { round, type Benchmark, type Figure } from './harness';
import { selfTimeByOrigin, type CpuProfile } from './import-profile';
import { median, pairedRatio } from './stats';
import type { EnvironmentFor, FunctionName } from '../functions/environment/variables';

const root = fileURLToPath(new URL('../', import.meta.url));
const functionsDirectory = join(root, 'functions');

/** What every handler reads at load: dummies, enough for the configuration to parse. */
const handlerEnvironment = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  TABLE_NAME: 'tokenwatch-bench',
  EVENT_BUS_NAME: 'tokenwatch-bench',
  SENDER_ADDRESS: 'notifications@example.com',
  APP_URL: 'https://app.example.com',
  UNSUBSCRIBE_URL: 'https://api.example.com/unsubscribe',
  API_URL: 'https://api.example.com/',
  UNSUBSCRIBE_KEY_SECRET_ID: 'tokenwatch/unsubscribe-key',
  INSTAGRAM_REDIRECT_URI: 'https://app.example.com/instagram-accounts/reconnect',
  // A reconnect link's page and callback: Instagram sends the client back to the API.
  INSTAGRAM_LINK_REDIRECT_URI: 'https://api.example.com/reconnect/callback',
  REFRESH_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/000000000000/tokenwatch-bench-refresh',
  INSTAGRAM_GRAPH_URL: 'https://graph.instagram.com',
  INSTAGRAM_API_URL: 'https://api.instagram.com',
  INSTAGRAM_AUTHORIZE_URL: 'https://www.instagram.com/oauth/authorize',
  INSTAGRAM_APP_SECRET_ID: 'tokenwatch/instagram-app',
  POWERTOOLS_METRICS_DISABLED: 'true',
  // Every variable any handler requires: a new one fails tsc here, not the benchmark's run.
} satisfies EnvironmentFor<FunctionName> & Record<string, string>;

const sdkImport = /import\s+(type\s+)?\{([^}]*)\}\s*from\s*['"](@aws-sdk\/[^'"]+)['"]/g;

/** The @aws-sdk names (values, not types) imported by the function's own source files. */
function sdkImportsOf(sourceFiles: readonly string[]): Map<string, Set<string>> {
  const imports = new Map<string, Set<string>>();
  for (const file of sourceFiles) {
    for (const match of readFileSync(join(root, file), 'utf8').matchAll(sdkImport)) {
      if (match[1]) continue;
      const module = match[3] as string;
      const names = imports.get(module) ?? new Set<string>();
      for (const specifier of (match[2] as string).split(',')) {
        const name = specifier.trim().split(/\s+as\s+/)[0] ?? '';
        if (name !== '' && !name.startsWith('type ')) names.add(name);
      }
      if (names.size > 0) imports.set(module, names);
    }
  }
  return imports;
}

async function bundle(
  outputDirectory: string,
  entry: { file: string } | { contents: string },
): Promise<{ file: string; bytes: number; sources: string[] }> {
  const file = join(outputDirectory, 'index.mjs');
  const result = await build({
    ...esbuildOptionsOf(),
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.contents, resolveDir: root, loader: 'js' as const } }),
    absWorkingDir: root,
    outfile: file,
    metafile: true,
    logLevel: 'silent',
  });
  // Only the files that put code in the bundle: one whose exports were all shaken out (the
  // Secrets Manager adapter, reached through an import the route never calls) ships no client.
  const sources = Object.entries(result.metafile.outputs)
    .flatMap(([, output]) => Object.entries(output.inputs))
    .filter(([input, { bytesInOutput }]) => input.startsWith('functions/') && bytesInOutput > 0)
    .map(([input]) => input);
  return { file, bytes: statSync(file).size, sources };
}

/** Milliseconds a fresh Node.js process spends importing the module, measured inside it. */
function importTime(timer: string, file: string): number {
  const child = spawnSync(
    process.execPath,
    ['--enable-source-maps', timer, pathToFileURL(file).href],
    { env: { ...handlerEnvironment, PATH: process.env.PATH }, encoding: 'utf8' },
  );
  if (child.status !== 0) throw new Error(`Importing ${file} failed: ${child.stderr}`);
  return Number(child.stdout);
}

/**
 * Self time per origin of one import, averaged over `runs` fresh processes: what `--profile`
 * adds to this benchmark, because the cold start happens in child processes its own profile
 * does not see.
 */
function importProfile(timer: string, file: string, runs: number): Map<string, number> {
  const directory = mkdtempSync(join(tmpdir(), 'tokenwatch-import-profile-'));
  const totals = new Map<string, number>();
  try {
    const sourceMap = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload;
    for (let index = 0; index < runs; index += 1) {
      const profileDirectory = join(directory, String(index));
      const child = spawnSync(
        process.execPath,
        [
          '--enable-source-maps',
          '--cpu-prof',
          '--cpu-prof-interval=50',
          `--cpu-prof-dir=${profileDirectory}`,
          timer,
          pathToFileURL(file).href,
        ],
        { env: { ...handlerEnvironment, PATH: process.env.PATH }, encoding: 'utf8' },
      );
      if (child.status !== 0) throw new Error(`Profiling ${file} failed: ${child.stderr}`);
      const [profileFile] = readdirSync(profileDirectory);
      if (!profileFile) throw new Error(`No CPU profile for ${file}`);
      const profile = JSON.parse(
        readFileSync(join(profileDirectory, profileFile), 'utf8'),
      ) as CpuProfile;
      for (const [origin, ms] of selfTimeByOrigin(profile, pathToFileURL(file).href, sourceMap)) {
        totals.set(origin, (totals.get(origin) ?? 0) + ms / runs);
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return totals;
}

export const run: Benchmark = async ({ quick, profile, log }) => {
  const runs = quick ? 5 : 15;
  const workDirectory = mkdtempSync(join(tmpdir(), 'tokenwatch-bundles-'));
  const timer = join(workDirectory, 'import-timer.mjs');
  writeFileSync(
    timer,
    [
      'const started = performance.now();',
      'await import(process.argv[2]);',
      'process.stdout.write(String(performance.now() - started));',
    ].join('\n'),
  );
  const figures: Figure[] = [];
  try {
    const entries = readdirSync(functionsDirectory)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => name.slice(0, -'.ts'.length))
      .sort();
    for (const name of entries) {
      const functionBundle = await bundle(join(workDirectory, name), {
        file: join(functionsDirectory, `${name}.ts`),
      });
      const imports = sdkImportsOf(functionBundle.sources);
      const names = [...imports.values()].flatMap((set) => [...set]);
      const sdkOnly = await bundle(join(workDirectory, `${name}.sdk-only`), {
        contents: [
          ...[...imports].map(
            ([module, set]) => `import { ${[...set].join(', ')} } from '${module}';`,
          ),
          `export { ${names.join(', ')} };`,
        ].join('\n'),
      });

      const functionMs: number[] = [];
      const sdkOnlyMs: number[] = [];
      for (let index = 0; index < runs; index += 1) {
        functionMs.push(importTime(timer, functionBundle.file));
        sdkOnlyMs.push(importTime(timer, sdkOnly.file));
      }
      const kib = (bytes: number) => Math.round(bytes / 1024);
      let whereTheTimeGoes: { origin: string; ms: number; sdkOnlyMs: number }[] | undefined;
      if (profile) {
        const own = importProfile(timer, functionBundle.file, runs);
        const sdkOnlyProfile = importProfile(timer, sdkOnly.file, runs);
        whereTheTimeGoes = [...new Set([...own.keys(), ...sdkOnlyProfile.keys()])]
          .map((origin) => ({
            origin,
            ms: round(own.get(origin) ?? 0, 2),
            sdkOnlyMs: round(sdkOnlyProfile.get(origin) ?? 0, 2),
          }))
          .sort((a, b) => b.ms - b.sdkOnlyMs - (a.ms - a.sdkOnlyMs))
          .slice(0, 12);
        log(`  ${name}: self time per import, by origin (this function − its SDK clients alone)`);
        for (const { origin, ms, sdkOnlyMs } of whereTheTimeGoes) {
          const difference = ms - sdkOnlyMs;
          log(
            `    ${difference >= 0 ? '+' : ''}${difference.toFixed(1).padStart(5)} ms  ${origin}`,
          );
        }
      }
      log(
        `  ${name}: ${kib(functionBundle.bytes)} KiB vs ${kib(sdkOnly.bytes)} KiB; import ${median(functionMs).toFixed(1)} ms vs ${median(sdkOnlyMs).toFixed(1)} ms`,
      );
      const details = {
        bytes: functionBundle.bytes,
        sdkOnlyBytes: sdkOnly.bytes,
        sdkImports: Object.fromEntries([...imports].map(([module, set]) => [module, [...set]])),
        importMs: round(median(functionMs), 1),
        sdkOnlyImportMs: round(median(sdkOnlyMs), 1),
        runs,
        ...(whereTheTimeGoes ? { whereTheTimeGoes } : {}),
      };
      figures.push(
        {
          benchmark: 'bundle size',
          figure: `${name}: ${kib(functionBundle.bytes)} KiB ÷ ${kib(sdkOnly.bytes)} KiB of its SDK clients alone`,
          goal: { atMost: 1.25 },
          measured: functionBundle.bytes / sdkOnly.bytes,
          details,
        },
        {
          benchmark: 'cold init',
          figure: `${name}: import ${details.importMs} ms ÷ ${details.sdkOnlyImportMs} ms for its SDK clients alone`,
          goal: { atMost: 1.2 },
          measured: pairedRatio(functionMs, sdkOnlyMs),
          details,
        },
      );
    }
  } finally {
    rmSync(workDirectory, { recursive: true, force: true });
  }
  // Sizes first, then init times: the README table reads one concern at a time.
  return [
    ...figures.filter((figure) => figure.benchmark === 'bundle size'),
    ...figures.filter((figure) => figure.benchmark === 'cold init'),
  ];
};
