import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInProcess } from '../run-in-process.ts';

/** Runs `qkdnet keyrate …` in-process. */
const run = (args: string[]) => runCliInProcess(['keyrate', ...args]);

test('keyrate --format json prints the issue-2 shape, with rate 0 past the maximum distance', async () => {
  const r = await run(['--model', 'bb84-decoy-infinite', '--distance', '0:200:50', '--format', 'json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.model, 'bb84-decoy-infinite');
  assert.equal(j.preset, 'gys');
  assert.equal(j.params.attenuation_db_per_km, 0.21);
  assert.deepEqual(
    j.points.map((p: { distance_km: number }) => p.distance_km),
    [0, 50, 100, 150, 200],
  );
  assert.ok(j.points[0].rate_per_pulse > 0 && j.points[0].mu > 0.4 && j.points[0].qber > 0.03);
  assert.equal(j.points[3].rate_per_pulse, 0);
  assert.ok(Math.abs(j.max_distance_km - 142) < 3);
});

test('several models give a JSON array; bounds have max_distance_km null; from = to is one point', async () => {
  const r = await run([
    '--model',
    'plob,tgw',
    '--distance',
    '30:30:1',
    '--format',
    'json',
    '--set',
    'attenuation_db_per_km=0.2',
  ]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.length, 2);
  assert.equal(j[0].points.length, 1);
  assert.equal(j[0].max_distance_km, null);
  assert.equal(j[0].params.attenuation_db_per_km, 0.2);
});

test('table and csv outputs carry every distance', async () => {
  const t = await run(['--model', 'bb84-gllp,plob', '--distance', '0:20:10']);
  assert.equal(t.code, 0);
  assert.match(t.out, /distance_km\s+bb84-gllp\s+plob/);
  assert.match(t.out, /Maximum distance/);
  const c = await run(['--model', 'tf-qkd', '--distance', '0:20:10', '--format', 'csv', '--preset', 'metro']);
  assert.equal(c.out.trim().split('\n').length, 4);
  assert.ok(c.out.startsWith('model,distance_km,rate_per_pulse,qber,mu,nu'));
});

test('--plot writes an SVG with the PLOB bound added', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyrate-'));
  try {
    const file = join(dir, 'k.svg');
    const r = await run(['--model', 'bb84-decoy-infinite', '--distance', '0:100:10', '--plot', file]);
    assert.equal(r.code, 0, r.err);
    const svg = readFileSync(file, 'utf8');
    assert.ok(svg.includes('>plob<') && svg.includes('>bb84-decoy-infinite<'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--models and --presets list names with their sources', async () => {
  const m = await run(['--models']);
  assert.match(m.out, /bb84-decoy-finite.*Lim/);
  const p = await run(['--presets']);
  assert.match(p.out, /gys:.*\n {2}source: C\. Gobby/);
  assert.match(p.out, /micius:/);
  assert.match(p.out, /metro:/);
});

for (const [why, args] of [
  ['unknown model', ['--model', 'bb85', '--distance', '0:10:1']],
  ['unknown preset', ['--model', 'plob', '--distance', '0:10:1', '--preset', 'nope']],
  ['unknown parameter', ['--model', 'plob', '--distance', '0:10:1', '--set', 'colour=3']],
  ['malformed range', ['--model', 'plob', '--distance', '0:10']],
  ['negative distance', ['--model', 'plob', '--distance', '-10:10:1']],
  ['block size out of range', ['--model', 'bb84-decoy-finite', '--distance', '0', '--block-size', '1e14']],
  [
    '--n-x with --pulses',
    ['--model', 'bb84-decoy-finite', '--distance', '0', '--n-x', '1e4', '--pulses', '1e9'],
  ],
  ['--n-x without the finite model', ['--model', 'plob', '--distance', '0', '--n-x', '1e4']],
  ['missing --distance', ['--model', 'plob']],
] as const) {
  test(`bad input (${why}) is one line on stderr and exit code 2`, async () => {
    const r = await run([...args]);
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^qkdnet: /);
  });
}
