import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadScenario, parseScenario } from './scenario.ts';
import { NetworkSimulation } from './simulation.ts';
import type { KeyRecord, NetworkEvent } from './types.ts';

const metro = loadScenario('scenarios/metro-demo.yaml');

test('the same seed gives the same summary (apart from elapsed_ms)', () => {
  const run = () => {
    const net = new NetworkSimulation(metro, { seed: 42, durationS: 3600 });
    net.scheduleEvent({ atS: 600, kind: 'fail', target: 'hq-dcn' });
    net.run();
    return { ...net.summary(0), samples: net.samples() };
  };
  assert.deepEqual(run(), run());
});

test('a cut link is rerouted around, counted, alerted and its downtime measured; restore brings it back', () => {
  const net = new NetworkSimulation(metro, { seed: 1, durationS: 2 * 3600 });
  const events: NetworkEvent[] = [];
  net.subscribe((e) => e.type !== 'keys' && e.type !== 'sample' && events.push(e));
  net.scheduleEvent({ atS: 1800, kind: 'fail', target: 'hq-dcn' });
  net.scheduleEvent({ atS: 3600, kind: 'restore', target: 'hq-dcn' });
  net.run();
  const s = net.summary(0);
  assert.equal(s.plaintext_bits, 0);
  assert.equal(s.served_fraction, 1);
  assert.equal(s.served_by_provenance.pqc, 0, 'the mesh keeps every app on QKD');
  assert.ok(s.reroutes >= 1);
  assert.equal(s.links.find((l) => l.id === 'hq-dcn')!.down_s, 1800);
  const kinds = events.filter((e) => e.type === 'alert').map((e) => (e.type === 'alert' ? e.alert.kind : ''));
  assert.deepEqual(kinds.slice(0, 2), ['link-down', 'link-restored']);
  assert.ok(events.some((e) => e.type === 'reroute'));
});

test('with QKD removed, demand is served as pqc with alerts, refused where policy forbids pqc, never in plaintext', () => {
  const net = new NetworkSimulation(metro, { seed: 3, durationS: 1800 });
  for (const l of metro.links) net.scheduleEvent({ atS: 0, kind: 'fail', target: l.id });
  net.run();
  const snap = net.snapshot();
  const s = net.summary(0);
  assert.equal(s.plaintext_bits, 0);
  const { qkd, 'qkd-relayed': relayed, 'qkd-multipath': mp, hybrid } = s.served_by_provenance;
  assert.equal(qkd + relayed + mp + hybrid, 0);
  const telemetry = snap.apps.find((a) => a.id === 'telemetry')!; // policy: pqc allowed
  assert.equal(telemetry.servedByProvenance.pqc, telemetry.demandBits);
  const bank = snap.apps.find((a) => a.id === 'bank')!; // policy: qkd-relayed or better
  assert.equal(bank.servedBits, 0);
  assert.equal(bank.unservedBits, bank.demandBits);
  const records = snap.apps.find((a) => a.id === 'records')!; // hybrid, accepts pqc? no: min hybrid
  assert.equal(records.servedBits, 0);
  const alertKinds = new Set(net.alerts().map((a) => a.kind));
  assert.ok(alertKinds.has('pqc-fallback'));
  assert.ok(alertKinds.has('policy-refused'));
  assert.equal(s.served_bits, s.served_by_provenance.pqc);
});

test('a compromised relay exposes single-path keys it relays, but never multipath keys', () => {
  const net = new NetworkSimulation(metro, { seed: 5, durationS: 1800 });
  const keys: KeyRecord[] = [];
  net.subscribe((e) => e.type === 'keys' && keys.push(e.record));
  for (const n of ['hq', 'dc-south']) net.compromiseNode(n); // one node on each ipsec-branches path
  net.run();
  const multipath = keys.filter((k) => k.provenance === 'qkd-multipath');
  assert.ok(multipath.length > 0);
  for (const k of multipath) {
    assert.equal(k.exposedTo.length, 0);
    const mids = k.paths.map((p) => p.slice(1, -1));
    assert.ok(mids.every((m, i) => mids.every((o, j) => i === j || m.every((n) => !o.includes(n)))));
  }
  // With hq AND dc-south compromised, a multipath key is exposed only if both paths cross them.
  for (const k of multipath) {
    const bothSeen = k.paths.every((p) => p.slice(1, -1).some((n) => n === 'hq' || n === 'dc-south'));
    assert.equal(k.exposed, bothSeen);
  }
  const relayedViaHq = keys.filter(
    (k) => k.provenance === 'qkd-relayed' && k.paths[0]!.slice(1, -1).includes('hq'),
  );
  for (const k of relayedViaHq) assert.ok(k.exposed && k.exposedTo.includes('hq'));
  const exposedKeys = keys.filter((k) => k.exposed).reduce((s, k) => s + k.keys, 0);
  assert.equal(net.summary(0).keys_exposed, exposedKeys);
});

