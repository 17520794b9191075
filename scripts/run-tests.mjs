// Runs the test suites with node:test through tsx.
//   fast: every *.test.ts except *.slow.test.ts  (npm test)
//   slow: only *.slow.test.ts                    (npm run test:slow; real strongSwan, Chromium, long runs)
// Test files are found under src/ and test/; extra arguments narrow the set by substring.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
const concurrency = mode === 'slow' ? '1' : '2';
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
