/**
 * The calibrated model of a link: the probabilities every detector compares a block against.
 *
 * Two ways to build it. `modelFromParams` is the analytic decoy-state model of X. Ma, B. Qi, Y. Zhao,
 * H.-K. Lo, PRA 72, 012326 (2005), eqs. (5)–(6): per pulse of intensity μ the gain is
 * Q_μ = Y₀ + 1 − e^{−ημ} and the error gain E_μQ_μ = e₀Y₀ + e_d(1 − e^{−ημ}), with η = η_Bob·η_ch and
 * e₀ = ½. `modelFromTelemetry` pools attack-free calibration blocks of the real link (what an operator
 * does at commissioning): each probability is a ratio of summed counts, so its relative standard error
 * after B blocks is 1/√B of one block's — see docs/detection.md for how that enters the thresholds.
 */
import type { BasisName, IntensityClass, LinkParams, TelemetrySample } from './deps.ts';
import { ENGINE_INTENSITIES, fiberTransmittance, GATE_EDGE_PROBABILITY } from './deps.ts';

/** Probabilities of one intensity class, per Alice basis. */
export interface ClassCalibration {
  readonly name: string;
  readonly mu: number;
  /** Fraction of all pulses sent with this class in Alice's basis b. */
  readonly sentFraction: Readonly<Record<BasisName, number>>;
  /** P(detection | pulse of this class sent in basis b) — the gain Q_μ. */
  readonly detectProb: Readonly<Record<BasisName, number>>;
  /** P(Bob's basis = Alice's | detection). */
  readonly siftProb: Readonly<Record<BasisName, number>>;
  /** P(bit error | sifted) — E_μ. */
  readonly errorProb: Readonly<Record<BasisName, number>>;
}

/** Mean and standard deviation of a continuous statistic over calibration blocks. */
export interface GaussianCalibration {
  readonly mean: number;
  readonly sd: number;
}

/** What the detectors expect of an attack-free block. */
export interface CalibratedModel {
  readonly source: 'analytic' | 'telemetry';
  /** Blocks pooled into the estimates (0 for the analytic model, whose values are exact). */
  readonly calibrationBlocks: number;
  readonly classes: readonly ClassCalibration[];
  /** P(double click | detection). */
  readonly doubleClickProb: number;
  /** Share of detections in Bob's Z basis, rate_Z/(rate_Z + rate_X), across calibration blocks. */
  readonly bobBasisZShare?: GaussianCalibration;
  /** Alice's monitor-photodiode power, W. */
  readonly monitorPowerW?: GaussianCalibration;
  /**
   * Dispersion φ ≥ 1 per statistic (keys as in alerts: `gain[signal,Z]`, `qber[decoy,X]`,
   * `sifted-share[…]`, `detections-per-pulse`, `double-clicks-per-detection`, `bob-basis-z-share`): the
   * variance over calibration blocks in units of the binomial variance. Afterpulses and dead time correlate
   * detections and make counts over-dispersed; the tests then treat a count as binomial with n/φ trials
   * (quasi-binomial). Missing keys mean 1.
   */
  readonly dispersion?: Readonly<Record<string, number>>;
  /** The link has a bright-light watchdog at Bob (its telemetry reports windows and trips). */
  readonly watchdog?: boolean;
  /** The link has a gate-timing monitor: P(a detection is off-centre in the gate), pooled. */
  readonly gateEdgeProb?: number;
}

const BASES: readonly BasisName[] = ['Z', 'X'];

/**
 * The analytic model of a link of `distanceKm` (GYS formulas above); intensities default to the link
 * engine's source (src/qkd DEFAULT_INTENSITIES). Double clicks: dark counts in both
 * detectors, (Y₀/2)², plus a coherent pulse split between the two detectors — with probability e_d per
 * photon in the matched basis, ½ in the other: (1−e^{−ημe})(1−e^{−ημ(1−e)}). Bob's countermeasures
 * (`brightLightWatchdog`, `detectorRandomisation`) enter with their design rates.
 */
