// Compiles the CLI ahead of time: src/cli/main.ts → dist/cli.mjs, the live key-supply worker
// src/server/key-worker.ts → dist/key-worker.mjs and the seed-sweep worker src/cli/commands/sweep-worker.ts →
// dist/sweep-worker.mjs and the sites' two-party post-processing worker src/server/site-pp-worker.ts →
// dist/site-pp-worker.mjs and the KME's southbound supply worker src/kms/supply-worker.ts → dist/supply-worker.mjs and the reconciliation lanes' worker src/cli/pp-lane-worker.ts → dist/pp-lane-worker.mjs, one ES module each (esbuild; pure-JavaScript dependencies bundled in, see
// scripts/bundle-options.mjs). bin/qkdnet.js loads dist/cli.mjs when it is newer than every file under src/, so a process
// starts without compiling TypeScript (tsx) on the way; otherwise it falls back to the sources through
// tsx. Runs during `npm install` / `npm ci` (prepare) and with `npm run build:dist`.
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { EXTERNAL, REQUIRE_BANNER } from './bundle-options.mjs';

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
    'sweep-worker': 'src/cli/commands/sweep-worker.ts',
    'site-pp-worker': 'src/server/site-pp-worker.ts',
    'supply-worker': 'src/kms/supply-worker.ts',
    'pp-lane-worker': 'src/cli/pp-lane-worker.ts',
  },
  outdir: tmp,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  external: EXTERNAL,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  banner: REQUIRE_BANNER,
});
// Replaced by rename, worker first: a CLI starting meanwhile sees the old pair or the new one.
for (const f of [
  'key-worker.mjs',
  'key-worker.mjs.map',
  'sweep-worker.mjs',
  'sweep-worker.mjs.map',
  'site-pp-worker.mjs',
  'site-pp-worker.mjs.map',
  'supply-worker.mjs',
  'supply-worker.mjs.map',
  'pp-lane-worker.mjs',
  'pp-lane-worker.mjs.map',
  'cli.mjs.map',
  'cli.mjs',
])
  renameSync(`${tmp}/${f}`, `dist/${f}`);
rmSync(tmp, { recursive: true, force: true });
console.log('build-dist: dist/cli.mjs and its five workers written');
