/**
 * How every function is bundled, as plain data: TokenwatchFunction deploys with these options and
 * `npm run bench` builds with them, so the bundle that is measured is the bundle that is deployed.
 */
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

export const bundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node24',
  platform: 'node',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // Bundle the AWS SDK too: a pinned, tree-shaken client instead of the runtime's copy.
  externalModules: [],
  // Some dependencies are CommonJS and call require(); ESM has no require of its own.
  banner:
    "import { createRequire as __tokenwatchRequire } from 'node:module'; const require = __tokenwatchRequire(import.meta.url);",
} satisfies BundlingOptions;

/** The same options in esbuild's own terms, as aws-lambda-nodejs hands them to esbuild. */
export function esbuildOptionsOf(options: typeof bundlingOptions = bundlingOptions): BuildOptions {
  return {
    bundle: true,
    format: 'esm',
    target: options.target,
    platform: 'node',
    minify: options.minify,
    sourcemap: options.sourceMap,
    sourcesContent: options.sourcesContent,
    mainFields: [...options.mainFields],
    external: [...options.externalModules],
    banner: { js: options.banner },
  };
}
