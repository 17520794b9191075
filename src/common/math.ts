/** Small numeric helpers shared by physics, link engine and post-processing. */

/** Binary Shannon entropy h(x) = −x·log₂x − (1−x)·log₂(1−x), with h(0) = h(1) = 0; x is clamped to [0, 1]. */
export function binaryEntropy(x: number): number {
  if (!(x > 0) || !(x < 1)) return 0;
  return (-x * Math.log(x) - (1 - x) * Math.log1p(-x)) / Math.LN2;
}

/** −log₂(1−x), accurate for tiny x (physics-pitfalls note: use log1p). */
export function minusLog2OneMinus(x: number): number {
  return -Math.log1p(-x) / Math.LN2;
}

/** log₂ of a positive number. */
export function log2(x: number): number {
  return Math.log(x) / Math.LN2;
}

/** n! for small n (exact for n ≤ 18 in doubles). */
export function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

/** Poisson probability P(n; μ) = e^{−μ} μⁿ / n!. */
export function poissonPmf(n: number, mu: number): number {
  if (mu === 0) return n === 0 ? 1 : 0;
  return Math.exp(-mu + n * Math.log(mu) - logFactorial(n));
}

/** ln(n!) by summation for n < 64 and Stirling's series beyond. */
export function logFactorial(n: number): number {
  if (n < 64) {
    let s = 0;
    for (let i = 2; i <= n; i++) s += Math.log(i);
    return s;
  }
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + 1 / (12 * n) - 1 / (360 * n ** 3);
}

/** Golden-section search for the maximum of a unimodal f on [lo, hi]. */
export function maximize1d(
  f: (x: number) => number,
  lo: number,
  hi: number,
  tol = 1e-6,
  maxIter = 200,
): { x: number; value: number } {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = f(c);
  let fd = f(d);
  for (let i = 0; i < maxIter && b - a > tol * (Math.abs(c) + Math.abs(d) + tol); i++) {
    if (fc > fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  return fc > fd ? { x: c, value: fc } : { x: d, value: fd };
}
