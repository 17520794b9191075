/**
 * Synthetic telemetry drawn from a calibrated model — the fixture for detector tests and the
 * calibration math, independent of the link engine. Counts follow the binomial model the detectors assume
 * (sent per class and basis, then detected, sifted and errored), with optional multiplicative distortions
 * that mimic an attack's footprint.
 *
 * Binomial variates: inversion for means below 10, otherwise W. Hörmann's BTRS transformed rejection
 * ("The generation of binomial random variates", J. Stat. Comput. Simul. 46, 101, 1993) — exact, O(1).
 */
import type { BasisName, Rng, TelemetrySample } from './deps.ts';
import type { CalibratedModel } from './model.ts';
import { logGamma } from './stats.ts';

/** One Binomial(n, p) variate. */
export function sampleBinomial(rng: Rng, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - sampleBinomial(rng, n, 1 - p);
  if (n * p < 10) return inversion(rng, n, p);
  return btrs(rng, n, p);
}

function inversion(rng: Rng, n: number, p: number): number {
  const q = 1 - p;
  const odds = p / q;
  let pmf = Math.exp(n * Math.log1p(-p));
  let u = rng.nextFloat();
  for (let k = 0; k <= n; k++) {
    if (u < pmf) return k;
    u -= pmf;
    pmf *= ((n - k) / (k + 1)) * odds;
    if (pmf === 0) return k;
  }
  return n;
}

function btrs(rng: Rng, n: number, p: number): number {
  const q = 1 - p;
  const spq = Math.sqrt(n * p * q);
  const b = 1.15 + 2.53 * spq;
  const a = -0.0873 + 0.0248 * b + 0.01 * p;
  const c = n * p + 0.5;
  const vr = 0.92 - 4.2 / b;
  const alpha = (2.83 + 5.1 / b) * spq;
  const lpq = Math.log(p / q);
  const m = Math.floor((n + 1) * p);
  const h = logGamma(m + 1) + logGamma(n - m + 1);
  for (;;) {
    const u = rng.nextFloat() - 0.5;
    let v = rng.nextOpenFloat();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + c);
    if (k < 0 || k > n) continue;
    if (us >= 0.07 && v <= vr) return k;
    v = Math.log((v * alpha) / (a / (us * us) + b));
    if (v <= h - logGamma(k + 1) - logGamma(n - k + 1) + (k - m) * lpq) return k;
  }
}

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
      const sent = sampleBinomial(rng, left, share);
      left -= sent;
      leftP -= c.sentFraction[b];
      const gain = Math.min(1, c.detectProb[b] * (d.gain?.[c.name] ?? 1));
      const detected = sampleBinomial(rng, sent, gain);
      const sifted = sampleBinomial(rng, detected, Math.min(1, c.siftProb[b] * (d.siftFactor ?? 1)));
      const shift = c.mu > 0 || Number.isNaN(c.mu) ? (d.qberShift ?? 0) : 0;
      const e = Math.min(0.5, c.errorProb[b] * (d.qberFactor ?? 1) + shift);
      perBasis[b] = { sent, detected, sifted, errors: sampleBinomial(rng, sifted, e) };
      detections += detected;
    }
    counts[c.name] = perBasis;
  }
  const durationS = o.pulses / (o.repetitionRateHz ?? 1e9);
  const bobZ = sampleBinomial(rng, detections, 0.5);
  const monitor =
    d.monitorPowerW ?? (o.monitor ? o.monitor.mean + o.monitor.sd * rng.nextGaussian() : undefined);
  return {
    linkId: o.linkId,
    timeNs: Math.round(o.blockId * durationS * 1e9),
    blockId: o.blockId,
    pulses: o.pulses,
    detections,
    doubleClicks: sampleBinomial(
      rng,
      detections,
      Math.min(1, model.doubleClickProb * (d.doubleClickFactor ?? 1)),
    ),
    counts,
    detectionRateHz: detections / durationS,
    detectionRateByBobBasis: { Z: bobZ / o.pulses, X: (detections - bobZ) / o.pulses },
    blockDurationS: durationS,
    ...(monitor !== undefined ? { monitorPowerW: monitor } : {}),
  };
}
