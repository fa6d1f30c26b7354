/**
 * Everything written to stdout and stderr (Powertools logs and metrics), kept for the scans and
 * off the test output: thousands of requests would drown the figures. Spies are restored after
 * each test (vitest's restoreMocks), so call it where the output is made.
 */
import { vi } from 'vitest';

export function captureQuietly(into: string[]): void {
  const keep = (chunk: unknown) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(keep);
  vi.spyOn(process.stderr, 'write').mockImplementation(keep);
}
