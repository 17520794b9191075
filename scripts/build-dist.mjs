// Compiles the CLI ahead of time: src/cli/main.ts → dist/cli.mjs and the worker threads it starts —
// src/server/key-worker.ts, src/server/site-pp-worker.ts and src/cli/commands/sweep-worker.ts → dist/*.mjs —
// one ES module each (esbuild; dependencies stay
// external). bin/qkdnet.js loads dist/cli.mjs when it is newer than every file under src/, so a process
// starts without compiling TypeScript (tsx) on the way; otherwise it falls back to the sources through
// tsx. Runs during `npm install` / `npm ci` (prepare) and with `npm run build:dist`.
import { mkdirSync, renameSync, rmSync } from 'node:fs';

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.log('build-dist: esbuild is not installed, skipping (the CLI runs from the sources via tsx)');
  process.exit(0);
}
mkdirSync('dist', { recursive: true });
const tmp = `dist/.build-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
await esbuild.build({
  entryPoints: {
    cli: 'src/cli/main.ts',
    'key-worker': 'src/server/key-worker.ts',
    'site-pp-worker': 'src/server/site-pp-worker.ts',
    'sweep-worker': 'src/cli/commands/sweep-worker.ts',
  },
  outdir: tmp,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
// Replaced by rename, worker first: a CLI starting meanwhile sees the old pair or the new one.
const workers = ['key-worker', 'site-pp-worker', 'sweep-worker'];
for (const f of [...workers.flatMap((w) => [`${w}.mjs`, `${w}.mjs.map`]), 'cli.mjs.map', 'cli.mjs'])
  renameSync(`${tmp}/${f}`, `dist/${f}`);
rmSync(tmp, { recursive: true, force: true });
console.log(`build-dist: dist/cli.mjs and ${workers.map((w) => `dist/${w}.mjs`).join(', ')} written`);
