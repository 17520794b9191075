/**
 * The multivariate second opinion: an isolation forest (isolation-forest.ts) over a block's standardized
 * residuals against the calibrated model. Features summarise z-scores (observed − expected)/σ_binomial of every
 * class-and-basis gain, sifted share and QBER, plus the double-click rate, Bob's Z share and the monitor
 * power, so the forest sees departures in any combination rather than one statistic at a time.
 *
 * The alarm threshold is the empirical (1 − target) quantile of scores on attack-free blocks held out from
 * training; the achieved false-alarm rate is then *measured* on further attack-free blocks (it is an
 * estimate, not a bound, and is reported as such — `measuredFalseAlarmRate`).
 */
import type { BasisName, Rng, TelemetrySample } from './deps.ts';
import type { CalibratedModel } from './model.ts';
import { bobZShare } from './model.ts';
import { IsolationForest } from './isolation-forest.ts';
import type { Finding } from './finding.ts';

const BASES: readonly BasisName[] = ['Z', 'X'];

function z(observed: number, trials: number, p: number): number {
  const sd = Math.sqrt(trials * p * (1 - p));
  return sd > 0 ? (observed - trials * p) / sd : 0;
}

/**
 * The feature vector of one block (9 values): for gains, sifted shares and QBERs, the sum of the class ×
 * basis z-scores over √(terms) and their largest |z|; then the double-click, Bob's-share and monitor
 * residuals. Summaries rather than all 18 raw z-scores, so a departure in one statistic is not diluted
 * among many irrelevant dimensions (an isolation forest picks split features at random).
 */
export function anomalyFeatures(model: CalibratedModel, s: TelemetrySample): number[] {
  const groups: number[][] = [[], [], []];
  for (const c of model.classes)
    for (const b of BASES) {
      const k = s.counts?.[c.name]?.[b];
      if (!k) continue;
      groups[0]!.push(z(k.detected, k.sent, c.detectProb[b]));
      groups[1]!.push(z(k.sifted, k.detected, c.siftProb[b]));
      groups[2]!.push(z(k.errors, k.sifted, c.errorProb[b]));
    }
  const f: number[] = [];
  for (const g of groups) {
    f.push(g.length ? g.reduce((a, v) => a + v, 0) / Math.sqrt(g.length) : 0);
    f.push(g.reduce((a, v) => Math.max(a, Math.abs(v)), 0));
  }
  f.push(
    s.detections && s.doubleClicks !== undefined ? z(s.doubleClicks, s.detections, model.doubleClickProb) : 0,
  );
  const share = bobZShare(s);
  const g = model.bobBasisZShare;
  f.push(g && share !== undefined && g.sd > 0 ? (share - g.mean) / g.sd : 0);
  const m = model.monitorPowerW;
  // a noiseless monitor (sd 0 in calibration): deviation relative to 10⁻³ of the mean instead
  const scale = m ? (m.sd > 0 ? m.sd : Math.abs(m.mean) * 1e-3) : 0;
  f.push(m && s.monitorPowerW !== undefined && scale > 0 ? (s.monitorPowerW - m.mean) / scale : 0);
  return f;
}

/** A trained anomaly detector for one link. */
export interface AnomalyDetector {
  readonly threshold: number;
  /** Fraction of the evaluation blocks (attack-free) that scored above the threshold. */
  readonly measuredFalseAlarmRate: number;
  readonly evaluationBlocks: number;
  score(s: TelemetrySample): number;
  observe(s: TelemetrySample): Finding[];
}

/**
 * Trains on `normal` blocks: the first half grows the forest, the second half sets the threshold at the
 * (1 − targetFalseAlarmRate) quantile; `evaluation` blocks (attack-free, unseen) measure the rate achieved.
 */
export function trainAnomalyDetector(
  model: CalibratedModel,
  normal: readonly TelemetrySample[],
  evaluation: readonly TelemetrySample[],
  rng: Rng,
  targetFalseAlarmRate = 1e-3,
): AnomalyDetector {
  if (normal.length < 20)
    throw new RangeError(`anomaly training needs ≥ 20 normal blocks, got ${normal.length}`);
  const half = Math.floor(normal.length / 2);
  const training = normal.slice(0, half).map((s) => anomalyFeatures(model, s));
  const forest = IsolationForest.train(training, rng, 100, 256);
  // A feature constant in training (e.g. a noiseless monitor diode) gives the forest nothing to split on;
  // any departure from that constant is isolated by one split, so it scores 1.
  const constant = training[0]!.map((v, f) => (training.every((r) => r[f] === v) ? v : undefined));
  const score = (s: TelemetrySample) => {
    const x = anomalyFeatures(model, s);
    if (constant.some((v, f) => v !== undefined && Math.abs(x[f]! - v) > 1e-9)) return 1;
    return forest.score(x);
  };
  const held = normal
    .slice(half)
    .map(score)
    .sort((a, b) => b - a);
  const k = Math.max(0, Math.ceil(targetFalseAlarmRate * held.length) - 1);
  const threshold = held[k]! + 1e-12; // strictly above the k-th highest held-out score
  const evalScores = evaluation.map(score);
  const alarms = evalScores.filter((x) => x > threshold).length;
  return {
    threshold,
    measuredFalseAlarmRate: evaluation.length > 0 ? alarms / evaluation.length : Number.NaN,
    evaluationBlocks: evaluation.length,
    score,
    observe(s) {
      const v = score(s);
      if (!(v > threshold)) return [];
      return [
        {
          kind: 'anomaly',
          statistic: 'isolation-forest-score',
          value: v,
          threshold,
          window: s.blockId === undefined ? 'block' : `block ${s.blockId}`,
          action: 'notify',
          severity: 'warning',
          message: `Telemetry unlike the link's normal behaviour (isolation-forest score ${v.toFixed(3)} > ${threshold.toFixed(3)})`,
        },
      ];
    },
  };
}
