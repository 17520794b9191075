// Runs the test suites with node:test.
//   fast: every *.test.ts except *.slow.test.ts  (npm test)
//   slow: only *.slow.test.ts                    (npm run test:slow; real strongSwan, Chromium, long runs)
//   plan: prints what `fast` would run, one line per test process, in start order
//   weights: runs each fast test file alone and writes its wall seconds to scripts/test-weights.json
// Test files are found under src/ and test/; extra arguments narrow the set by substring.
//
// The fast suite is compiled before it runs: esbuild bundles every selected test file (code split, so the
// modules they share are compiled once; pure-JavaScript dependencies bundled in, see bundle-options.mjs) into
// a directory of its own under node_modules/.cache/ (removed afterwards, so two runs never clobber each
// other), the way dist/cli.mjs is built for production. No process compiles TypeScript on the way in:
// through tsx every one of ~130 processes spent about a second of CPU compiling and resolving the same few
// hundred modules. `import.meta.url` / `dirname` / `filename` keep the values of the original .ts file, so
// paths a module computes from its own location are the same as under tsx. QKDNET_TEST_TSX=1 runs the
// sources through tsx instead (the slow suite always does: its time is in strongSwan, Chromium, databases).
//
// Two things keep the two cores busy to the end:
// - Pure unit-test files (no hooks, no processes, sockets, timers, temporary files or process-wide state;
//   see `shareable` below) run several to a process: starting a process and loading a test's modules cost
//   more than many of those files' tests themselves. Every other file keeps a process of its own.
// - Files start longest first (scripts/test-weights.json, seconds per file run alone on a quiet machine; a
//   file not listed counts by its size), so no long file starts last and leaves one core idle at the end.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EXTERNAL, REQUIRE_BANNER } from './bundle-options.mjs';

const [mode = 'fast', ...filters] = process.argv.slice(2);
function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const all = [...walk('src', []), ...walk('test', [])].sort();
const files = all
  .filter((f) => (mode === 'slow' ? f.endsWith('.slow.test.ts') : !f.endsWith('.slow.test.ts')))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`No ${mode} test files found${filters.length ? ` matching ${filters.join(', ')}` : ''}.`);
  process.exit(mode === 'slow' ? 0 : 1);
}

const WEIGHTS = 'scripts/test-weights.json';
/** Seconds a test file took alone; a file not measured yet counts ~1 s per 4 KiB. */
function weightOf(file, weights) {
  return weights[file] ?? statSync(file).size / 4096;
}
function readWeights() {
  try {
    return JSON.parse(readFileSync(WEIGHTS, 'utf8'));
  } catch {
    return {};
  }
}

/**
 * A file may share its process with others when it has no hooks, starts no processes, workers, servers
 * or timers, touches no files or process-wide state, and runs no CLI in process: then nothing it does can
 * reach another file's tests. Anything that mentions one of these keeps a process of its own.
 */
