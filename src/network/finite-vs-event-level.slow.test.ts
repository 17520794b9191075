import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from './scenario.ts';
import { NetworkSimulation } from './simulation.ts';

/**
 * The `finite` rate model claims to be what the event-level pipeline delivers. Metro-demo for 1 h: every
 * link filled by real blocks (1e9 pulses = 500 s at 2 MHz, 7 blocks each) simulated by the link engine and
 * distilled by the post-processing pipeline, against the finite-key rate × the time those blocks stand for.
 */
test('finite-key link rates are within 10% of the event-level pipeline on metro-demo for 1 h', () => {
  const scenario = loadScenario('scenarios/metro-demo.yaml');
  const net = new NetworkSimulation(scenario, {
    seed: 1,
    durationS: 3600,
    eventLevel: true,
    materializeKeys: false,
  });
  net.run();
  const s = net.summary(0);
  let model = 0;
  let event = 0;
  for (const l of s.links) {
    const link = scenario.links.find((x) => x.id === l.id)!;
    assert.equal(link.rateModel, 'finite');
    assert.equal(l.source, 'event-level');
    assert.equal(l.event_blocks, 7);
    const expected =
      link.finiteRateBps! * l.event_blocks! * (link.eventPulses / link.params!.repetitionRateHz);
    const ratio = l.generated_bits / expected;
    assert.ok(
      Math.abs(ratio - 1) < 0.1,
      `${l.id}: event-level ${l.generated_bits} bits, finite model ${expected.toFixed(0)} (×${ratio.toFixed(3)})`,
    );
    model += expected;
    event += l.generated_bits;
  }
  assert.ok(Math.abs(event / model - 1) < 0.1, `network: ×${(event / model).toFixed(3)}`);
});
