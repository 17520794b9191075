import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario, type Scenario } from './scenario.ts';
import { shortestPath } from './paths.ts';
import { NetworkSimulation } from './simulation.ts';

/**
 * Resilience requirement of the network simulator: in the mesh scenarios, cutting any one link keeps ≥ 95% of the demand served
 * — and we hold the stricter line that it stays served by QKD (pqc fallback does not count), with no
 * plaintext. The cut happens after 1 h and lasts until the end of a 12 h run (accounting mode: same
 * pools, routes and provenance as byte mode, fewer CPU cycles; byte mode is covered by the fast tests).
 */
/** True if removing link `cut` leaves some application's endpoints unjoined (no routing can help then). */
function isBridge(s: Scenario, cut: string): boolean {
  const index = new Map(s.nodes.map((n, i) => [n.id, i]));
  const adjacency: [number, number][][] = s.nodes.map(() => []);
  s.links.forEach((l, li) => {
    if (l.id === cut) return;
    adjacency[index.get(l.from)!]!.push([li, index.get(l.to)!]);
    adjacency[index.get(l.to)!]!.push([li, index.get(l.from)!]);
  });
  const g = { nodeCount: s.nodes.length, adjacency };
  return s.apps.some((a) => !shortestPath(g, index.get(a.from)!, index.get(a.to)!, () => 1));
}

for (const name of ['metro-demo', 'secoqc-vienna-2008', 'madrid-cvqkd']) {
  test(`${name}: cutting any one link that is not a bridge keeps ≥ 95% of demand served by QKD`, () => {
    const scenario = loadScenario(`scenarios/${name}.yaml`);
    // SECOQC's St. Pölten hangs on one fiber (BREI-STP, the published topology): its cut is a bridge.
    const bridges = scenario.links.filter((l) => isBridge(scenario, l.id)).map((l) => l.id);
    assert.deepEqual(bridges, name === 'secoqc-vienna-2008' ? ['BREI-STP'] : []);
    for (const link of scenario.links.filter((l) => !bridges.includes(l.id))) {
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
