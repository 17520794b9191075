/**
 * Synthetic telemetry drawn from a calibrated model — the fixture for detector tests and the
 * calibration math, independent of the link engine. Counts follow the binomial model the detectors assume
 * (sent per class and basis, then detected, sifted and errored), with optional multiplicative distortions
 * that mimic an attack's footprint.

 */
import { sampleBinomial as binomial, type BasisName, type Rng, type TelemetrySample } from './deps.ts';
import type { CalibratedModel } from './model.ts';

/** Multiplicative distortions of the model's probabilities (1 = none), to imitate an attack. */
export interface Distortion {
  /** Per class name: factor on the gain Q. */
  readonly gain?: Readonly<Record<string, number>>;
  /** Absolute QBER added to classes with μ > 0 (or every class when μ is unknown). */
  readonly qberShift?: number;
  /** Factor on the QBER of every class (0 imitates faked states). */
  readonly qberFactor?: number;
  readonly doubleClickFactor?: number;
  /** Factor on the sifted share (blinding makes Bob click only in Eve's basis). */
  readonly siftFactor?: number;
  readonly monitorPowerW?: number;
  /** Extra clicks per pulse in every class, random in basis and bit (background light: jamming). */
  readonly background?: number;
}

/** Options of a synthetic block. */
export interface SyntheticBlock {
  readonly linkId: string;
  readonly blockId: number;
  readonly pulses: number;
  readonly repetitionRateHz?: number;
  /** Monitor-photodiode reading of the attack-free source: mean and sd, W. */
  readonly monitor?: { readonly mean: number; readonly sd: number };
  readonly distortion?: Distortion;
}

const BASES: readonly BasisName[] = ['Z', 'X'];
const draw = (rng: Rng, n: number, p: number) => binomial(n, Math.max(0, Math.min(1, p)), rng);

/** Draws one block of telemetry from `model`. */
export function syntheticTelemetry(model: CalibratedModel, o: SyntheticBlock, rng: Rng): TelemetrySample {
  const d = o.distortion ?? {};
  const counts: Record<
    string,
    Record<BasisName, { sent: number; detected: number; sifted: number; errors: number }>
  > = {};
  let left = o.pulses;
  let leftP = 1;
  let detections = 0;
  for (const c of model.classes) {
    const perBasis = {} as Record<
      BasisName,
      { sent: number; detected: number; sifted: number; errors: number }
    >;
    for (const b of BASES) {
      const share = leftP > 0 ? Math.min(1, c.sentFraction[b] / leftP) : 0;
      const sent = draw(rng, left, share);
      left -= sent;
      leftP -= c.sentFraction[b];
      const lightGain = Math.min(1, c.detectProb[b] * (d.gain?.[c.name] ?? 1));
      const bg = d.background ?? 0;
      const gain = Math.min(1, lightGain + bg);
      const detected = draw(rng, sent, gain);
      const sifted = draw(rng, detected, Math.min(1, c.siftProb[b] * (d.siftFactor ?? 1)));
      const shift = c.mu > 0 || Number.isNaN(c.mu) ? (d.qberShift ?? 0) : 0;
      const lightE = Math.min(0.5, c.errorProb[b] * (d.qberFactor ?? 1) + shift);
      const e = gain > 0 ? (lightGain * lightE + bg * 0.5) / gain : lightE;
      perBasis[b] = { sent, detected, sifted, errors: draw(rng, sifted, e) };
      detections += detected;
    }
    counts[c.name] = perBasis;
  }
  const durationS = o.pulses / (o.repetitionRateHz ?? 1e9);
  const bobZ = draw(rng, detections, 0.5);
  const monitor =
    d.monitorPowerW ?? (o.monitor ? o.monitor.mean + o.monitor.sd * rng.nextGaussian() : undefined);
  return {
    linkId: o.linkId,
    timeNs: Math.round(o.blockId * durationS * 1e9),
    blockId: o.blockId,
    pulses: o.pulses,
    detections,
    doubleClicks: draw(rng, detections, Math.min(1, model.doubleClickProb * (d.doubleClickFactor ?? 1))),
    counts,
    detectionRateHz: detections / durationS,
    detectionRateByBobBasis: { Z: bobZ / o.pulses, X: (detections - bobZ) / o.pulses },
    blockDurationS: durationS,
    ...(monitor !== undefined ? { monitorPowerW: monitor } : {}),
  };
}
