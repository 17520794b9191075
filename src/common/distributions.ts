/**
 * Exact discrete samplers on the seeded Rng, for simulations whose cost must follow events, not trials.
 *
 * - Binomial(n, p): for n·min(p, 1−p) < 10, inversion by summing geometric waiting times (Devroye,
 *   "Non-Uniform Random Variate Generation", 1986, §X.4.3 — the second waiting-time method), O(n·p);
 *   otherwise BTRS, transformed rejection with squeeze (W. Hörmann, "The generation of binomial random
 *   variates", J. Statist. Comput. Simul. 46, 101–110, 1993), O(1) expected for any n — exact (rejection,
 *   no approximation); its acceptance test uses C. Loader's saddle-point form of the binomial pmf ("Fast
 *   and accurate computation of binomial probabilities", 2000), accurate for n up to 2^53.
 * - Poisson(μ): multiplication/inversion for μ < 10 (Knuth, TAOCP vol. 2, §3.4.1), PTRS for μ ≥ 10
 *   (W. Hörmann, "The transformed rejection method for generating Poisson random variables",
 *   Insurance: Mathematics and Economics 12, 39–45, 1993), its acceptance test also in Loader's form.
 * - Geometric(p): failures before the first success, ⌊ln U / ln(1−p)⌋ (Devroye 1986, §X.2).
 * - Multinomial by conditional binomials; Walker's alias table (A. J. Walker, ACM TOMS 3, 253, 1977) built
 *   with Vose's linear method (IEEE TSE 17, 972, 1991) for O(1) draws from a fixed discrete law.
 */
import { logFactorial } from './math.ts';
import type { Rng } from './rng.ts';

/**
 * Number of failures before the first success in Bernoulli(p) trials (support 0, 1, 2, …), p in (0, 1].
 * May return a value above 2^53 (or Infinity) for tiny p; callers compare it with their horizon.
 */
export function sampleGeometric(p: number, rng: Rng): number {
  if (!(p > 0 && p <= 1)) throw new RangeError(`sampleGeometric needs 0 < p ≤ 1, got ${p}`);
  if (p === 1) return 0;
  return Math.floor(Math.log(rng.nextOpenFloat()) / Math.log1p(-p));
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** stirlerr(n) = ln n! − [(n + ½)·ln n − n + ½·ln 2π] (C. Loader, "Fast and accurate computation of binomial probabilities", 2000). */
function stirlerr(n: number): number {
  if (n < 16) return logFactorial(n) - ((n + 0.5) * Math.log(n) - n + HALF_LOG_2PI);
  const nn = n * n;
  return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / 1188 / nn) / nn) / nn) / nn) / n;
}

/**
 * Loader's deviance bd0(x, M) = x·ln(x/M) + M − x, given `diff` = x − M computed accurately by the caller;
 * a series when x is near M, so the result keeps full relative precision for x, M up to 2^53.
 */
function bd0(x: number, mean: number, diff: number): number {
  if (Math.abs(diff) < 0.1 * (x + mean)) {
    let v = diff / (x + mean);
    let s = diff * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / mean) - diff;
}

/** ln P(K = k) for K ~ Binomial(n, p), accurate for n up to 2^53 (Loader 2000, saddle-point form). */
export function binomialLogPmf(k: number, n: number, p: number): number {
  if (k === 0) return n * Math.log1p(-p);
  if (k === n) return n * Math.log(p);
  const np = n * p;
  const nq = n - np;
  const dev = k - np; // x − np; (n − k) − nq = −dev
  return (
    stirlerr(n) -
    stirlerr(k) -
    stirlerr(n - k) -
    bd0(k, np, dev) -
    bd0(n - k, nq, -dev) +
    0.5 * Math.log(n / (k * (n - k))) -
    HALF_LOG_2PI
  );
}

/** Binomial by geometric waiting times: expected cost n·p + 1 draws. Requires p ≤ 1/2. */
function binomialInversion(n: number, p: number, rng: Rng): number {
  const logQ = Math.log1p(-p);
  let pos = 0;
  let k = 0;
  for (;;) {
    pos += Math.floor(Math.log(rng.nextOpenFloat()) / logQ) + 1;
    if (pos > n) return k;
    k++;
  }
}

