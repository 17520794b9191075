import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from './scenario.ts';
import { NetworkSimulation } from './simulation.ts';
import type { NetworkEvent } from './types.ts';

const metro = loadScenario('scenarios/metro-demo.yaml');
// Multipath keys through a compromised node stay secret: src/network/simulation.test.ts checks it per key.

function routeOf(net: NetworkSimulation, app: string): string[][] {
  return (
    net
      .snapshot()
      .apps.find((a) => a.id === app)!
      .route?.paths.map((p) => [...p]) ?? []
  );
}

test('a compromised node is found at its next attestation heartbeat, named in a critical alert and routed around', () => {
  const net = new NetworkSimulation(metro, { seed: 3, durationS: 7200, attestationIntervalS: 60 });
  const events: NetworkEvent[] = [];
  net.subscribe((e) => events.push(e));
  net.run(600);
  // bank (hq→exchange) is relayed through one data centre; compromise that one. Both data centres are
  // ends of records, so the alert must name records.
  const bankRoute = routeOf(net, 'bank');
  assert.equal(bankRoute.length, 1);
  const mid = bankRoute[0]![1]!;
  assert.ok(mid === 'dc-north' || mid === 'dc-south', bankRoute.join());
  net.scheduleEvent({ atS: 605, kind: 'compromise', target: mid });
  net.run(659);
  // Silent so far: no alert, the node reads bank's keys.
  assert.ok(!net.alerts().some((a) => a.kind === 'node-compromised'));
  const early = net.summary(0).compromised_nodes;
  assert.equal(early.length, 1);
  assert.equal(early[0]!.known_at_s, null);
  assert.ok(early[0]!.keys_exposed_bits > 0);
  net.run(3600);
  const alert = net.alerts().find((a) => a.kind === 'node-compromised')!;
  assert.equal(alert.severity, 'critical');
  assert.equal(alert.nodeId, mid);
  assert.equal(alert.timeNs, 660e9);
  assert.match(alert.message, new RegExp(mid));
  assert.match(alert.message, /records/); // the app with an end at the node stays exposed, and is named
  // Routes avoid it: bank is relayed another way; the multipath app keeps both shares, one avoiding it.
  assert.ok(!routeOf(net, 'bank')[0]!.includes(mid));
  const ipsec = net.snapshot().apps.find((a) => a.id === 'ipsec-branches')!;
  assert.equal(ipsec.route!.provenance, 'qkd-multipath');
  const [c] = net.summary(0).compromised_nodes;
  assert.equal(c!.id, mid);
  assert.equal(c!.at_s, 605);
  assert.equal(c!.known_at_s, 660);
  assert.equal(c!.known_by, 'attestation');
  assert.ok(!c!.applications.includes('ipsec-branches'), 'multipath keys stay secret: 0 exposed');
  assert.ok(c!.applications.includes('bank'));
  // After detection only the app ending at the node adds exposure: bank's keys no longer pass it.
  const bankKeysAfter = net
    .snapshot()
    .recentKeys.filter((k) => k.appId === 'bank' && k.timeS > 660)
    .map((k) => k.exposed);
  assert.ok(bankKeysAfter.length > 0 && bankKeysAfter.every((x) => !x));
  assert.ok(events.some((e) => e.type === 'reroute' && e.appId === 'bank'));
});

test('restoring the node raises one info alert, clears its mark and stops the exposure', () => {
  const net = new NetworkSimulation(metro, { seed: 3, durationS: 7200, attestationIntervalS: 60 });
  net.scheduleEvent({ atS: 605, kind: 'compromise', target: 'dc-south' });
  net.scheduleEvent({ atS: 1800, kind: 'restore-node', target: 'dc-south' });
  net.run(1790);
  const exposedBefore = net.summary(0).compromised_nodes[0]!.keys_exposed_bits;
  net.run(7200);
  const restored = net.alerts().filter((a) => a.kind === 'node-restored');
  assert.equal(restored.length, 1);
  assert.equal(restored[0]!.severity, 'info');
  const [c] = net.summary(0).compromised_nodes;
  assert.equal(c!.restored_at_s, 1800);
  assert.ok(c!.keys_exposed_bits - exposedBefore <= 256 * 10 * 2, 'no exposure after the restore');
  const node = net.snapshot().nodes.find((n) => n.id === 'dc-south')!;
  assert.equal(node.compromised, false);
  assert.equal(node.compromiseKnown, false);
});

test('without attestation only an operator declaration makes a compromise known', () => {
  const net = new NetworkSimulation(metro, { seed: 3, durationS: 3600, attestationIntervalS: 0 });
  net.scheduleEvent({ atS: 100, kind: 'compromise', target: 'dc-south' });
  net.scheduleEvent({ atS: 2000, kind: 'declare', target: 'dc-south' });
  net.run(1999);
  assert.ok(!net.alerts().some((a) => a.kind === 'node-compromised'));
  net.run(3600);
  const [c] = net.summary(0).compromised_nodes;
  assert.equal(c!.known_at_s, 2000);
  assert.equal(c!.known_by, 'operator');
  assert.equal(net.alerts().filter((a) => a.kind === 'node-compromised').length, 1);
});
