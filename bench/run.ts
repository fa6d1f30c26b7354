/**
 * `npm run bench`: starts DynamoDB Local, the SES emulator and the EventBridge stand-in, runs
 * each benchmark in its own process, prints the table, writes bench/results.json and, after a
 * full run of every benchmark, rewrites the README's benchmark section.
 *
 *   npm run bench                     every benchmark, full scale (about 6 minutes on 2 cores)
 *   npm run bench -- --only check     one benchmark (check, notifier, send-rate, refresh, digest,
 *                                     api, import, bundles, cost)
 *   npm run bench -- --quick          a tenth of the data, for iterating; never written to the README
 *   npm run bench -- --profile        also a V8 CPU profile of each benchmark's process
 *   npm run bench -- --readme         the README section again from bench/results.json
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { startEventBridgeStandIn } from '../local/eventbridge';
import { localCredentials, startDynamoDbLocal, startSes } from '../local/services';
import { describeGoal, goalMet, type Figure } from './harness';
import { costTable } from './cost-report';

const benchmarks = [
  'check',
  'notifier',
  'send-rate',
  'refresh',
  'digest',
  'api',
  'import',
  'bundles',
  'cost',
] as const;
type BenchmarkName = (typeof benchmarks)[number];
/** These start what they need themselves (the API starts the whole local system). */
const selfContained = new Set<BenchmarkName>(['api', 'bundles']);

const root = fileURLToPath(new URL('../', import.meta.url));
const resultsFile = join(root, 'bench', 'results.json');
const readmeFile = join(root, 'README.md');
/** `--profile`: each benchmark process writes a V8 CPU profile here (open it in Chrome DevTools). */
const profileDirectory = join(tmpdir(), 'tokenwatch-bench-profiles');

function parseArguments(argv: readonly string[]) {
  const only: BenchmarkName[] = [];
  let quick = false;
  let profile = false;
  let seed = 20261125;
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === '--quick') quick = true;
    else if (argument === '--profile') profile = true;
    else if (argument === '--only' || argument === '--seed') {
      const value = argv[(index += 1)];
      if (value === undefined) throw new Error(`${argument} needs a value`);
      if (argument === '--seed') seed = Number(value);
      else {
        for (const name of value.split(',')) {
          if (!(benchmarks as readonly string[]).includes(name)) {
            throw new Error(`No benchmark ${name}; there are: ${benchmarks.join(', ')}`);
          }
          only.push(name as BenchmarkName);
        }
      }
    } else throw new Error(`Unknown argument ${argument ?? ''}`);
  }
  return { selected: only.length > 0 ? only : [...benchmarks], quick, profile, seed };
}

