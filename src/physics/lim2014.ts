/**
 * Finite-key security bound for decoy-state BB84 with three intensities: C. C.-W. Lim, M. Curty,
 * N. Walenta, F. Xu, H. Zbinden, "Concise security bounds for practical decoy-state quantum key
 * distribution", PRA 89, 022307 (2014).
 *
 * The paper draws its key from the X basis and tests in Z; qkdnet's efficient BB84 keys in Z and tests in
 * X, so here "key basis" plays the paper's X and "test basis" the paper's Z. Used by the `bb84-decoy-finite`
 * model (expected counts), by the link engine's estimation (a block's actual counts) and by privacy
 * amplification (the output length). Pure; every count is a number of events in one block.
 */
import { binaryEntropy, log2 } from '../common/index.ts';

/** Observed counts per intensity class k = 1, 2, 3 (μ1 > μ2 + μ3, μ3 ≥ 0; μ3 is vacuum or weak). */
export interface Lim2014Counts {
  /** Intensities [μ1, μ2, μ3]. */
  readonly mu: readonly [number, number, number];
  /** Probabilities [p1, p2, p3] of choosing each intensity. */
  readonly p: readonly [number, number, number];
  /** Sifted detections in the key basis, per intensity (paper: n_X,k). */
  readonly nKey: readonly [number, number, number];
  /** Sifted detections in the test basis, per intensity (paper: n_Z,k). */
  readonly nTest: readonly [number, number, number];
  /** Bit errors in the test basis, per intensity (paper: m_Z,k). */
  readonly mTest: readonly [number, number, number];
}

export interface Lim2014Bound {
  /** Lower bound on vacuum events in the key basis (paper Eq. 2, s_X,0). */
  readonly sKey0: number;
  /** Lower bound on single-photon events in the key basis (Eq. 3, s_X,1). */
  readonly sKey1: number;
  /** Lower bound on single-photon events in the test basis (Eq. 3 on the test counts, s_Z,1). */
  readonly sTest1: number;
  /** Upper bound on single-photon errors in the test basis (Eq. 4, v_Z,1). */
  readonly vTest1: number;
  /** Upper bound on the single-photon phase error rate in the key basis (Eq. 5, φ_X), capped at 0.5. */
  readonly phaseError: number;
}

/**
 * Hoeffding deviation δ(n, ε) = sqrt(n/2 · ln(1/ε)) (paper, App. A, Eq. A1). The main text's deviation (under
 * Eq. 2) is sqrt(n_X/2 · ln(21/ε_sec)), i.e. this function with ε = ε_sec/21 — callers pass ε_sec/21, not
 * 21/ε_sec (the latter makes the logarithm negative and δ NaN).
 */
export function hoeffdingDelta(n: number, eps: number): number {
  return Math.sqrt((n / 2) * Math.log(1 / eps));
}

/** τ_n = Σ_k p_k e^{−μ_k} μ_kⁿ / n!: probability that a pulse carries n photons (paper, under Eq. 2). */
export function tau(n: number, mu: readonly number[], p: readonly number[]): number {
  let s = 0;
  let fact = 1;
  for (let i = 2; i <= n; i++) fact *= i;
  for (let k = 0; k < mu.length; k++) s += (p[k]! * Math.exp(-mu[k]!) * Math.pow(mu[k]!, n)) / fact;
  return s;
}

/** γ(a, b, c, d) of the paper (defined under Eq. 5), the random-sampling correction to the phase error. */
export function gamma(a: number, b: number, c: number, d: number): number {
  if (!(b > 0 && b < 1) || !(c > 0) || !(d > 0)) return Infinity;
  const arg = (((c + d) / (c * d * (1 - b) * b)) * (21 * 21)) / (a * a);
  return Math.sqrt((((c + d) * (1 - b) * b) / (c * d * Math.LN2)) * log2(arg));
}

/** Decoy bounds on vacuum and single-photon events for one basis (paper Eqs. 2–3). */
function decoyBounds(
  counts: readonly [number, number, number],
  mu: readonly [number, number, number],
  p: readonly [number, number, number],
  epsSec: number,
): { s0: number; s1: number } {
  const [mu1, mu2, mu3] = mu;
  const total = counts[0] + counts[1] + counts[2];
  const delta = hoeffdingDelta(total, epsSec / 21);
  const nMinus = (k: 0 | 1 | 2) => (Math.exp(mu[k]) / p[k]) * (counts[k] - delta);
  const nPlus = (k: 0 | 1 | 2) => (Math.exp(mu[k]) / p[k]) * (counts[k] + delta);
  const tau0 = tau(0, mu, p);
  const tau1 = tau(1, mu, p);
  const s0 = Math.max(0, (tau0 * (mu2 * nMinus(2) - mu3 * nPlus(1))) / (mu2 - mu3));
  const s1 =
    (tau1 * mu1 * (nMinus(1) - nPlus(2) - ((mu2 * mu2 - mu3 * mu3) / (mu1 * mu1)) * (nPlus(0) - s0 / tau0))) /
    (mu1 * (mu2 - mu3) - mu2 * mu2 + mu3 * mu3);
  return { s0, s1: Math.max(0, s1) };
}

/** The paper's bounds from one block's counts. Requires μ1 > μ2 + μ3 and μ2 > μ3 ≥ 0. */
export function lim2014Bounds(c: Lim2014Counts, epsSec: number): Lim2014Bound {
  const [mu1, mu2, mu3] = c.mu;
  if (!(mu1 > mu2 + mu3 && mu2 > mu3 && mu3 >= 0)) {
    throw new RangeError(`Lim et al. 2014 needs μ1 > μ2 + μ3 and μ2 > μ3 ≥ 0, got μ = [${c.mu.join(', ')}]`);
  }
  const key = decoyBounds(c.nKey, c.mu, c.p, epsSec);
  const test = decoyBounds(c.nTest, c.mu, c.p, epsSec);
  const mTotal = c.mTest[0] + c.mTest[1] + c.mTest[2];
  const delta = hoeffdingDelta(mTotal, epsSec / 21);
  const mPlus2 = (Math.exp(mu2) / c.p[1]) * (c.mTest[1] + delta);
  const mMinus3 = (Math.exp(mu3) / c.p[2]) * (c.mTest[2] - delta);
  const vTest1 = Math.max(0, (tau(1, c.mu, c.p) * (mPlus2 - mMinus3)) / (mu2 - mu3));
  let phaseError = 0.5;
  if (test.s1 > 0 && key.s1 > 0) {
    const ratio = vTest1 / test.s1;
    const g = gamma(epsSec, Math.min(Math.max(ratio, 1e-12), 0.5), test.s1, key.s1);
    phaseError = Math.min(0.5, ratio + g);
  }
  return { sKey0: key.s0, sKey1: key.s1, sTest1: test.s1, vTest1, phaseError };
}

/**
 * Secret key length (paper Eq. 1):
 * ℓ = ⌊ s_0 + s_1·(1 − h(φ)) − λ_EC − 6·log₂(21/ε_sec) − log₂(2/ε_cor) ⌋, and 0 when that is negative.
 * `leakEcBits` is λ_EC, every bit error correction and verification disclosed.
 */
export function lim2014KeyLength(
  bound: Lim2014Bound,
  leakEcBits: number,
  epsSec: number,
  epsCor: number,
): number {
  const l =
    bound.sKey0 +
    bound.sKey1 * (1 - binaryEntropy(bound.phaseError)) -
    leakEcBits -
    6 * log2(21 / epsSec) -
    log2(2 / epsCor);
  return l > 0 ? Math.floor(l) : 0;
}
