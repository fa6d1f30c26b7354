/**
 * What every browser test shares: Debian's Chromium driven by playwright-core, required in CI
 * (.ci/run installs it) and skipped, saying why, on a machine without it; and where screenshots
 * go (`npm run screenshots` refreshes the README's images; an ordinary run leaves them alone).
 */
import { describe } from 'vitest';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) =>
  existsSync(path),
);

if (!chromiumPath && process.env.CI)
  throw new Error('Chromium is required in CI: apt-get install chromium');

/** `describe` where Chromium is installed, `describe.skip` elsewhere. */
export const describeInBrowser = chromiumPath ? describe : describe.skip;

export const screenshotFolder =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../docs/images/', import.meta.url))
    : `${tmpdir()}/tokenwatch-screenshots/`;

/** A headless Chromium with nothing in the background that could make a test flaky. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