function runWorker(
  name: BenchmarkName,
  env: NodeJS.ProcessEnv,
  options: { quick: boolean; seed: number; profile: boolean },
): Promise<Figure[]> {
  const directory = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-'));
  const resultFile = join(directory, `${name}.json`);
  const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));
  return new Promise<Figure[]>((resolve, reject) => {
    // Handler logs go to stdout, as in Lambda; they are not what is being read here.
    const child = spawn(
      process.execPath,
      [
        ...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`] : []),
        '--import',
        'tsx',
        worker,
        name,
        resultFile,
        options.quick ? 'quick' : 'full',
        String(options.seed),
        options.profile ? 'profile' : 'no-profile',
      ],
      { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`Benchmark ${name} exited with ${code}`);
        resolve(JSON.parse(readFileSync(resultFile, 'utf8')) as Figure[]);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    });
  });
}

const shown = (figure: Figure) => figure.measured.toFixed(figure.decimals ?? 2);

function table(figures: readonly Figure[]): string {
  const rows = figures.map((figure) => [
    figure.benchmark,
    figure.figure,
    describeGoal(figure.goal),
    shown(figure),
    goalMet(figure.goal, figure.measured) ? 'yes' : '**no**',
  ]);
  return [
    '| benchmark | figure | goal | measured | met? |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

function machine() {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    node: process.version,
    // Others' work on the same machine: the ratios absorb it, the absolute times do not.
    loadAverage: loadavg().map((load) => Number(load.toFixed(1))),
  };
}

async function updateReadme(
  figures: readonly Figure[],
  date: string,
  measuredOn: ReturnType<typeof machine>,
): Promise<void> {
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  let readme = readFileSync(readmeFile, 'utf8');
  if (!readme.includes(start) || !readme.includes(end)) {
    readme = `${readme.trimEnd()}\n\n${start}\n${end}\n`;
  }
  const { cores, cpu, node, loadAverage } = measuredOn;
  const scan = figures.find((figure) => figure.benchmark === 'check read amplification')?.details
    .tableScan as { ratio?: number } | undefined;
  const sendRate = figures.find((figure) => figure.benchmark.startsWith('send-rate'))?.details as
    { rate?: number; concurrency?: number; emails?: number } | undefined;
  const refreshRate = figures.find((figure) => figure.benchmark === 'refresh rate discipline')
    ?.details as
    { rate?: number; tokens?: number; concurrentBatches?: number; paceWrites?: number } | undefined;
  const section = [
    start,
    '## Benchmarks',
    '',
    '```sh',
    'npm run bench   # starts DynamoDB Local and the SES emulator itself; about 25 min on 2 cores',
    '```',
    '',
    `Measured on ${date.slice(0, 10)}, ${cores} cores (${cpu}), Node.js ${node}, load average ${loadAverage[0]} at the end. Every figure`,
    'is a ratio of two things measured side by side in the same run, against the best the same',
    'machine can do, and the median of the ratios of rounds that measure both sides back to back,',
    'so it holds on a noisy machine. The raw measurements are in',
    '`bench/results.json`; how each is taken, and what a missed goal comes from, is in',
    '[`bench/README.md`](bench/README.md).',
    '',
    table(figures),
    '',
    ...costTable(figures),
    ...(scan?.ratio === undefined
      ? []
      : [`A table scan for the same due tokens reads ${scan.ratio}× the tokens due.`]),
    ...(sendRate?.rate === undefined
      ? []
      : [
          `Send rate: R = ${sendRate.rate} emails/s, a backlog of ${sendRate.emails} emails, ${sendRate.concurrency} notifiers (the concurrency the stack derives for R).`,
        ]),
    ...(refreshRate?.rate === undefined || refreshRate.tokens === undefined
      ? []
      : [
          `Refresh rate: R = ${refreshRate.rate} calls/s, ${refreshRate.tokens} due tokens through the whole local system, ${refreshRate.concurrentBatches} refresher batches at once (as the stack deploys for R), ${((refreshRate.paceWrites ?? 0) / refreshRate.tokens).toFixed(2)} writes to the pace per call.`,
        ]),
    end,
  ].join('\n');
  const updated = readme.replace(new RegExp(`${start}[\\s\\S]*?${end}`), () => section);
  const config = (await resolveConfig(readmeFile)) ?? {};
  writeFileSync(readmeFile, await format(updated, { ...config, filepath: readmeFile }));
}

/** `--readme`: writes the README section again from bench/results.json, measuring nothing. */
async function readmeFromResults(): Promise<void> {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as {
    date: string;
    quick: boolean;
    machine: ReturnType<typeof machine>;
    figures: Figure[];
  };
  const full = benchmarks.every((name) =>
    results.figures.some((figure) => benchmarkOf(figure) === name),
  );
  if (results.quick || !full) throw new Error('bench/results.json is not from a full run');
  await updateReadme(results.figures, results.date, results.machine);
}

function benchmarkOf(figure: Figure): BenchmarkName {
  if (figure.benchmark.startsWith('check')) return 'check';
  if (figure.benchmark.startsWith('notifier')) return 'notifier';
  if (figure.benchmark.startsWith('send-rate')) return 'send-rate';
  if (figure.benchmark.startsWith('refresh')) return 'refresh';
  if (figure.benchmark.startsWith('digest')) return 'digest';
  if (figure.benchmark.startsWith('API')) return 'api';
  if (figure.benchmark === 'import') return 'import';
  if (figure.benchmark === 'cost') return 'cost';
  return 'bundles';
}

async function main() {
  if (process.argv.includes('--readme')) {
    await readmeFromResults();
    return;
  }
  const { selected, quick, profile, seed } = parseArguments(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  process.once('SIGINT', () => {
    void stopAll().finally(() => process.exit(130));
  });

  const figures: Figure[] = [];
  const startedAt = new Date();
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      EVENT_BUS_NAME: 'tokenwatch-bench',
    };
    if (selected.some((name) => !selfContained.has(name))) {
      const [dynamo, ses, bus] = await Promise.all([
        startDynamoDbLocal(),
        startSes(),
        startEventBridgeStandIn({ eventBusNames: ['tokenwatch-bench'], rules: [] }),
      ]);
      stops.push(
        () => dynamo.stop(),
        () => ses.stop(),
        () => bus.stop(),
      );
      // When each SendEmail reached the emulator, recorded at the emulator itself: the send-rate
      // benchmark's windows are counted where SES would count them, not where the notifier thinks.
      const arrivals: number[] = [];
      (ses.server as unknown as HttpServer).prependListener(
        'request',
        (request: IncomingMessage) => {
          if (request.method === 'POST' && request.url?.endsWith('/outbound-emails')) {
            arrivals.push(Date.now());
          }
        },
      );
      const control = createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(arrivals));
      });
      await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
      stops.push(
        () =>
          new Promise<void>((resolve) => {
            control.closeAllConnections();
            control.close(() => {
              resolve();
            });
          }),
      );
      Object.assign(env, {
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ENDPOINT_URL_SESV2: ses.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
        BENCH_CONTROL_URL: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
      });
      log(`DynamoDB Local at ${dynamo.endpoint}, SES emulator at ${ses.endpoint}`);
    }
    for (const name of selected) {
      log(`▶ ${name}${quick ? ' (quick)' : ''}`);
      const started = Date.now();
      figures.push(...(await runWorker(name, env, { quick, seed, profile })));
      if (profile) log(`  CPU profile in ${profileDirectory}`);
      log(`  ${name} done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  } finally {
    await stopAll();
  }

  process.stdout.write(`\n${table(figures)}\n\n`);
  const date = startedAt.toISOString();
  writeFileSync(
    resultsFile,
    `${JSON.stringify(
      {
        command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
        date,
        machine: machine(),
        quick,
        seed,
        figures: figures.map((figure) => ({
          ...figure,
          met: goalMet(figure.goal, figure.measured),
        })),
      },
      null,
      2,
    )}\n`,
  );
  log(`Figures written to ${resultsFile}`);
  if (!quick && selected.length === benchmarks.length) {
    await updateReadme(figures, date, machine());
    log('README.md benchmark section updated');
  } else {
    log('README.md left as it is: only a full run of every benchmark goes there');
  }
}

await main();