test('an intercept-resend attack above 11% QBER aborts the link, quarantines it and discards its key', () => {
  const net = new NetworkSimulation(metro, { seed: 7, durationS: 3600 });
  net.run(600);
  net.injectAttack('hq-bw', { kind: 'intercept-resend', param: 1 });
  let link = net.snapshot().links.find((l) => l.id === 'hq-bw')!;
  assert.equal(link.state, 'quarantined');
  assert.equal(link.poolBits, 0);
  assert.equal(link.qber, null);
  assert.ok(net.alerts().some((a) => a.kind === 'attack-suspected' && a.evidence.value > 0.11));
  net.run(1200);
  assert.equal(net.snapshot().links.find((l) => l.id === 'hq-bw')!.generatedBits, link.generatedBits);
  net.clearAttack('hq-bw');
  net.run(1800);
  link = net.snapshot().links.find((l) => l.id === 'hq-bw')!;
  assert.equal(link.state, 'up');
  assert.ok(link.poolBits > 0);
  assert.equal(net.summary(0).plaintext_bits, 0);
});

test('a weak intercept-resend (QBER below 11%) is not caught by the threshold and the link keeps running', () => {
  // Nominal QBER (no seeded drift: variation.ts adds up to 2 points between re-alignments).
  const net = new NetworkSimulation(metro, { seed: 7, durationS: 600, variation: false });
  net.injectAttack('hq-bw', { kind: 'intercept-resend', param: 0.2 });
  net.run();
  const link = net.snapshot().links.find((l) => l.id === 'hq-bw')!;
  assert.equal(link.state, 'up');
  assert.ok(Math.abs(link.qber! - (0.0331 + 0.05)) < 0.002);
});

test('attacks use the link engine vocabulary: pns and blinding by those names, anything else refused', () => {
  for (const kind of ['pns', 'blinding'] as const) {
    const net = new NetworkSimulation(metro, { seed: 7, durationS: 60 });
    net.injectAttack('hq-bw', { kind });
    const link = net.snapshot().links.find((l) => l.id === 'hq-bw')!;
    assert.equal(link.state, 'quarantined');
    assert.equal(link.attack, kind);
  }
  const net = new NetworkSimulation(metro, { seed: 7, durationS: 60 });
  assert.throws(
    () => net.injectAttack('hq-bw', { kind: 'photon-number-splitting' as 'pns' }),
    /expected one of intercept-resend, pns, blinding/,
  );
});

test('a satellite link generates key only during its passes (rate × pass time)', () => {
  const micius = loadScenario('scenarios/micius-satellite.yaml');
  // Nominal passes (variation: false); with the seeded geometry and cloud each pass is scaled (variation.ts).
  const net = new NetworkSimulation(micius, {
    seed: 1,
    durationS: 2 * 86400,
    materializeKeys: false,
    variation: false,
  });
  net.run();
  const link = net.summary(0).links.find((l) => l.id === 'micius-xinglong')!;
  // Two passes of 273 s at 1.1 kbit/s, Liao et al. 2017 (whole bytes only: ≤ 8 bits lost per 10 s block).
  assert.ok(Math.abs(link.generated_bits - 2 * 273 * 1100) <= 8 * 2 * 29, `${link.generated_bits} bits`);
});

test('controls refuse unknown links and nodes', () => {
  const net = new NetworkSimulation(metro, { seed: 1, durationS: 60 });
  assert.throws(() => net.failLink('nope'), RangeError);
  assert.throws(() => net.compromiseNode('nope'), RangeError);
});

