// Runs the test suites with node:test.
//   fast: every *.test.ts except *.slow.test.ts  (npm test)
//   slow: only *.slow.test.ts                    (npm run test:slow; real strongSwan, Chromium, long runs)
// Test files are found under src/ and test/; extra arguments narrow the set by substring.
//
// The fast suite is compiled before it runs: esbuild bundles every selected test file (code split, so the
// modules they share are compiled once; pure-JavaScript dependencies bundled in, see bundle-options.mjs) into node_modules/.cache/qkdnet-tests/,
// the way dist/cli.mjs is built for production. Each test file still runs in its own process, but no
// process compiles TypeScript on the way in: through tsx every one of ~120 processes spent about a second
// of CPU compiling and resolving the same few hundred modules, which was half of the suite's time on two
// cores. `import.meta.url` / `dirname` / `filename` keep the values of the original .ts file, so paths a
// module computes from its own location are the same as under tsx. QKDNET_TEST_TSX=1 runs the sources
// through tsx instead (the slow suite always does: its time is in strongSwan, Chromium and databases).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

const compiled = mode === 'fast' && process.env.QKDNET_TEST_TSX !== '1' ? await compile(files) : undefined;
const concurrency = mode === 'slow' ? '1' : '2';
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
process.exit(r.status ?? 1);

/** Bundles the test files; returns the compiled files in the same order, or undefined without esbuild. */
async function compile(testFiles) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return undefined;
  }
  const outdir = resolve('node_modules/.cache/qkdnet-tests');
  rmSync(outdir, { recursive: true, force: true });
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
    entryPoints: testFiles,
    outdir,
    outbase: '.',
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
  return testFiles.map((f) => join(outdir, f.replace(/\.ts$/, '.mjs')));
}