export function modelFromParams(
  params: LinkParams,
  distanceKm: number,
  intensities: readonly IntensityClass[] = ENGINE_INTENSITIES,
): CalibratedModel {
  const eta =
    params.detectorEfficiency *
    fiberTransmittance({
      distanceKm,
      attenuationDbPerKm: params.attenuationDbPerKm,
      extraLossDb: params.extraLossDb,
    });
  const y0 = params.darkCountProbability;
  const ed = params.misalignmentError;
  const pz = params.basisBiasZ;
  const bobBasisProb: Record<BasisName, number> = { Z: pz, X: 1 - pz };
  let dcNum = 0;
  let detNum = 0;
  const classes = intensities.map((c) => {
    const signalClick = 1 - Math.exp(-eta * c.mu);
    const q = y0 + signalClick; // Ma et al. 2005 eq. (5), with Y0·e^{-ημ} ≈ Y0 for Y0 ≪ 1
    const e = (0.5 * y0 + ed * signalClick) / q; // eq. (6), e0 = 1/2
    const split = (f: number) => (1 - Math.exp(-eta * c.mu * f)) * (1 - Math.exp(-eta * c.mu * (1 - f)));
    for (const b of BASES) {
      const pBob = bobBasisProb[b];
      const dc = (y0 / 2) ** 2 + pBob * split(ed) + (1 - pBob) * split(0.5);
      const weight = c.probability * (b === 'Z' ? pz : 1 - pz);
      dcNum += weight * dc;
      detNum += weight * q;
    }
    return {
      name: c.name,
      mu: c.mu,
      sentFraction: { Z: c.probability * pz, X: c.probability * (1 - pz) },
      detectProb: { Z: q, X: q },
      siftProb: { Z: pz, X: 1 - pz },
      errorProb: { Z: e, X: e },
    };
  });
  return {
    source: 'analytic',
    calibrationBlocks: 0,
    classes,
    doubleClickProb: dcNum / detNum,
    // Bob's countermeasures, where the link has them (src/qkd bright-light-watchdog.ts, detector-randomisation.ts)
    ...((params.brightLightWatchdog ?? 0) >= 0.5 ? { watchdog: true } : {}),
    ...((params.detectorRandomisation ?? 0) >= 0.5 ? { gateEdgeProb: GATE_EDGE_PROBABILITY } : {}),
  };
}

/**
 * Builds the model by pooling attack-free calibration telemetry (at least 2 blocks with counts);
 * `intensities`, when given, supplies each class's μ (counts carry only the names).
 */
export function modelFromTelemetry(
  samples: readonly TelemetrySample[],
  intensities: readonly IntensityClass[] = [],
): CalibratedModel {
  const withCounts = samples.filter((s) => s.counts !== undefined);
  if (withCounts.length < 2)
    throw new RangeError(`calibration needs ≥ 2 telemetry samples with counts, got ${withCounts.length}`);
  const names = Object.keys(withCounts[0]!.counts!);
  const sum = (f: (s: TelemetrySample) => number) => withCounts.reduce((a, s) => a + f(s), 0);
  const totalPulses = sum((s) => s.pulses ?? 0);
  const classes = names.map((name) => {
    const tot = (b: BasisName, k: 'sent' | 'detected' | 'sifted' | 'errors') =>
      sum((s) => s.counts?.[name]?.[b]?.[k] ?? 0);
    const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
    const per = (f: (b: BasisName) => number) => ({ Z: f('Z'), X: f('X') });
    return {
      name,
      mu: intensities.find((i) => i.name === name)?.mu ?? Number.NaN,
      sentFraction: per((b) => ratio(tot(b, 'sent'), totalPulses)),
      detectProb: per((b) => ratio(tot(b, 'detected'), tot(b, 'sent'))),
      siftProb: per((b) => ratio(tot(b, 'sifted'), tot(b, 'detected'))),
      errorProb: per((b) => ratio(tot(b, 'errors'), tot(b, 'sifted'))),
    };
  });
  const detections = sum((s) => s.detections ?? 0);
  const model: CalibratedModel = {
    source: 'telemetry',
    calibrationBlocks: withCounts.length,
    classes,
    doubleClickProb: detections > 0 ? sum((s) => s.doubleClicks ?? 0) / detections : 0,
    ...optionalGaussian('bobBasisZShare', withCounts.map(bobZShare)),
    ...optionalGaussian(
      'monitorPowerW',
      withCounts.map((s) => s.monitorPowerW),
    ),
    ...(withCounts.every((s) => s.watchdogWindows !== undefined) ? { watchdog: true } : {}),
    ...(withCounts.every((s) => s.gateEdgeDetections !== undefined) && detections > 0
      ? { gateEdgeProb: sum((s) => s.gateEdgeDetections ?? 0) / detections }
      : {}),
  };
  return { ...model, dispersion: estimateDispersion(model, withCounts) };
}

