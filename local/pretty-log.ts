/**
 * In a terminal, the local stack prints one readable line per log entry instead of the JSON
 * Lambda writes. Handlers are unchanged: with POWERTOOLS_DEV set, Powertools writes through
 * the global console, and this reformats what passes through it.
 */
const colours = { debug: 90, info: 36, warn: 33, error: 31 } as const;
type Level = keyof typeof colours;

const paint = (code: number, text: string, tty: boolean) =>
  tty ? `\u001b[${code}m${text}\u001b[0m` : text;

function format(entry: Record<string, unknown>, fallbackLevel: Level, tty: boolean): string {
  const named = typeof entry.level === 'string' ? entry.level.toLowerCase() : fallbackLevel;
  const level: Level = named in colours ? (named as Level) : fallbackLevel;
  const time =
    typeof entry.timestamp === 'string'
      ? entry.timestamp.slice(11, 19)
      : new Date().toISOString().slice(11, 19);
  const skip = new Set([
    'level',
    'message',
    'timestamp',
    'service',
    'sampling_rate',
    'xray_trace_id',
    'function_name',
    'function_memory_size',
    'function_arn',
    'function_request_id',
    'cold_start',
  ]);
  const details = Object.entries(entry)
    .filter(([key]) => !skip.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const where = typeof entry.function_name === 'string' ? ` ${entry.function_name}` : '';
  return `${paint(90, time, tty)} ${paint(colours[level], level.toUpperCase().padEnd(5), tty)}${paint(90, where, tty)} ${typeof entry.message === 'string' ? entry.message : JSON.stringify(entry.message ?? '')}${details ? ` ${paint(90, details, tty)}` : ''}`;
}

/** Turns Powertools' JSON (and EMF metrics blobs) into single readable lines on stdout. */
export function installReadableLogs(tty = process.stdout.isTTY): void {
  for (const method of ['debug', 'info', 'warn', 'error', 'log'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const [first] = args;
      if (args.length === 1 && typeof first === 'string' && first.trimStart().startsWith('{')) {
        try {
          const entry = JSON.parse(first) as Record<string, unknown>;
          if ('_aws' in entry) {
            const figures = Object.fromEntries(
              Object.entries(entry).filter(([key]) => key !== '_aws' && key !== 'service'),
            );
            original(paint(90, `metrics ${JSON.stringify(figures)}`, tty));
            return;
          }
          original(format(entry, method === 'log' ? 'info' : method, tty));
          return;
        } catch {
          // not JSON after all: print as it came
        }
      }
      original(...args);
    };
  }
}