const UNSHAREABLE =
  /\b(before|after|beforeEach|afterEach)\(|spawn|exec(File|Sync)?\(|fork\(|listen|process\.|start[A-Z]\w*\(|Server|fetch\(|mkdtemp|tmpdir|setTimeout|setInterval|runCliInProcess|Worker|import\.meta|writeFile|mock\./;
const shareable = (file) => !UNSHAREABLE.test(readFileSync(file, 'utf8'));

if (mode === 'plan') {
  // What `fast` would run, one line per test process in start order: its weight and its files.
  for (const e of plan(files)) console.log(`${e.weight.toFixed(2).padStart(6)} s  ${e.files.join(' ')}`);
  process.exit(0);
}
if (mode === 'weights') {
  await measureWeights(files);
  process.exit(0);
}

const outdir = resolve(`node_modules/.cache/qkdnet-tests-${process.pid}`);
const compiled =
  mode === 'fast' && process.env.QKDNET_TEST_TSX !== '1' ? await compile(plan(files), outdir) : undefined;
// Two test processes at a time on the 2-core machines this runs on; QKDNET_TEST_CONCURRENCY overrides.
const concurrency = process.env.QKDNET_TEST_CONCURRENCY ?? (mode === 'slow' ? '1' : '2');
const r = spawnSync(
  process.execPath,
  compiled
    ? [
        '--enable-source-maps',
        '--test',
        `--test-concurrency=${concurrency}`,
        '--test-reporter=spec',
        ...compiled,
      ]
    : ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
if (compiled) rmSync(outdir, { recursive: true, force: true });
process.exit(r.status ?? 1);

/**
 * What each test process runs, longest first: `{ name, files }`, one file each, except that shareable
 * files are packed into groups of about GROUP_SECONDS (longest file first into the lightest group).
 */
function plan(testFiles) {
  const GROUP_SECONDS = 8;
  const weights = readWeights();
  const w = (f) => weightOf(f, weights);
  const single = testFiles.filter((f) => !shareable(f)).map((f) => ({ name: f, files: [f], weight: w(f) }));
  const pool = testFiles.filter(shareable).sort((a, b) => w(b) - w(a));
  const total = pool.reduce((t, f) => t + w(f), 0);
  const n = Math.max(1, Math.min(pool.length, Math.round(total / GROUP_SECONDS)));
  const groups = Array.from({ length: pool.length ? n : 0 }, (_, i) => ({
    name: `shared-${i + 1}`,
    files: [],
    weight: 0,
  }));
  for (const f of pool) {
    const g = groups.reduce((a, b) => (b.weight < a.weight ? b : a));
    g.files.push(f);
    g.weight += w(f);
  }
  return [...single, ...groups].sort((a, b) => b.weight - a.weight);
}

/** Bundles the planned processes' entries; returns the compiled entries in order, or undefined without esbuild. */
async function compile(entries, outdir) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return undefined;
  }
  rmSync(outdir, { recursive: true, force: true });
  // A group's entry imports its files in turn; node:test then runs all their tests in that one process.
  const srcdir = join(outdir, 'entries');
  mkdirSync(srcdir, { recursive: true });
  const points = entries.map((e) => {
    if (e.files.length === 1) return { in: e.files[0], out: e.files[0].replace(/\.ts$/, '') };
    const entry = join(srcdir, `${e.name}.test.ts`);
    writeFileSync(entry, e.files.map((f) => `import ${JSON.stringify(resolve(f))};\n`).join(''));
    return { in: entry, out: `shared/${e.name}.test` };
  });
  /** Keeps each module's own location: import.meta.{url,dirname,filename} become the .ts file's values. */
  const ownLocation = {
    name: 'own-location',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${join('node_modules', '')}`)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.')) return undefined;
        const here = (k) => JSON.stringify(k);
        const contents = text
          .replaceAll('import.meta.url', here(pathToFileURL(args.path).href))
          .replaceAll('import.meta.dirname', here(resolve(args.path, '..')))
          .replaceAll('import.meta.filename', here(args.path));
        return { contents, loader: 'ts' };
      });
    },
  };
  await esbuild.build({
    entryPoints: points,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    external: EXTERNAL,
    banner: REQUIRE_BANNER,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [ownLocation],
  });
  return points.map((p) => join(outdir, `${p.out}.mjs`));
}

/**
 * Runs each test file alone (compiled), one after another, and records in WEIGHTS the seconds it took:
 * wall time, which is what decides when a slot frees up (a file that waits on a timer or a child process
 * holds its slot without using the CPU). Measure on a quiet machine.
 */
async function measureWeights(testFiles) {
  const dir = resolve(`node_modules/.cache/qkdnet-weights-${process.pid}`);
  const out = await compile(
    testFiles.map((f) => ({ name: f, files: [f] })),
    dir,
  );
  if (!out) throw new Error('esbuild is needed to measure test weights');
  const weights = readWeights();
  for (const [i, f] of testFiles.entries()) {
    const t0 = performance.now();
    const t = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-reporter=dot', out[i]], {
      stdio: 'ignore',
    });
    weights[f] = Math.round((performance.now() - t0) / 10) / 100;
    process.stderr.write(`${relative('.', f)}: ${weights[f]} s${t.status === 0 ? '' : ' (failed)'}\n`);
  }
  rmSync(dir, { recursive: true, force: true });
  const sorted = Object.fromEntries(Object.entries(weights).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(WEIGHTS, `${JSON.stringify(sorted, null, 2)}\n`);
}
