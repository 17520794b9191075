#!/usr/bin/env node
// Entry point of the `qkdnet` command. Runs dist/cli.mjs — the CLI compiled ahead of time
// (scripts/build-dist.mjs, during `npm install`) — when it is newer than every file under src/, so start-up
// compiles no TypeScript; otherwise (sources edited since, or never built) it registers tsx and runs
// src/cli/main.ts directly. QKDNET_FROM_SOURCE=1 forces the sources.
import { readdirSync, statSync } from 'node:fs';

/** Newest modification time (ms) under `dir`. */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
let built = 0;
try {
  built = statSync(`${root}/dist/cli.mjs`).mtimeMs;
} catch {
  // not built
}
let main;
if (built > 0 && process.env.QKDNET_FROM_SOURCE !== '1' && built >= newest(`${root}/src`)) {
  ({ main } = await import('../dist/cli.mjs'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
const code = await main(process.argv.slice(2));
if (typeof code === 'number') process.exitCode = code;
