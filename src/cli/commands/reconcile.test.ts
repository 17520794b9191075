import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliInProcess } from '../run-in-process.ts';

/** Runs `qkdnet reconcile …` in-process. */
const run = (args: string[]) => runCliInProcess(['reconcile', ...args]);

test('reconcile --format json prints every documented field with plausible values', async () => {
  const r = await run([
    '--qber',
    '0.03',
    '--block-size',
    '10000',
    '--runs',
    '8',
    '--seed',
    '5',
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(Object.keys(j), [
    'algorithm',
    'qber',
    'block_size',
    'runs',
    'efficiency_mean',
    'efficiency_sd',
    'frame_error_rate',
    'round_trips_mean',
    'leaked_bits_mean',
    'throughput_mbps',
    'channel',
    'rtt_ms',
    'frames',
    'window',
    'wall_seconds',
    'cpu_seconds_alice',
    'cpu_seconds_bob',
    'bytes_exchanged',
    'frames_discarded',
    'warmup_frames',
    'threads',
  ]);
  assert.deepEqual(
    [j.channel, j.rtt_ms, j.frames, j.frames_discarded, j.bytes_exchanged, j.threads],
    ['memory', 0, 8, 0, null, 1],
  );
  assert.ok(j.wall_seconds > 0 && j.cpu_seconds_alice > 0 && j.cpu_seconds_bob > 0);
  assert.equal(j.algorithm, 'cascade-improved');
  assert.deepEqual([j.qber, j.block_size, j.runs, j.frame_error_rate], [0.03, 10000, 8, 0]);
  assert.ok(j.efficiency_mean > 1 && j.efficiency_mean < 1.15, `efficiency ${j.efficiency_mean}`);
  // leaked ≈ f·n·h(0.03) = f·1944 bits
  assert.ok(Math.abs(j.leaked_bits_mean / (j.efficiency_mean * 10000 * 0.19439) - 1) < 0.05);
  assert.ok(j.throughput_mbps > 0);
});

test('the same seed gives the same figures (apart from throughput)', async () => {
  const args = [
    '--qber',
    '0.05',
    '--block-size',
    '2000',
    '--runs',
    '4',
    '--algorithm',
    'cascade-original',
    '--format',
    'json',
  ];
  const a = JSON.parse((await run(args)).out);
  const b = JSON.parse((await run(args)).out);
  for (const k of ['throughput_mbps', 'wall_seconds', 'cpu_seconds_alice', 'cpu_seconds_bob']) {
    delete a[k];
    delete b[k];
  }
  assert.deepEqual(a, b);
});

test('bad input is one line on stderr and exit code 2', async () => {
  for (const args of [
    ['--block-size', '100'],
    ['--qber', '0.6', '--block-size', '100'],
    ['--qber', '0.02', '--block-size', '1.5'],
    ['--qber', '0.02', '--block-size', '100', '--algorithm', 'turbo'],
    ['--qber', '0.02', '--block-size', '100', '--format', 'xml'],
    ['--qber', '0.02', '--block-size', '100', '--channel', 'udp'],
    ['--qber', '0.02', '--block-size', '100', '--rtt-ms', '1'],
    ['--qber', '0.02', '--block-size', '100', '--channel', 'tcp', '--rtt-ms', '-1'],
    ['--qber', '0.02', '--block-size', '100', '--window', '0'],
    ['--qber', '0.02', '--block-size', '100', '--runs', '3', '--frames', '4'],
  ]) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^qkdnet: /);
  }
});

test('text output is a table with the efficiency', async () => {
  const r = await run(['--qber', '0.02', '--block-size', '5000', '--runs', '2']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /algorithm +qber +block_size/);
  assert.match(r.out, /cascade-improved/);
});

test('reconcile --algorithm ldpc corrects every frame in the memory channel and reports it', async () => {
  const args = [
    '--qber',
    '0.05',
    '--block-size',
    '5000',
    '--runs',
    '2',
    '--algorithm',
    'ldpc',
    '--format',
    'json',
  ];
  const r = await run(args);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.algorithm, 'ldpc');
  assert.equal(j.frame_error_rate, 0);
  assert.ok(j.efficiency_mean > 1 && j.efficiency_mean < 1.5, `efficiency ${j.efficiency_mean}`);
  assert.ok(j.round_trips_mean >= 2);
  const again = JSON.parse((await run(args)).out);
  assert.equal(again.leaked_bits_mean, j.leaked_bits_mean); // Alice's private bits are seeded too
});