/** BTRS (Hörmann 1993, Algorithm BTRS) for n·p ≥ 10 and p ≤ 1/2. */
function binomialBtrs(n: number, p: number, rng: Rng): number {
  const spq = Math.sqrt(n * p * (1 - p));
  const b = 1.15 + 2.53 * spq;
  const a = -0.0873 + 0.0248 * b + 0.01 * p;
  const c = n * p + 0.5;
  const vr = 0.92 - 4.2 / b;
  const alpha = (2.83 + 5.1 / b) * spq;
  const m = Math.floor((n + 1) * p);
  const logPmfM = binomialLogPmf(m, n, p);
  for (;;) {
    const u = rng.nextFloat() - 0.5;
    let v = rng.nextFloat();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + c);
    if (k < 0 || k > n) continue;
    if (us >= 0.07 && v <= vr) return k;
    v = Math.log((v * alpha) / (a / (us * us) + b));
    // ln f(k)/f(m) (Hörmann 1993, step 3.3) in Loader's form: every term is O(1) or O(ln n), so no
    // cancellation of huge numbers even for n·p ~ 10^15.
    const bound = binomialLogPmf(k, n, p) - logPmfM;
    if (v <= bound) return k;
  }
}

/** Binomial(n, p): number of successes in n independent trials; n a non-negative integer ≤ 2^53. */
export function sampleBinomial(n: number, p: number, rng: Rng): number {
  if (!(Number.isInteger(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER))
    throw new RangeError(`sampleBinomial needs an integer n in 0..2^53, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`sampleBinomial needs 0 ≤ p ≤ 1, got ${p}`);
  if (n === 0 || p === 0) return 0;
  if (p === 1) return n;
  if (p > 0.5) return n - sampleBinomial(n, 1 - p, rng);
  return n * p < 10 ? binomialInversion(n, p, rng) : binomialBtrs(n, p, rng);
}

/** Poisson(μ), μ ≥ 0. */
export function samplePoisson(mu: number, rng: Rng): number {
  if (!(mu >= 0 && Number.isFinite(mu))) throw new RangeError(`samplePoisson needs finite μ ≥ 0, got ${mu}`);
  if (mu === 0) return 0;
  if (mu < 10) {
    const limit = Math.exp(-mu);
    let k = 0;
    let prod = rng.nextOpenFloat();
    while (prod > limit) {
      prod *= rng.nextOpenFloat();
      k++;
    }
    return k;
  }
  const slam = Math.sqrt(mu);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.nextFloat() - 0.5;
    const v = rng.nextOpenFloat();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + mu + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    // ln P(k) = −μ + k·ln μ − ln k!, in Loader's form (no cancellation of k·ln μ against ln k! for huge μ).
    const logPk = k === 0 ? -mu : -stirlerr(k) - bd0(k, mu, k - mu) - 0.5 * Math.log(k) - HALF_LOG_2PI;
    if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= logPk) return k;
  }
}

/**
 * Multinomial(n, probabilities): counts per category by conditional binomials. `probabilities` need not
 * sum exactly to 1 (they are normalised); the counts always sum to n.
 */
export function sampleMultinomial(n: number, probabilities: readonly number[], rng: Rng): number[] {
  let rest = 0;
  for (const p of probabilities) {
    if (!(p >= 0)) throw new RangeError(`sampleMultinomial: probabilities must be ≥ 0, got ${p}`);
    rest += p;
  }
  const out = new Array<number>(probabilities.length).fill(0);
  let left = n;
  for (let i = 0; i < probabilities.length && left > 0; i++) {
    const p = probabilities[i]!;
    if (i === probabilities.length - 1 || rest <= p) {
      out[i] = left;
      break;
    }
    const k = sampleBinomial(left, Math.min(1, p / rest), rng);
    out[i] = k;
    left -= k;
    rest -= p;
  }
  return out;
}

/** Walker's alias table over categories 0..n−1 with the given (unnormalised, non-negative) weights. */
export class AliasTable {
  /** Number of categories. */
  readonly size: number;
  /** Probability of keeping column i (else take alias[i]). */
  readonly keep: Float64Array;
  readonly alias: Uint32Array;

  constructor(weights: readonly number[] | Float64Array) {
    const n = weights.length;
    if (n === 0) throw new RangeError('AliasTable needs at least one weight');
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      if (!(w >= 0 && Number.isFinite(w))) throw new RangeError(`AliasTable weight ${i} is ${w}`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('AliasTable weights sum to zero');
    this.size = n;
    this.keep = new Float64Array(n);
    this.alias = new Uint32Array(n);
    const scaled = Float64Array.from(weights, (w) => (w * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) (scaled[i]! < 1 ? small : large).push(i);
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large[large.length - 1]!;
      this.keep[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      if (scaled[l]! < 1) small.push(large.pop()!);
    }
    for (const i of large) this.keep[i] = 1;
    for (const i of small) this.keep[i] = 1; // rounding leftovers
    for (let i = 0; i < n; i++) if (this.keep[i] === 1) this.alias[i] = i;
  }

  /** One category, O(1): one 53-bit uniform picks the column and decides keep-or-alias. */
  sample(rng: Rng): number {
    const x = rng.nextFloat() * this.size;
    const i = Math.floor(x);
    return x - i < this.keep[i]! ? i : this.alias[i]!;
  }
}
