/**
 * Exact binomial tails and the normal quantile, the arithmetic under every detector threshold.
 *
 * The binomial probability mass is computed in the saddle-point form of C. Loader, "Fast and accurate
 * computation of binomial probabilities" (2000) — the method of R's `dbinom` — which keeps full relative
 * precision for n up to 10¹⁵ where ln C(n,k) by log-gamma differences would lose digits. Tails are sums of
 * the mass from the requested point outwards (terms fall geometrically beyond the mean, so a tail costs a
 * few hundred to a few thousand terms). The normal quantile is P. J. Acklam's rational approximation
 * (relative error < 1.15·10⁻⁹).
 */

const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Stirling's error term δ(n) = ln n! − [(n+½)ln n − n + ln√(2π)] (Loader 2000, eq. 2). */
function stirlingError(n: number): number {
  if (n > 15) {
    const n2 = n * n;
    return (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * n2)) / n2) / n2) / n;
  }
  return logGamma(n + 1) - (n + 0.5) * Math.log(n) + n - LN_SQRT_2PI;
}

/** Deviance term bd0(x, M) = x·ln(x/M) + M − x, computed without cancellation near x = M (Loader eq. 5). */
function bd0(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    let v = (x - m) / (x + m);
    const v2 = v * v;
    let s = (x - m) * v;
    let ej = 2 * x * v;
    for (let j = 1; j < 1000; j++) {
      ej *= v2;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / m) + m - x;
}

/** ln P(X = k) for X ~ Binomial(n, p); −Infinity outside the support. */
export function binomialLogPmf(k: number, n: number, p: number): number {
  if (k < 0 || k > n) return -Infinity;
  if (p === 0) return k === 0 ? 0 : -Infinity;
  if (p === 1) return k === n ? 0 : -Infinity;
  const q = 1 - p;
  if (k === 0) return n * Math.log1p(-p);
  if (k === n) return n * Math.log(p);
  const lc = stirlingError(n) - stirlingError(k) - stirlingError(n - k) - bd0(k, n * p) - bd0(n - k, n * q);
  return lc + 0.5 * Math.log(n / (2 * Math.PI * k * (n - k)));
}

/** Sums the mass from k outwards (direction +1: k, k+1, …; −1: k, k−1, …) until terms are negligible. */
function sumFrom(k: number, n: number, p: number, direction: 1 | -1): number {
  let term = Math.exp(binomialLogPmf(k, n, p));
  if (term === 0) return 0;
  const odds = p / (1 - p);
  let sum = 0;
  for (let j = k; j >= 0 && j <= n; j += direction) {
    sum += term;
    if (term < sum * 1e-17 || term === 0) break; // (sum·1e-17 underflows to 0 for denormal sums)
    term *= direction === 1 ? ((n - j) / (j + 1)) * odds : j / (n - j + 1) / odds;
  }
  return sum;
}

/** P(X ≥ k) for X ~ Binomial(n, p), accurate in the far tail (down to ~1e-300). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (k <= n * p) return Math.max(0, 1 - sumFrom(k - 1, n, p, -1));
  return Math.min(1, sumFrom(k, n, p, 1));
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialLowerTail(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (k >= n * p) return Math.max(0, 1 - sumFrom(k + 1, n, p, 1));
  return Math.min(1, sumFrom(k, n, p, -1));
}

/**
 * Smallest count c with P(X ≥ c) ≤ alpha for X ~ Binomial(n, p): observing c or more is an alarm at
 * false-alarm probability alpha. Returns n + 1 when even X = n is not rare enough.
 */
export function binomialUpperCritical(n: number, p: number, alpha: number): number {
  const sd = Math.sqrt(n * p * (1 - p));
  let lo = Math.floor(n * p); // P(X ≥ lo) > alpha for alpha < 1/2 (lo is at or below the median)
  let hi = Math.min(n + 1, Math.ceil(n * p + 40 * sd + 60));
  if (binomialUpperTail(hi, n, p) > alpha) return n + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (binomialUpperTail(mid, n, p) <= alpha) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Largest count c with P(X ≤ c) ≤ alpha; −1 when even X = 0 is not rare enough. */
export function binomialLowerCritical(n: number, p: number, alpha: number): number {
  const sd = Math.sqrt(n * p * (1 - p));
  let hi = Math.ceil(n * p);
  let lo = Math.max(-1, Math.floor(n * p - 40 * sd - 60));
  if (lo >= 0 && binomialLowerTail(lo, n, p) > alpha) return -1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (binomialLowerTail(mid, n, p) <= alpha) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Upper-tail probability of the standard normal, Q(z) = P(Z > z) = erfc(z/√2)/2. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** erfc(x) with relative error < 1.2e-7 (Numerical Recipes `erfcc`, Chebyshev fit). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** z such that P(Z > z) = alpha for the standard normal (Acklam's algorithm), 0 < alpha < 1. */
export function normalUpperQuantile(alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  return -normalQuantile(alpha);
}

function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  let x: number;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - pl) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  return x;
}
