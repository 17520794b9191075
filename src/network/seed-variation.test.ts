import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseScenario } from './scenario.ts';
import { NetworkSimulation } from './simulation.ts';

// Which models the seed drives (docs/network.md, "Variation"):
//   stochastic — Poisson demand (sim-serve.ts), fiber drift and re-alignment outages (fiber-drift.ts), satellite
//                pass geometry (pass-geometry.ts), cloud cover (cloud-cover.ts), event-level blocks;
//   deterministic — constant demand, model link rates with `variation: false`, pass schedules, scheduled events.
const metro = readFileSync('scenarios/metro-demo.yaml', 'utf8');
const micius = readFileSync('scenarios/micius-satellite.yaml', 'utf8');
const constant = (t: string) => t.replace(/^defaults:\n/m, 'defaults:\n  demand: constant\n');
const fixed = (t: string) => constant(t).replace(/^defaults:\n/m, 'defaults:\n  variation: false\n');
const run = (scenarioText: string, seed: number, durationS = 3 * 3600) => {
  const net = new NetworkSimulation(parseScenario(scenarioText), { seed, durationS, materializeKeys: false });
  net.run();
  return net.summary(0);
};
const generated = (s: ReturnType<typeof run>) => s.links.map((l) => l.generated_bits);

test('stochastic: Poisson demand (the default) differs between seeds and repeats per seed', () => {
  const a = run(metro, 1);
  const b = run(metro, 2);
  assert.notEqual(a.demand_bits, b.demand_bits);
  assert.deepEqual(run(metro, 1).apps, a.apps);
  const demandMean = a.apps.reduce((s, x) => s + x.demand_bits, 0) / a.duration_s;
  const rated = parseScenario(metro).apps.reduce((s, x) => s + x.rateBps, 0);
  // The mean holds: within 2% of the apps' rated demand over 3 h.
  assert.ok(Math.abs(demandMean - rated) / rated < 0.02, `${demandMean} vs ${rated}`);
});

test('stochastic: fiber drift changes what each link generates between seeds (constant demand); same seed, same bits', () => {
  const a = run(constant(metro), 1);
  const b = run(constant(metro), 2);
  assert.equal(a.demand_bits, b.demand_bits);
  assert.notDeepEqual(generated(a), generated(b));
  assert.deepEqual(generated(run(constant(metro), 1)), generated(a));
  // Drift only lowers the rate (QBER above its aligned value), never raises it.
  const nominal = run(fixed(metro), 1);
  a.links.forEach((l, i) => assert.ok(l.generated_bits <= nominal.links[i]!.generated_bits + 8, l.id));
});

test('stochastic: pass geometry and cloud cover change what a satellite link generates between seeds', () => {
  const a = run(constant(micius), 1, 3 * 86400);
  const b = run(constant(micius), 2, 3 * 86400);
  const sat = (s: ReturnType<typeof run>) =>
    s.links.filter((l) => l.id.includes('micius') || l.id.includes('sat')).map((l) => l.generated_bits);
  assert.ok(sat(a).length > 0);
  assert.notDeepEqual(sat(a), sat(b));
});

test('deterministic: constant demand with variation: false gives identical results for every seed', () => {
  for (const [text, durationS] of [
    [metro, 3600],
    [micius, 86400],
  ] as const) {
    const a = run(fixed(text), 1, durationS);
    const b = run(fixed(text), 2, durationS);
    assert.equal(a.demand_bits, b.demand_bits);
    assert.deepEqual(generated(a), generated(b));
    assert.deepEqual({ ...a, elapsed_ms: 0 }, { ...b, elapsed_ms: 0 });
    assert.ok(a.links.every((l) => l.outage_s === 0));
  }
});
