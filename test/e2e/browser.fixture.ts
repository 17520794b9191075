/**
 * What the dashboard's end-to-end suites share: the flags Debian's Chromium needs here (headless, as root,
 * on a closed network) and polling with an overall deadline.
 */
import { chromium, type Browser } from 'playwright-core';

/** Chromium flags: no sandbox (root), no GPU, no background connections to the outside. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts Debian's Chromium headless with those flags. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

/** Polls `probe` every 200 ms until it returns a value; fails after `deadlineMs` with the last error. */
export async function waitFor<T>(
  what: string,
  deadlineMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const end = performance.now() + deadlineMs;
  let last: unknown;
  while (performance.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
