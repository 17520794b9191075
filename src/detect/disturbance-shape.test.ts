import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import { attribute } from './attribution.ts';
import { DisturbanceShape } from './disturbance-shape.ts';
import type { Finding } from './finding.ts';
import { modelFromParams } from './model.ts';
import { syntheticTelemetry, type Distortion } from './synthetic.ts';

// A GHz link with a biased basis choice (metro preset) at 25 km: signal gain ≈ 3%, vacuum yield 2·10⁻⁵.
const model = modelFromParams(PRESETS.metro!.params, 25);

function llrAfter(distortion: Distortion | undefined, blocks: number, seed: string) {
  const shape = new DisturbanceShape(model);
  const rng = createRng(seed);
  for (let b = 0; b < blocks; b++)
    shape.update(
      syntheticTelemetry(
        model,
        { linkId: 'l', blockId: b, pulses: 5e6, ...(distortion ? { distortion } : {}) },
        rng,
      ),
    );
  return shape.evidence()!;
}

test('background light (extra clicks in every class) is told from resent states (QBER up where light is)', () => {
  for (let i = 0; i < 10; i++) {
    // jamming: 2·10⁻⁵ extra clicks per gate — the vacuum class doubles, the signal QBER moves by 0.03%
    const jam = llrAfter({ background: 2e-5 }, 3, `jam:${i}`);
    assert.equal(jam.side, 'above', `jamming trial ${i}: Λ = ${jam.llr}`);
    // intercept-resend on 2% of pulses: the QBER of every class carrying light rises by ≈ 0.5%
    const ir = llrAfter({ qberShift: 0.005 }, 3, `ir:${i}`);
    assert.equal(ir.side, 'below', `intercept-resend trial ${i}: Λ = ${ir.llr}`);
  }
});

test('attack-free blocks rarely give a decisive shape, and the window forgets old blocks', () => {
  let decisive = 0;
  for (let i = 0; i < 40; i++) if (llrAfter(undefined, 3, `null:${i}`).side) decisive++;
  assert.ok(decisive <= 8, `${decisive} of 40 attack-free windows decisive`);
  const shape = new DisturbanceShape(model, 2);
  const rng = createRng('window');
  const block = (b: number, distortion: Distortion) =>
    syntheticTelemetry(model, { linkId: 'l', blockId: b, pulses: 5e6, distortion }, rng);
  shape.update(block(0, { background: 1e-4 }));
  assert.equal(shape.evidence()?.side, 'above');
  shape.update(block(1, { qberShift: 0.02 }));
  shape.update(block(2, { qberShift: 0.02 }));
  assert.equal(shape.evidence()?.side, 'below');
  assert.equal(shape.evidence()?.blocks, 2);
  shape.reset();
  assert.equal(shape.evidence(), undefined);
});

const qberAlarms: Finding[] = [
  {
    kind: 'qber-high',
    statistic: 'qber[decoy,Z]',
    value: 0.1,
    threshold: 0.09,
    side: 'above',
    window: 'block 3',
    pValue: 1e-6,
    action: 'quarantine-link',
    message: 'm',
  },
  {
    kind: 'qber-cusum',
    statistic: 'cusum-llr[Z]',
    value: 12,
    threshold: 11,
    side: 'above',
    window: 'blocks 1..3',
    pValue: 6e-6,
    action: 'quarantine-link',
    message: 'm',
  },
];

test("a decisive shape gives the QBER detectors' weight to the explanation it favours, with its own evidence line", () => {
  assert.equal(attribute(qberAlarms)?.attack, 'intercept-resend');
  const jam = attribute(qberAlarms, { llr: 9.5, limit: 2, side: 'above', blocks: 3 })!;
  assert.equal(jam.attack, 'jamming');
  const line = jam.evidence.at(-1)!;
  assert.equal(line.detector, 'disturbance-shape');
  assert.ok(line.value > line.limit && line.side === 'above');
  assert.match(line.text, /above its upper limit 2\.000: the QBER rise fits background light \(jamming\)/);
  const ir = attribute(qberAlarms, { llr: -40, limit: 2, side: 'below', blocks: 3 })!;
  assert.equal(ir.attack, 'intercept-resend');
  assert.ok(ir.evidence.at(-1)!.value < ir.evidence.at(-1)!.limit);
  // not decisive, or no QBER detector fired: the shape is not consulted
  assert.equal(attribute(qberAlarms, { llr: 1, limit: 2, blocks: 3 })?.attack, 'intercept-resend');
  const pns: Finding = {
    ...qberAlarms[0]!,
    kind: 'double-click-rate',
    statistic: 'double-clicks-per-detection',
  };
  const a = attribute([pns], { llr: 9.5, limit: 2, side: 'above', blocks: 3 })!;
  assert.equal(a.attack, 'pns');
  assert.equal(a.evidence.length, 1);
});
