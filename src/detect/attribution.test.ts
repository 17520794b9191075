import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRng } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import { DEFAULT_INTENSITIES } from '../qkd/index.ts';
import { attribute, evidenceOf, sideOf } from './attribution.ts';
import type { Finding } from './finding.ts';
import { modelFromParams, modelFromTelemetry } from './model.ts';
import { QuantumDetectors } from './quantum-detectors.ts';
import { syntheticTelemetry, type Distortion } from './synthetic.ts';

const f = (kind: string, statistic: string, side: 'above' | 'below'): Finding => ({
  kind,
  statistic,
  value: side === 'above' ? 2 : 0.5,
  threshold: 1,
  side,
  window: 'block 1',
  pValue: 1e-6,
  action: 'quarantine-link',
  message: 'm',
});

// The signatures measured with the link engine's attacks (docs/detection.md), as the detectors report them.
const SIGNATURES: [string, Finding[]][] = [
  ['intercept-resend', [f('qber-high', 'qber[signal,Z]', 'above'), f('qber-cusum', 'cusum-llr[Z]', 'above')]],
  [
    'pns',
    [
      f('double-click-rate', 'double-clicks-per-detection', 'above'),
      f('click-rate-drop', 'detections-per-pulse', 'below'),
      f('decoy-inconsistent', 'gain[decoy,Z]', 'below'),
    ],
  ],
  [
    'blinding',
    [
      f('double-click-rate', 'double-clicks-per-detection', 'below'),
      f('qber-too-low', 'qber[signal,Z]', 'below'),
      f('decoy-inconsistent', 'gain[decoy,X]', 'above'),
      f('decoy-inconsistent', 'gain[signal,Z]', 'below'),
    ],
  ],
  [
    'time-shift',
    [
      f('click-rate-drop', 'detections-per-pulse', 'below'),
      f('decoy-inconsistent', 'gain[signal,Z]', 'below'),
      f('decoy-inconsistent', 'gain[decoy,Z]', 'below'),
    ],
  ],
  ['trojan-horse', [f('trojan-horse', 'monitor-power-w', 'above')]],
  [
    'jamming',
    [
      f('jamming', 'detections-per-pulse', 'above'),
      f('double-click-rate', 'double-clicks-per-detection', 'above'),
      f('qber-high', 'qber[signal,Z]', 'above'),
      f('qber-sprt', 'sprt-llr[Z]', 'above'),
      f('qber-cusum', 'cusum-llr[Z]', 'above'),
    ],
  ],
  [
    'fiber-cut',
    [
      f('fiber-cut', 'detections-per-pulse', 'below'),
      f('decoy-inconsistent', 'gain[signal,Z]', 'below'),
      f('qber-high', 'qber[signal,Z]', 'above'),
    ],
  ],
  ['unknown-anomaly', [f('anomaly', 'isolation-forest-score', 'above')]],
];

for (const [attack, findings] of SIGNATURES)
  test(`the ${attack} signature is attributed to ${attack}`, () => {
    assert.equal(attribute(findings)?.attack, attack);
  });

test('a statistic firing in many classes and bases counts once: six QBER alarms do not outweigh a monitor alarm', () => {
  const qber = ['signal', 'decoy'].flatMap((c) =>
    ['Z', 'X'].map((b) => f('qber-high', `qber[${c},${b}]`, 'above')),
  );
  assert.equal(attribute([...qber, f('trojan-horse', 'monitor-power-w', 'above')])?.attack, 'trojan-horse');
});

test('PNS and blinding differ by the side of the double-click limit, and nothing fired is no attribution', () => {
  assert.equal(attribute([f('double-click-rate', 'double-clicks-per-detection', 'above')])?.attack, 'pns');
  assert.equal(
    attribute([f('double-click-rate', 'double-clicks-per-detection', 'below')])?.attack,
    'blinding',
  );
  assert.equal(attribute([]), undefined);
});

test('evidence reads "value, below its lower limit", never a bare ≤ that reads as within', () => {
  const e = evidenceOf({
    ...f('double-click-rate', 'double-clicks-per-detection', 'below'),
    value: 6.1e-4,
    threshold: 6.61e-4,
    pValue: 6.4e-6,
  });
  assert.equal(
    e.text,
    'double-clicks-per-detection = 6.100e-4, below its lower limit 6.610e-4 (p = 6.40e-6)',
  );
});

// Property over random telemetry: every finding the detectors raise names a limit its value actually crossed,
// on the side it names. Blocks are drawn from the GYS model at 25 km with random distortions of every kind.
const gys = PRESETS.gys!.params;
const analytic = modelFromParams(gys, 25);
const model = modelFromTelemetry(
  Array.from({ length: 100 }, (_, i) =>
    syntheticTelemetry(
      analytic,
      { linkId: 'l', blockId: i, pulses: 4e7, monitor: { mean: 1e-9, sd: 1e-11 } },
      createRng(`cal:${i}`),
    ),
  ),
  DEFAULT_INTENSITIES,
);
test('every finding names a limit its value crossed, on the side it names (property over random telemetry)', () => {
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.integer({ min: 0, max: 1e9 }),
        decoyGain: fc.double({ min: 0.5, max: 1.5, noNaN: true }),
        signalGain: fc.double({ min: 0.5, max: 1.5, noNaN: true }),
        qberShift: fc.double({ min: -0.01, max: 0.05, noNaN: true }),
        qberFactor: fc.double({ min: 0, max: 2, noNaN: true }),
        doubleClickFactor: fc.double({ min: 0, max: 3, noNaN: true }),
        siftFactor: fc.double({ min: 0.8, max: 1.2, noNaN: true }),
        monitor: fc.double({ min: 0.9e-9, max: 1.2e-9, noNaN: true }),
      }),
      (r) => {
        const distortion: Distortion = {
          gain: { signal: r.signalGain, decoy: r.decoyGain },
          qberShift: Math.max(0, r.qberShift),
          qberFactor: r.qberFactor,
          doubleClickFactor: r.doubleClickFactor,
          siftFactor: r.siftFactor,
          monitorPowerW: r.monitor,
        };
        const det = new QuantumDetectors(model);
        const rng = createRng(`prop:${r.seed}`);
        for (let b = 0; b < 3; b++) {
          const s = syntheticTelemetry(model, { linkId: 'l', blockId: b, pulses: 4e7, distortion }, rng);
          for (const x of det.observe(s)) {
            const side = sideOf(x);
            if (side === 'above' ? !(x.value >= x.threshold) : !(x.value <= x.threshold)) return false;
            if (x.side === undefined) return false; // every quantum detector declares its side
          }
        }
        return true;
      },
    ),
    { numRuns: 150, seed: 15 },
  );
});
