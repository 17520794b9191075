import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from './scenario.ts';
import { NetworkSimulation } from './simulation.ts';

/**
 * Resilience requirement of the network simulator: in the mesh scenarios, cutting any one link keeps ≥ 95% of the demand served
 * — and we hold the stricter line that it stays served by QKD (pqc fallback does not count), with no
 * plaintext. The cut happens after 1 h and lasts until the end of a 12 h run (accounting mode: same
 * pools, routes and provenance as byte mode, fewer CPU cycles; byte mode is covered by the fast tests).
 */
for (const name of ['metro-demo', 'secoqc-vienna-2008', 'madrid-cvqkd']) {
  test(`${name}: cutting any one link keeps ≥ 95% of demand served by QKD`, () => {
    const scenario = loadScenario(`scenarios/${name}.yaml`);
    for (const link of scenario.links) {
      const net = new NetworkSimulation(scenario, { seed: 11, durationS: 12 * 3600, materializeKeys: false });
      net.scheduleEvent({ atS: 3600, kind: 'fail', target: link.id });
      net.run();
      const s = net.summary(0);
      const qkdBits = s.served_bits - s.served_by_provenance.pqc;
      assert.equal(s.plaintext_bits, 0);
      assert.ok(qkdBits / s.demand_bits >= 0.95, `${name} without ${link.id}: ${qkdBits / s.demand_bits}`);
    }
  });
}
