/**
 * The one way into zod for everything that is bundled into a function. `zod/mini` validates
 * with the same engine as `zod` at a fraction of the size (16 KiB against 91 KiB per bundle,
 * and about 10 ms less of every cold start; see bench/README.md), because its functional API
 * lets esbuild drop every check a bundle does not use. It ships no messages of its own, so the
 * English ones are configured here, once, before any schema parses anything: a 400 names what
 * was wrong in words a person can act on, not "Invalid input".
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

// Re-exported name by name (not as one namespace object), so esbuild can still drop the rest.
export * from 'zod/mini';
