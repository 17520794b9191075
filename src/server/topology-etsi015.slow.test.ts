/**
 * `qkdnet up --topology etsi015` over real sockets: six KMEs of the metro demo serve their ETSI GS QKD 015
 * data over RESTCONF with mutual TLS; the controller reads them with the fleet's sdn certificate, builds
 * the same nine links as the file, and its router gives every application the same paths.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, NetworkSimulation, type Scenario } from '../network/index.ts';
import { startKmeFleet } from './kme-fleet.ts';
import { scenarioSdnState } from './sdn-state.ts';
import { topologyFromKmes } from './topology-etsi015.ts';

const METRO = join(import.meta.dirname, '../../scenarios/metro-demo.yaml');
const root = mkdtempSync(join(tmpdir(), 'qkdnet-etsi015-'));
after(() => rmSync(root, { recursive: true, force: true }));

function routes(scenario: Scenario, untilS: number): Record<string, string[][] | null> {
  const sim = new NetworkSimulation(scenario, { seed: 7, durationS: untilS });
  sim.run(untilS);
  const out: Record<string, string[][] | null> = {};
  for (const a of sim.snapshot().apps) out[a.id] = a.route ? a.route.paths.map((p) => [...p]) : null;
  return out;
}
const pairs = (s: Scenario) => s.links.map((l) => [l.from, l.to].sort().join('–')).sort();

test('over mutual TLS the controller reads six KMEs and builds the same metro network', async () => {
  const file = loadScenario(METRO);
  const neighbours = new Map(file.nodes.map((n) => [n.id, [] as string[]]));
  for (const l of file.links) {
    neighbours.get(l.from)!.push(l.to);
    neighbours.get(l.to)!.push(l.from);
  }
  const fleet = await startKmeFleet(
    file.nodes.map((n) => ({
      id: n.id,
      neighbours: neighbours.get(n.id)!,
      sdn: () => scenarioSdnState(file, n.id),
    })),
    join(root, 'fleet'),
    'silent',
  );
  try {
    const { scenario, warnings, sources } = await topologyFromKmes(file, fleet);
    assert.equal(sources.length, 6);
    assert.deepEqual(warnings, []);
    assert.deepEqual(pairs(scenario), pairs(file));
    assert.deepEqual(routes(scenario, 120), routes(file, 120));
  } finally {
    await fleet.close();
  }
});
