/**
 * `npm start`: the whole system on this machine. Flags: `--persist` keeps DynamoDB's data in
 * .local-data/ (git-ignored) between runs. Environment: PORT (API, default 3000), SES_PORT
 * (inbox, default 8005), CHECK_INTERVAL_SECONDS (the schedule, default 60).
 */
import { fileURLToPath } from 'node:url';
import { installReadableLogs } from './pretty-log';
import { PortInUseError, startLocalSystem, type LocalSystem } from './system';

const args = new Set(process.argv.slice(2));
if (args.has('--help')) {
  console.log(
    'Usage: npm start [-- --persist]\n  PORT, SES_PORT, CHECK_INTERVAL_SECONDS set ports and the schedule.',
  );
  process.exit(0);
}

const tty = process.stdout.isTTY;
const dim = (text: string) => (tty ? `\u001b[90m${text}\u001b[0m` : text);
const bold = (text: string) => (tty ? `\u001b[1m${text}\u001b[0m` : text);
const say = (line: string) => {
  console.log(`${dim(new Date().toISOString().slice(11, 19))} ${line}`);
};

function integerFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a whole number, not "${raw}".`);
    process.exit(2);
  }
  return value;
}

installReadableLogs(tty);
const started = Date.now();
let system: LocalSystem | undefined;
let stopping = false;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('Stopping…');
  await system?.stop();
  say('Stopped. Nothing is left running.');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  say('Starting tokenwatch locally…');
  system = await startLocalSystem({
    apiPort: integerFrom('PORT', 3000),
    sesPort: integerFrom('SES_PORT', 8005),
    checkIntervalMs: integerFrom('CHECK_INTERVAL_SECONDS', 60) * 1000,
    persistDirectory: args.has('--persist')
      ? fileURLToPath(new URL('../.local-data/dynamodb', import.meta.url))
      : undefined,
    log: say,
  });
  const { urls } = system;
  console.log(
    [
      '',
      bold(`tokenwatch is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`),
      `  Settings page   ${urls.settings}`,
      `  Email inbox     ${urls.inbox}`,
      `  HTTP API        ${urls.api}   (token: GET ${urls.api}/_local/token?sub=user-agency-dev)`,
      `  Run the check   curl -X POST ${urls.api}/_local/run-check`,
      '',
      dim('Press Ctrl-C to stop.'),
      '',
    ].join('\n'),
  );
} catch (error) {
  if (error instanceof PortInUseError) console.error(error.message);
  else console.error('tokenwatch could not start:', error);
  await shutdown(1);
}
