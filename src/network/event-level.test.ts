import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario, withEventLevel } from './scenario.ts';
import { NetworkSimulation } from './simulation.ts';
import { EventKeyStore } from './event-level.ts';
import { simulatedKeySource } from './key-material.ts';
import { TWO_NODES } from './event-level.fixture.ts';

const scenario = parseScenario(TWO_NODES);
const HOUR_S = 3600;

test('intercept-resend on an event-level link: post-processing refuses its blocks, nothing generated after', () => {
  const net = new NetworkSimulation(scenario, { seed: 2, durationS: HOUR_S });
  net.run(1200); // two honest blocks
  const before = net.summary(0).links[0]!;
  assert.ok(before.generated_bits > 0);
  net.injectAttack('ab', { kind: 'intercept-resend', param: 1 });
  net.run();
  const after = net.summary(0).links[0]!;
  assert.equal(after.generated_bits, before.generated_bits, 'no bits after the attack started');
  assert.equal(
    after.event_blocks_failed! - before.event_blocks_failed!,
    1,
    'one refused block, then quarantine',
  );
  assert.equal(
    Object.values(after.event_failures!).reduce((a, b) => a + b, 0),
    after.event_blocks_failed,
  );
  const kinds = net.alerts().map((a) => a.kind);
  assert.ok(kinds.includes('attack-suspected') && kinds.includes('link-quarantined'), kinds.join());
  assert.equal(net.snapshot().links[0]!.state, 'quarantined');
});

test('accounting mode gives the same pool figures as materialised keys', () => {
  const run = (materializeKeys: boolean) => {
    const net = new NetworkSimulation(scenario, { seed: 9, durationS: 1000, materializeKeys });
    net.run();
    return net.summary(0).links;
  };
  assert.deepEqual(run(false), run(true));
});

test('--event-level switches BB84 fiber links with a preset; measured and satellite links stay on the model', () => {
  const s = parseScenario(
    TWO_NODES.replace('source: event-level, ', '').replace(
      'links:\n',
      'links:\n  - { id: m, from: a, to: b, rate_bps: 5 }\n' +
        '  - { id: sat, from: a, to: b, length_km: 10, passes: { first: 0, period: 1h, duration: 5m } }\n',
    ),
  );
  assert.deepEqual(
    s.links.map((l) => l.source),
    ['model', 'model', 'model'],
  );
  const e = withEventLevel(s);
  assert.deepEqual(
    e.links.map((l) => [l.id, l.source]),
    [
      ['m', 'model'],
      ['sat', 'model'],
      ['ab', 'event-level'],
    ],
  );
  assert.throws(
    () => parseScenario(TWO_NODES.replace('length_km: 10', 'rate_bps: 100')),
    /cannot be source: event-level: it has a measured rate_bps/,
  );
});

test('the event key store returns pool-ordered bytes: initial fill, then appended blocks; consumed bytes go', () => {
  const initial = simulatedKeySource('1', 'x');
  const store = new EventKeyStore(initial, 4);
  store.append(new Uint8Array([1, 2, 3]));
  store.append(new Uint8Array([4, 5]));
  assert.deepEqual([...store.read(2, 5)], [...initial.read(2, 2), 1, 2, 3]);
  assert.deepEqual([...store.read(7, 2)], [4, 5]);
  assert.equal(store.heldBytes, 2);
  assert.throws(() => store.read(4, 1), /already consumed/);
  store.flush();
  assert.equal(store.heldBytes, 0);
});
