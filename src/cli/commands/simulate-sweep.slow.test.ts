import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runSimulate } from './simulate.ts';
import { mergeShards, runSweep, shardSeeds } from './simulate-sweep.ts';

const METRO = 'scenarios/metro-demo.yaml';
const base = { seed: '1', format: 'json', duration: '10m', accounting: true } as const;

test('a sweep runs each seed on worker threads exactly as `simulate --seed k` does (elapsed_ms aside)', async () => {
  const { result } = await runSweep(METRO, { ...base, seeds: '3,5', jobs: '2' });
  assert.deepEqual(result.seeds, [3, 5]);
  for (const run of result.runs) {
    const { elapsed_ms: _, ...single } = runSimulate(METRO, { ...base, seed: String(run.seed) }).summary;
    assert.deepEqual(run.summary, single);
  }
  // Seeds matter (Poisson demand, fiber drift): the two runs differ, so the spread is not zero.
  assert.notDeepEqual(result.runs[0]!.summary, result.runs[1]!.summary);
  const p = result.percentiles!.demand_bits!;
  assert.ok(p.p5 < p.p95, JSON.stringify(p));
  assert.ok(result.percentiles!['route_changes.total'] && result.percentiles!.served_fraction_qkd);
});

test('merge of 3 shards run by worker threads is the unsharded sweep, byte for byte', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-plan-shards-'));
  const o = { ...base, duration: '5m', seeds: '1..5', jobs: '2' };
  const whole = await runSweep(METRO, o);
  const files: string[] = [];
  for (const i of [2, 0, 1]) {
    const part = await runSweep(METRO, { ...o, shard: `${i}/3`, jobs: '1' });
    assert.equal(part.result.percentiles, null);
    assert.deepEqual(
      part.result.runs.map((r) => r.seed),
      shardSeeds([1, 2, 3, 4, 5], { index: i, count: 3 }),
    );
    const f = join(dir, `shard-${i}.json`);
    writeFileSync(f, part.output);
    files.push(f);
  }
  assert.equal(mergeShards(files).output, whole.output);
  assert.throws(() => mergeShards(files.slice(0, 2)), /shards 1 of 3 are missing/);
  assert.throws(() => mergeShards([files[0]!, files[0]!, files[1]!]), /given twice/);
});

test('a bad --shard from the real CLI: one line on stderr and exit 2', () => {
  const r = spawnSync(
    process.execPath,
    ['bin/qkdnet.js', 'simulate', METRO, '--seeds', '1..4', '--shard', '4/4'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--shard: "4\/4" is not i\/N/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
