import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseScenario } from './scenario.ts';
import { NetworkSimulation } from './simulation.ts';

const text = readFileSync('scenarios/metro-demo.yaml', 'utf8');
const run = (scenarioText: string, seed: number) => {
  const net = new NetworkSimulation(parseScenario(scenarioText), {
    seed,
    durationS: 3 * 3600,
    materializeKeys: false,
  });
  net.run();
  return net.summary(0);
};

test('stochastic model: Poisson demand (the default) differs between seeds and repeats per seed', () => {
  const a = run(text, 1);
  const b = run(text, 2);
  assert.notEqual(a.demand_bits, b.demand_bits);
  assert.deepEqual(run(text, 1).apps, a.apps);
  // The mean holds: 3 h of 448 bit/s in total, within a few standard deviations of the Poisson counts.
  const mean = 448 * 3 * 3600;
  assert.ok(Math.abs(a.demand_bits - mean) / mean < 0.02, `${a.demand_bits} vs ${mean}`);
});

test('deterministic models: constant demand and model link rates give identical results for every seed', () => {
  const constant = text.replace('  pqc_rekey: 1h', '  pqc_rekey: 1h\n  demand: constant');
  const a = run(constant, 1);
  const b = run(constant, 2);
  assert.equal(a.demand_bits, b.demand_bits);
  assert.deepEqual(
    a.links.map((l) => l.generated_bits),
    b.links.map((l) => l.generated_bits),
  );
  assert.deepEqual({ ...a, elapsed_ms: 0 }, { ...b, elapsed_ms: 0 });
});
