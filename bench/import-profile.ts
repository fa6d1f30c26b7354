/**
 * Where a bundle's import time goes, by origin: a V8 CPU profile of `import(bundle)` in a fresh
 * process, each sample's frame mapped back through the bundle's source map to the package (or
 * our own file) it came from. Self time only, so a number is work done in that code itself;
 * Node's own work (compiling the module, loading built-ins, reading the source map) is listed
 * under its internal module. `npm run bench -- --only bundles --profile` prints it per function.
 */
import { SourceMap, type SourceMapPayload } from 'node:module';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  /** microseconds since the previous sample */
  timeDeltas: number[];
}

/** `node_modules/@scope/name/...` → `@scope/name`; our own sources keep their path. */
export function originOf(source: string): string {
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (inPackage?.[1]) return inPackage[1];
  const ours = /(functions\/.*)$/.exec(source);
  return ours?.[1] ?? source;
}

/** Milliseconds of self time per origin, largest first; idle and the profiler's own time left out. */
export function selfTimeByOrigin(
  profile: CpuProfile,
  bundleUrl: string,
  sourceMap: SourceMapPayload,
): [string, number][] {
  const map = new SourceMap(sourceMap);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const frame = nodes.get(id)?.callFrame;
    if (!frame) return;
    let origin: string;
    if (frame.url === bundleUrl) {
      const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
        originalSource?: string;
      };
      // Frames without a mapping are the bundle's own glue: its top level and esbuild's helpers.
      origin = entry.originalSource ? originOf(entry.originalSource) : '(bundle top level)';
    } else if (frame.url.startsWith('node:')) {
      origin = `node: ${frame.url.replace(/^node:(internal\/)?/, '')}`;
    } else if (frame.url === '') {
      if (['(idle)', '(program)', '(root)'].includes(frame.functionName)) return;
      origin = frame.functionName || '(native)';
    } else {
      origin = frame.url;
    }
    totals.set(origin, (totals.get(origin) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  return [...totals].sort((a, b) => b[1] - a[1]);
}
