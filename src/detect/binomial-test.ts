/**
 * The exact binomial test used by every per-block detector: is `observed` successes in `trials` consistent
 * with probability `p`? One-sided tests at level α each (a two-sided check is two of them, each given its
 * own share of the budget). A normal-approximation gate (|z| < 2.5) skips the exact tail for ordinary
 * blocks: at |z| < 2.5 the exact one-sided tail exceeds 10⁻³ for every mean the detectors meet, far above
 * any per-test α they use (≤ 10⁻⁴), so the gate never hides an alarm — it only saves time.
 */
import {
  binomialLowerCritical,
  binomialLowerTail,
  binomialUpperCritical,
  binomialUpperTail,
} from './stats.ts';

/** Outcome of one binomial test. */
export interface BinomialVerdict {
  /** `high`: too many successes; `low`: too few; undefined: consistent. */
  readonly side?: 'high' | 'low';
  /** One-sided p-value on the side that fired (1 when none did). */
  readonly pValue: number;
  /** Observed rate observed/trials. */
  readonly rate: number;
  /** The critical rate that was crossed (critical count / trials); NaN when none fired. */
  readonly criticalRate: number;
}

const GATE_Z = 2.5;

/**
 * Tests `observed` ~ Binomial(trials, p) against the upper tail at `alphaHigh` and the lower tail at
 * `alphaLow` (pass 0 to skip a side). With `dispersion` φ > 1 the count is tested as quasi-binomial:
 * observed/φ successes in trials/φ trials (same mean rate, variance × φ).
 */
export function binomialTest(
  observedCount: number,
  trialCount: number,
  p: number,
  alphaHigh: number,
  alphaLow: number,
  dispersion = 1,
): BinomialVerdict {
  const phi = dispersion > 1 ? dispersion : 1;
  const rate = trialCount > 0 ? observedCount / trialCount : 0;
  const trials = Math.round(trialCount / phi);
  const observed = Math.min(trials, Math.round(observedCount / phi));
  const none = { pValue: 1, rate, criticalRate: Number.NaN };
  if (!(trials > 0) || !(p >= 0 && p <= 1)) return none;
  const mean = trials * p;
  const sd = Math.sqrt(mean * (1 - p));
  if (sd > 0 && Math.abs(observed - mean) < GATE_Z * sd) return none;
  if (alphaHigh > 0 && observed > mean) {
    const pValue = binomialUpperTail(observed, trials, p);
    if (pValue <= alphaHigh)
      return {
        side: 'high',
        pValue,
        rate,
        criticalRate: binomialUpperCritical(trials, p, alphaHigh) / trials,
      };
  }
  if (alphaLow > 0 && observed < mean) {
    const pValue = binomialLowerTail(observed, trials, p);
    if (pValue <= alphaLow)
      return { side: 'low', pValue, rate, criticalRate: binomialLowerCritical(trials, p, alphaLow) / trials };
  }
  return none;
}

/**
 * One-sided Gaussian test of a continuous statistic against calibration mean ± z·sd; the sd is inflated by
 * √(1 + 1/B) for the uncertainty of a mean estimated from B calibration blocks.
 */
export function gaussianTest(
  value: number,
  mean: number,
  sd: number,
  calibrationBlocks: number,
  zHigh: number,
  zLow: number,
): { side?: 'high' | 'low'; threshold: number } {
  const s = sd * Math.sqrt(1 + 1 / Math.max(1, calibrationBlocks));
  const floor = Math.max(s, Math.abs(mean) * 1e-9, Number.MIN_VALUE); // a noiseless statistic: any change fires
  if (zHigh > 0 && value > mean + zHigh * floor) return { side: 'high', threshold: mean + zHigh * floor };
  if (zLow > 0 && value < mean - zLow * floor) return { side: 'low', threshold: mean - zLow * floor };
  return { threshold: Number.NaN };
}
