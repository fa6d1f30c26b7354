/**
 * One benchmark in a fresh process: handler modules read their configuration when they load and
 * keep module-scope clients, so each benchmark gets its own module instances, and its own event
 * loop, apart from the emulators the orchestrator runs. Writes its figures as JSON to a file.
 */
import { writeFileSync } from 'node:fs';
import type { Benchmark } from './harness';

const [name, resultFile, quick, seed, profile] = process.argv.slice(2);
if (!name || !resultFile)
  throw new Error('usage: worker.ts <benchmark> <result file> <quick> <seed> [profile]');

const module = (await import(`./${name}.ts`)) as { run: Benchmark };
const figures = await module.run({
  quick: quick === 'quick',
  seed: Number(seed ?? 1),
  profile: profile === 'profile',
  log: (line) => process.stderr.write(`${line}\n`),
});
writeFileSync(resultFile, JSON.stringify(figures));
// Clients and servers a benchmark leaves open must not keep its process alive.
process.exit(0);
