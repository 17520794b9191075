import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulate } from './simulate.ts';
import {
  mergeShards,
  parseSeeds,
  parseShard,
  quantile,
  shardSeeds,
  sweepResult,
  sweepText,
  type SweepRun,
} from './simulate-sweep.ts';
import { UsageError } from '../util.ts';
import { main } from '../main.ts';

// The worker-thread path (same seed → same output as `simulate --seed k`; merge of shards run by the CLI) is in
// simulate-sweep.slow.test.ts; here the shard arithmetic and the merge, on runs made in this process.
const METRO = 'scenarios/metro-demo.yaml';
const o = { seed: '1', format: 'json', duration: '2m', accounting: true } as const;
const runOf = (seed: number): SweepRun => {
  const { elapsed_ms: _, ...summary } = runSimulate(METRO, { ...o, seed: String(seed) }).summary;
  return { seed, summary };
};

test('merge of 3 shard files is the unsharded sweep JSON; incomplete or mixed shards are refused', () => {
  const seeds = [1, 2, 3, 4, 5];
  const runs = seeds.map(runOf);
  const whole = JSON.stringify(sweepResult('metro-demo', o, seeds, runs), null, 2);
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-plan-merge-'));
  const files = [2, 0, 1].map((index) => {
    const shard = { index, count: 3 };
    const mine = shardSeeds(seeds, shard);
    const part = sweepResult(
      'metro-demo',
      o,
      seeds,
      runs.filter((r) => mine.includes(r.seed as number)),
      shard,
    );
    assert.equal(part.percentiles, null);
    const f = join(dir, `shard-${index}.json`);
    writeFileSync(f, JSON.stringify(part, null, 2));
    return f;
  });
  assert.equal(mergeShards(files).output, whole);
  assert.match(sweepText(mergeShards(files).result), /served_fraction_qkd/);
  assert.throws(() => mergeShards(files.slice(0, 2)), /shards 1 of 3 are missing/);
  assert.throws(() => mergeShards([files[0]!, files[0]!, files[1]!]), /given twice/);
  const other = join(dir, 'other.json');
  writeFileSync(
    other,
    JSON.stringify(
      sweepResult('metro-demo', { ...o, duration: '1h' }, seeds, runs.slice(0, 2), { index: 1, count: 3 }),
    ),
  );
  assert.throws(() => mergeShards([files[0]!, other, files[2]!]), /another sweep/);
});

test('shards split the seeds round-robin, every seed in exactly one shard', () => {
  const seeds = parseSeeds('1..100');
  const parts = [0, 1, 2, 3].map((index) => shardSeeds(seeds, { index, count: 4 }));
  assert.deepEqual(
    parts.flat().sort((a, b) => (a as number) - (b as number)),
    seeds,
  );
  assert.deepEqual(parts[1]!.slice(0, 3), [2, 6, 10]);
});

test('bad --seeds and --shard are usage errors; the CLI exits 2', async () => {
  for (const bad of ['3/3', '1-3', '0/0', 'a/b', '-1/2'])
    assert.throws(() => parseShard(bad), UsageError, bad);
  assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  assert.deepEqual(parseSeeds('1..3'), [1, 2, 3]);
  assert.throws(() => parseSeeds('5..1'), UsageError);
  assert.throws(() => parseSeeds('1,1'), UsageError);
  assert.equal(await main(['simulate', METRO, '--seeds', '1..4', '--shard', '4/4']), 2);
  assert.equal(await main(['simulate', METRO, '--shard', '0/4']), 2);
  assert.equal(await main(['simulate', 'merge']), 2);
});

test('quantile interpolates between order statistics (type 7)', () => {
  assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assert.equal(quantile([0, 10], 0.05), 0.5);
  assert.equal(quantile([7], 0.95), 7);
});
