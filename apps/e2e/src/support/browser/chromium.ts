import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (.ci/run installs it): nothing downloads a browser at run time. */
export const CHROMIUM = '/usr/bin/chromium';

// --no-sandbox: we run as root. The background-networking flags keep Chromium from calling home
// (updates, sync, field trials), which floods a closed network with failing requests.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium; throws (the test fails, never skips) when it is missing or cannot start. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} does not exist: install Debian's chromium package (.ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
}
