import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInProcess } from '../run-in-process.ts';
import { parseCompromises, parseFailures, runSimulate } from './simulate.ts';

const FIELDS = [
  'duration_s',
  'demand_bits',
  'served_bits',
  'served_fraction',
  'served_fraction_qkd',
  'unserved_bits',
  'served_by_provenance',
  'plaintext_bits',
  'reroutes',
  'route_changes',
  'alerts',
  'keys_exposed',
  'keys_exposed_bits',
  'keys_exposed_by_cause',
  'hybrid_relay_exposed_bits',
  'compromised_nodes',
  'apps',
  'links',
  'elapsed_ms',
];

test('--format json prints exactly the documented fields; same seed → same output apart from elapsed_ms', () => {
  const o = {
    seed: '9',
    format: 'json',
    duration: '1h',
    fail: 'link:hq-dcn@10m..30m',
    compromise: 'node:hq',
  };
  const a = JSON.parse(runSimulate('scenarios/metro-demo.yaml', o).output);
  const b = JSON.parse(runSimulate('scenarios/metro-demo.yaml', o).output);
  assert.deepEqual(Object.keys(a), FIELDS);
  assert.deepEqual(Object.keys(a.links[0]), [
    'id',
    'rate_model',
    'rate_bps',
    'initial_pool_bits',
    'generated_bits',
    'consumed_bits',
    'discarded_bits',
    'end_pool_bits',
    'relayed_bits',
    'pool_min_bits',
    'utilisation',
    'down_s',
    'outage_s',
  ]);
  assert.deepEqual(Object.keys(a.apps[0]), [
    'id',
    'demand_bits',
    'served_bits',
    'served_by_provenance',
    'unserved_bits',
    'keys_exposed_bits',
    'keys_exposed_by_cause',
    'hybrid_relay_exposed_bits',
    'route_changes',
  ]);
  assert.equal(a.links[0].rate_model, 'finite');
  assert.equal(a.duration_s, 3600);
  assert.equal(a.plaintext_bits, 0);
  assert.equal(a.links.find((l: { id: string }) => l.id === 'hq-dcn').down_s, 1200);
  assert.ok(a.keys_exposed > 0);
  // hq is an end of bank and telemetry: exposed whatever the route, found at the first heartbeat.
  assert.equal(a.compromised_nodes.length, 1);
  const c = a.compromised_nodes[0];
  assert.deepEqual(Object.keys(c), [
    'id',
    'at_s',
    'keys_exposed_bits',
    'applications',
    'known_at_s',
    'known_by',
    'restored_at_s',
  ]);
  assert.equal(c.id, 'hq');
  assert.equal(c.known_by, 'attestation');
  assert.ok(c.applications.includes('bank') && c.keys_exposed_bits > 0);
  delete a.elapsed_ms;
  delete b.elapsed_ms;
  assert.deepEqual(a, b);
});

test('--report writes report.html with plots and summary.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-sim-'));
  runSimulate('scenarios/metro-demo.yaml', { seed: '1', format: 'text', duration: '30m', report: dir });
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.ok(
    html.includes('<svg') && html.includes('Key pool level per link') && html.includes('by provenance'),
  );
  assert.ok(existsSync(join(dir, 'summary.json')));
});

test('failure and compromise lists are parsed; bad ones are usage errors', () => {
  assert.deepEqual(parseFailures('link:a@1h,link:b@2h..3h'), [
    { atS: 3600, kind: 'fail', target: 'a' },
    { atS: 7200, kind: 'fail', target: 'b' },
    { atS: 10800, kind: 'restore', target: 'b' },
  ]);
  assert.deepEqual(parseCompromises('node:x,node:y@30m'), [
    { atS: 0, kind: 'compromise', target: 'x' },
    { atS: 1800, kind: 'compromise', target: 'y' },
  ]);
  assert.throws(() => parseFailures('a@1h'), /link:ID@TIME/);
  assert.throws(() => parseFailures('link:a@2h..1h'), /restores before/);
  assert.throws(() => parseCompromises('x'), /node:ID/);
});

test('bad input is one line on stderr and exit code 2', async () => {
  const o = { seed: '1', format: 'text', duration: '1m' };
  assert.throws(
    () => runSimulate('scenarios/metro-demo.yaml', { ...o, fail: 'link:nope@1h' }),
    /no link "nope"/,
  );
  assert.throws(() => runSimulate('scenarios/metro-demo.yaml', { ...o, duration: 'forever' }), /--duration/);
  assert.throws(() => runSimulate('scenarios/metro-demo.yaml', { ...o, format: 'xml' }), /--format/);
  for (const args of [
    ['simulate', 'no-such.yaml'],
    ['simulate', 'scenarios/metro-demo.yaml', '--fail', 'link:nope@1h'],
  ]) {
    const r = await runCliInProcess(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^qkdnet: /);
  }
});

test('--event-level fills BB84 fiber links from simulated blocks and reports event_blocks per link', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-sim-event-'));
  const file = join(dir, 'pair.yaml');
  writeFileSync(
    file,
    [
      'name: pair',
      'title: one 10 km GYS link',
      'sources: [GYS preset]',
      'nodes: [{ id: a, lat: 0, lon: 0 }, { id: b, lat: 0, lon: 0.1 }]',
      'links: [{ id: ab, from: a, to: b, length_km: 10 }, { id: m, from: a, to: b, rate_bps: 100 }]',
      'apps: [{ id: app, from: a, to: b, rate_bps: 8 }]',
    ].join('\n'),
  );
  const o = { seed: '1', format: 'json', duration: '20m' };
  const model = JSON.parse(runSimulate(file, o).output);
  assert.equal(model.links[0].event_blocks, undefined, 'model links keep exactly the documented fields');
  const event = JSON.parse(runSimulate(file, { ...o, eventLevel: true }).output);
  const [ab, m] = event.links;
  assert.equal(ab.source, 'event-level');
  assert.equal(ab.event_blocks, 2, '1e9 pulses at 2 MHz = one block per 500 s');
  assert.equal(ab.event_blocks_failed, 0);
  assert.ok(ab.generated_bits > 0 && ab.generated_bits !== model.links[0].generated_bits);
  assert.equal(m.source, undefined, 'a measured rate stays on the model');
  assert.equal(m.generated_bits, model.links[1].generated_bits);
});