/**
 * φ̂ = mean over blocks of (x − n·p)²/(n·p·(1−p)), kept only when it exceeds 1 by more than 3 standard
 * errors (√(2/B) for B blocks), and then inflated by that margin so the tests stay conservative.
 */
function estimateDispersion(
  model: CalibratedModel,
  blocks: readonly TelemetrySample[],
): Record<string, number> {
  const acc = new Map<string, { sum: number; n: number }>();
  const add = (key: string, x: number, n: number, p: number) => {
    const v = n * p * (1 - p);
    if (!(v > 0)) return;
    const a = acc.get(key) ?? { sum: 0, n: 0 };
    a.sum += (x - n * p) ** 2 / v;
    a.n += 1;
    acc.set(key, a);
  };
  for (const s of blocks) {
    let sent = 0;
    let detected = 0;
    let expected = 0;
    for (const c of model.classes)
      for (const b of BASES) {
        const k = s.counts?.[c.name]?.[b];
        if (!k) continue;
        add(`gain[${c.name},${b}]`, k.detected, k.sent, c.detectProb[b]);
        add(`sifted-share[${c.name},${b}]`, k.sifted, k.detected, c.siftProb[b]);
        add(`qber[${c.name},${b}]`, k.errors, k.sifted, c.errorProb[b]);
        sent += k.sent;
        detected += k.detected;
        expected += k.sent * c.detectProb[b];
      }
    if (sent > 0) add('detections-per-pulse', detected, sent, expected / sent);
    if (s.detections && s.doubleClicks !== undefined)
      add('double-clicks-per-detection', s.doubleClicks, s.detections, model.doubleClickProb);
    const share = bobZShare(s);
    if (share !== undefined && s.detections && model.bobBasisZShare)
      add('bob-basis-z-share', Math.round(share * s.detections), s.detections, model.bobBasisZShare.mean);
  }
  const out: Record<string, number> = {};
  for (const [key, a] of acc) {
    const phi = a.sum / a.n;
    const margin = 3 * Math.sqrt(2 / a.n);
    if (phi > 1 + margin) out[key] = phi * (1 + margin);
  }
  return out;
}

/** rate_Z / (rate_Z + rate_X) of a sample, if it reports detection rates by Bob's basis. */
export function bobZShare(s: TelemetrySample): number | undefined {
  const r = s.detectionRateByBobBasis;
  if (!r || !(r.Z + r.X > 0)) return undefined;
  return r.Z / (r.Z + r.X);
}

function optionalGaussian(
  key: 'bobBasisZShare' | 'monitorPowerW',
  values: readonly (number | undefined)[],
): Partial<Record<typeof key, GaussianCalibration>> {
  const xs = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (xs.length < 2 || xs.length < values.length) return {};
  const mean = xs.reduce((a, v) => a + v, 0) / xs.length;
  const variance = xs.reduce((a, v) => a + (v - mean) ** 2, 0) / (xs.length - 1);
  return { [key]: { mean, sd: Math.sqrt(variance) } };
}

/** Expected sifted bits per pulse sent (both bases), to size blocks: Σ_c,b f_cb·Q_cb·s_cb. */
export function siftedPerPulse(model: CalibratedModel): number {
  let s = 0;
  for (const c of model.classes)
    for (const b of BASES) s += c.sentFraction[b] * c.detectProb[b] * c.siftProb[b];
  return s;
}
