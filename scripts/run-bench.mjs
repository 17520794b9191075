// `npm run bench -- <name> [args…]` runs bench/<name>.bench.ts, which writes bench/results/<name>.json.
// With no name it lists the benchmarks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const [name, ...rest] = process.argv.slice(2);
const available = readdirSync('bench')
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace('.bench.ts', ''));
if (!name) {
  console.log(`Usage: npm run bench -- <name>\nAvailable: ${available.join(', ') || '(none yet)'}`);
  process.exit(0);
}
const file = `bench/${name}.bench.ts`;
if (!existsSync(file)) {
  console.error(`No benchmark named "${name}". Available: ${available.join(', ')}`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', file, ...rest], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