test('the live mode paces the same simulation by the wall clock: never ahead of its speed, same numbers as a batch run', async () => {
  const net = new NetworkSimulation(metro, { seed: 1, durationS: 86400 });
  let samples = 0;
  let wake: (() => void) | undefined;
  net.subscribe((e) => {
    if (e.type === 'sample') samples++;
    wake?.();
  });
  /** Waits (on the simulation's own events, not a fixed sleep) until `n` samples have been published. */
  const untilSamples = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${samples} samples within 20 s`)), 20_000);
      wake = () => {
        if (samples < n) return;
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      wake();
    });
  const t0 = performance.now();
  const runner = net.startLive({ speed: 3600, tickMs: 10 });
  await untilSamples(2);
  net.setSpeed(7200);
  await untilSamples(4);
  net.stopLive();
  const wallS = (performance.now() - t0) / 1000;
  assert.equal(runner.running, false);
  const liveTimeS = net.snapshot().timeS;
  assert.ok(liveTimeS >= 4 * 60, `4 samples at a 60 s interval need ≥ 240 simulated s, got ${liveTimeS}`);
  assert.ok(liveTimeS <= 7200 * wallS + 1, `paced: ${liveTimeS} simulated s in ${wallS} real s at ≤ 7200×`);
  // The same kernel and code: a batch run to the same moment has the same numbers.
  const batch = new NetworkSimulation(metro, { seed: 1, durationS: 86400 });
  batch.run(liveTimeS);
  assert.deepEqual(batch.snapshot(), net.snapshot());
});

test('accounting mode gives the same numbers as byte mode (it only skips making the bytes)', () => {
  const run = (materializeKeys: boolean) => {
    const net = new NetworkSimulation(metro, { seed: 8, durationS: 1800, materializeKeys });
    net.scheduleEvent({ atS: 300, kind: 'fail', target: 'hq-bw' });
    net.compromiseNode('dc-north');
    net.run();
    return net.summary(0);
  };
  assert.deepEqual(run(false), run(true));
});

test('a restored node stops exposing the keys it relays; keys it saw stay exposed', () => {
  const net = new NetworkSimulation(metro, { seed: 5, durationS: 1800 });
  const keys: KeyRecord[] = [];
  const events: string[] = [];
  net.subscribe((e) => {
    if (e.type === 'keys') keys.push(e.record);
    if (e.type === 'node-compromised' || e.type === 'node-restored') events.push(`${e.type} ${e.nodeId}`);
  });
  net.compromiseNode('hq');
  net.run(900);
  net.restoreNode('hq');
  net.restoreNode('hq'); // twice is once
  assert.equal(net.snapshot().nodes.find((n) => n.id === 'hq')!.compromised, false);
  net.run();
  assert.deepEqual(events, ['node-compromised hq', 'node-restored hq']);
  // Keys with hq at an end or on their single path: exposed while hq was compromised, not after.
  const viaHq = (k: KeyRecord) => k.paths.length === 1 && k.paths[0]!.includes('hq');
  const before = keys.filter((k) => viaHq(k) && k.timeS <= 900);
  const after = keys.filter((k) => viaHq(k) && k.timeS > 900);
  assert.ok(before.length > 0 && after.length > 0);
  assert.ok(before.every((k) => k.exposed));
  assert.ok(after.every((k) => !k.exposed));
  assert.throws(() => net.restoreNode('nope'), RangeError);
});

test('exposure is split by cause: endpoint, relay node, and hybrid keys whose QKD part a relay saw', () => {
  const net = new NetworkSimulation(metro, { seed: 4, durationS: 1800, materializeKeys: false });
  net.failLink('dcn-dcs'); // records (hybrid, dc-north → dc-south) must be relayed
  net.compromiseNode('hq');
  net.compromiseNode('exchange');
  net.run();
  const s = net.summary(0);
  const app = (id: string) => s.apps.find((a) => a.id === id)!;
  const bank = app('bank'); // hq → exchange: both ends compromised
  assert.ok(bank.served_bits > 0);
  assert.deepEqual(bank.keys_exposed_by_cause, { relay_node: 0, endpoint: bank.served_bits });
  const records = app('records'); // relayed through hq or exchange, both compromised; ML-KEM part intact
  assert.equal(records.keys_exposed_bits, 0);
  assert.equal(records.hybrid_relay_exposed_bits, records.served_bits);
  assert.equal(s.hybrid_relay_exposed_bits, records.served_bits);
  assert.equal(s.keys_exposed_bits, s.keys_exposed_by_cause.relay_node + s.keys_exposed_by_cause.endpoint);
});

test('route changes are counted with their reason, key scarcity included', () => {
  // Demand far above the finite-key rates: routes move as pools empty and refill.
  const heavy = parseScenario(
    readFileSync('scenarios/metro-demo.yaml', 'utf8').replace(
      /rate_bps: (\d+)/g,
      (_, r) => `rate_bps: ${8 * Number(r)}`,
    ),
  );
  const net = new NetworkSimulation(heavy, { seed: 2, durationS: 3 * 3600, materializeKeys: false });
  let events = 0;
  net.subscribe((e) => {
    if (e.type === 'reroute') events++;
  });
  net.scheduleEvent({ atS: 3600, kind: 'fail', target: 'hq-dcn' });
  net.scheduleEvent({ atS: 7200, kind: 'restore', target: 'hq-dcn' });
  net.run();
  const s = net.summary(0);
  assert.ok(s.route_changes['key-exhausted'] > 0, JSON.stringify(s.route_changes));
  assert.ok(s.route_changes['key-replenished'] > 0, JSON.stringify(s.route_changes));
  const total = Object.entries(s.route_changes).reduce((t, [k, v]) => (k === 'total' ? t : t + v), 0);
  assert.equal(s.route_changes.total, total);
  assert.equal(s.reroutes, total);
  assert.equal(events, total, 'one reroute event per counted change');
  assert.ok(s.served_fraction_qkd < s.served_fraction, 'overload: some demand served post-quantum');
  assert.ok(s.links.some((l) => l.utilisation > 0.9));
});
