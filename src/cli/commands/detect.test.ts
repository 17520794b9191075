import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInProcess } from '../run-in-process.ts';

/** Runs the CLI in-process, capturing stdout and stderr. */
const run = (args: string[]) => runCliInProcess(args);

const quick = ['--trials', '5', '--null-blocks', '300', '--calibration-blocks', '100', '--seed', '3'];

test('detect evaluate --format json prints the issue fields', async () => {
  const r = await run(['detect', 'evaluate', '--attack', 'intercept-resend', ...quick, '--format', 'json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  for (const k of [
    'attack',
    'strength',
    'trials',
    'detection_probability',
    'mean_blocks_to_detect',
    'false_alarm_rate_per_block',
    'keys_from_attacked_blocks',
  ])
    assert.ok(k in j, `missing ${k}`);
  assert.equal(j.attack, 'intercept-resend');
  assert.equal(j.strength, 0.05);
  assert.equal(j.trials, 5);
  assert.equal(j.detection_probability, 1);
  assert.equal(j.keys_from_attacked_blocks, 0);
});

test('detect evaluate --roc writes an SVG, the table names its columns', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qkdnet-roc-'));
  const file = join(dir, 'roc.svg');
  const r = await run([
    'detect',
    'evaluate',
    '--attack',
    'trojan-horse',
    '--strength',
    '1e-6',
    ...quick,
    '--roc',
    file,
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /P\(detect ≤3\)/);
  const svg = await readFile(file, 'utf8');
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /ROC: trojan-horse at strength (1e-6|0.000001) /);
  // One curve per detector that fired on the trials (here the monitor-power test).
  assert.match(svg, /all detectors/);
  assert.match(svg, />trojan-horse</);
  await rm(dir, { recursive: true });
});

test('detect evaluate --roc lowers a default strength until detection is informative, and says so', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qkdnet-roc-'));
  const file = join(dir, 'roc.svg');
  const r = await run(['detect', 'evaluate', '--attack', 'pns', ...quick, '--roc', file]);
  assert.equal(r.code, 0, r.err);
  const title = /ROC: pns at strength ([0-9.e-]+)/.exec(await readFile(file, 'utf8'));
  assert.ok(title && Number(title[1]) < 1, 'the default strength 1 is detected always: a flat curve');
  await rm(dir, { recursive: true });
});

test('detect evaluate --strength-sweep: detection and insecure key over strength, the gap, a plot per attack', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qkdnet-sweep-'));
  const r = await run([
    'detect',
    'evaluate',
    '--attack',
    'blinding',
    '--strength-sweep',
    ...quick,
    '--sifted-bits',
    '5e6',
    '--sweep-svg',
    join(dir, 'sweep.svg'),
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.err);
  // blinding has a modelled countermeasure (Bob's bright-light watchdog): swept with it off, then on
  const [sw, on] = JSON.parse(r.out).strength_sweep;
  assert.equal(sw.attack, 'blinding');
  assert.equal(sw.countermeasures, 'off');
  assert.equal(on.countermeasures, 'on');
  assert.ok(sw.points.length >= 5);
  const full = sw.points.find((p: { strength: number }) => p.strength === 1);
  assert.equal(full.detection_probability, 1);
  for (const x of [sw, on])
    for (const p of x.points)
      assert.equal(
        x.coverage_gap.includes(p.strength),
        p.insecure_key_bits > 0 && p.detection_probability < 0.99,
      );
  // without the watchdog, blinding 0.5% of the block passes the statistics; the watchdog sees every strength
  assert.ok(sw.points[0].detection_probability < 0.5);
  for (const p of on.points) assert.equal(p.detection_probability, 1, `watchdog at ${p.strength}`);
  assert.match(
    await readFile(join(dir, 'sweep-blinding-countermeasures-off.svg'), 'utf8'),
    /blinding \(countermeasures off\): detection vs insecure key/,
  );
  assert.match(
    await readFile(join(dir, 'sweep-blinding-countermeasures-on.svg'), 'utf8'),
    /blinding \(countermeasures on\)/,
  );
  await rm(dir, { recursive: true });
});

test('bad input is one line on stderr and exit code 2', async () => {
  for (const args of [
    ['detect', 'evaluate', '--attack', 'teleport'],
    ['detect', 'evaluate', '--attack', 'pns', '--strength', '2'],
    ['detect', 'evaluate', '--attack', 'pns', '--trials', '0'],
    ['detect', 'evaluate', '--attack', 'pns', '--format', 'xml'],
    ['detect', 'evaluate', '--attack', 'pns', '--countermeasures', 'maybe'],
  ]) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}`);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.equal(r.out, '');
  }
});

test('detect evaluate --help teaches with examples', async () => {
  const r = await run(['detect', 'evaluate', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /Examples:/);
  assert.match(r.out, /intercept-resend\s+0\.05/);
});
