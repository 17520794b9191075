import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInProcess } from '../run-in-process.ts';

/** Runs `qkdnet link simulate …` in-process. */
const run = (args: string[]) => runCliInProcess(['link', 'simulate', ...args]);

const FIELDS = [
  'pulses',
  'detections',
  'sifted_bits',
  'qber_z',
  'qber_x',
  'gain_signal',
  'gain_decoy',
  'gain_vacuum',
  'y1_lower',
  'e1_upper',
  'secure',
  'eve_known_bits',
  'elapsed_ms',
];

test('link simulate --format json prints the issue-3 fields; --pulses accepts 1e8', async () => {
  const r = await run([
    '--preset',
    'gys',
    '--distance',
    '50',
    '--pulses',
    '1e8',
    '--seed',
    '5',
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  for (const f of FIELDS) assert.ok(f in j, f);
  assert.equal(j.pulses, 1e8);
  assert.ok(j.detections > 1e5 && j.sifted_bits > 0.2 * j.detections);
  assert.ok(Math.abs(j.qber_z - 0.034) < 0.005);
  assert.equal(j.secure, false);
  assert.equal(j.reason, 'too-few-counts');
  assert.equal(j.eve_known_bits, 0);
});

test('the same seed prints the same numbers (elapsed time aside); an attack shows in the output', async () => {
  const args = ['--distance', '20', '--pulses', '2e7', '--seed', 'x', '--format', 'json'];
  const a = JSON.parse((await run(args)).out);
  const b = JSON.parse((await run(args)).out);
  delete a.elapsed_ms;
  delete b.elapsed_ms;
  assert.deepEqual(a, b);
  const ir = JSON.parse((await run([...args, '--attack', 'intercept-resend:1'])).out);
  assert.ok(ir.qber_z > 0.2, `qber ${ir.qber_z}`);
  assert.ok(ir.eve_known_bits > 0.4 * ir.sifted_bits);
  assert.equal(ir.attack, 'intercept-resend:1');
});

test('a channel file sets distance and parameters; the table format lists the same quantities', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-link-'));
  try {
    const file = join(dir, 'link.yaml');
    writeFileSync(file, 'preset: gys\ndistance_km: 10\nparams:\n  misalignment_error: 0.01\n');
    const j = JSON.parse((await run(['--channel', file, '--pulses', '1e7', '--format', 'json'])).out);
    assert.equal(j.distance_km, 10);
    assert.ok(j.qber_z < 0.02);
    const t = await run(['--channel', file, '--pulses', '1e7']);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /qber_z/);
    writeFileSync(file, 'distance: 10\n');
    const bad = await run(['--channel', file]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown key "distance"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input is one line on stderr and exit code 2', async () => {
  for (const args of [
    ['--pulses', 'lots'],
    ['--pulses', '1.5'],
    ['--distance', '-3'],
    ['--attack', 'sharks'],
    ['--attack', 'intercept-resend:2'],
    ['--format', 'xml'],
    ['--preset', 'nope'],
    ['--set', 'misalignment_error=0.9'],
    ['--set', 'colour=3'],
    ['--distance', '5', '--channel', 'x.yaml'],
    ['--channel', '/nonexistent/link.yaml'],
    ['--pulses', '1e15'],
  ]) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}: ${r.err}`);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.equal(r.out, '');
  }
});

test('--postprocess adds the issue-4 fields; at 10 km the two ends hold equal keys of the pipeline length', async () => {
  const r = await run([
    '--distance',
    '10',
    '--pulses',
    '1e9',
    '--seed',
    '3',
    '--postprocess',
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  for (const f of [
    'final_key_bits',
    'secret_key_rate_per_pulse',
    'leak_ec_bits',
    'efficiency',
    'auth_bits_used',
    'keys_equal',
  ]) {
    assert.ok(f in j, `missing ${f}`);
  }
  assert.equal(j.keys_equal, true);
  assert.ok(j.final_key_bits > 0);
  assert.equal(j.secret_key_rate_per_pulse, j.final_key_bits / 1e9);
  // efficiency = leaked bits / (n·h(Q)): the improved Cascade is within 1.0–1.10 at QBER ≈ 3.4 % (the post-processing target)
  assert.ok(j.efficiency > 1 && j.efficiency < 1.1, `efficiency ${j.efficiency}`);
  assert.ok(j.auth_bits_used > 0);
});

test('--postprocess on an insecure block emits no key and says why', async () => {
  const r = await run(['--distance', '50', '--pulses', '1e7', '--postprocess', '--format', 'json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.final_key_bits, 0);
  assert.equal(j.keys_equal, false);
  assert.equal(typeof j.postprocess_reason, 'string');
});

test('--algorithm outside the registry is a usage error before any simulation, as are misplaced channel flags', async () => {
  for (const args of [
    ['--postprocess', '--algorithm', 'turbo'],
    ['--channel', 'tcp'],
    ['--postprocess', '--rtt-ms', '1'],
    ['--postprocess', '--channel', 'tcp', '--channel', 'memory'],
    ['--postprocess', '--channel', 'tcp', '--rtt-ms', '-3'],
  ]) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});
