/**
 * What the `--topology etsi015` tests (./topology-etsi015.test.ts without sockets,
 * ./topology-etsi015.slow.test.ts over mutual TLS) compare between the network a controller built from
 * ETSI GS QKD 015 data and the scenario file: the links as pairs of ends, and every application's paths.
 */
import { join } from 'node:path';
import { NetworkSimulation, type Scenario } from '../network/index.ts';

/** The metro demo scenario file. */
export const METRO = join(import.meta.dirname, '../../scenarios/metro-demo.yaml');

/** Each application's paths (node ids) after `untilS` simulated seconds under `scenario`. */
export function routes(scenario: Scenario, untilS: number): Record<string, string[][] | null> {
  const sim = new NetworkSimulation(scenario, { seed: 7, durationS: untilS });
  sim.run(untilS);
  const out: Record<string, string[][] | null> = {};
  for (const a of sim.snapshot().apps) out[a.id] = a.route ? a.route.paths.map((p) => [...p]) : null;
  return out;
}

/** The topology with a controller's eyes: each link as its sorted pair of ends. */
export const pairs = (s: Scenario) => s.links.map((l) => [l.from, l.to].sort().join('–')).sort();
