/**
 * Iterative radix-2 complex FFT (Cooley & Tukey, Math. Comp. 19 (1965) 297; in-place decimation in time
 * after bit-reversal, as in Press et al., Numerical Recipes §12.2) on Float64Array real/imaginary parts,
 * with a cached table of twiddle factors per size. Used by Toeplitz privacy amplification to compute an
 * integer convolution of two 0/1 sequences: with length-N inputs the largest coefficient is ≤ N and the
 * floating-point error stays far below ½ for every N this module accepts (≤ 2²³), so rounding is exact.
 */

/** Largest transform size accepted (memory: 4 arrays of 2²³ doubles = 256 MiB). */
export const FFT_MAX_SIZE = 2 ** 23;

const twiddles = new Map<number, { cos: Float64Array; sin: Float64Array }>();

function table(n: number) {
  let t = twiddles.get(n);
  if (!t) {
    const cos = new Float64Array(n / 2);
    const sin = new Float64Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      cos[i] = Math.cos((2 * Math.PI * i) / n);
      sin[i] = Math.sin((2 * Math.PI * i) / n);
    }
    t = { cos, sin };
    if (twiddles.size > 8) twiddles.clear();
    twiddles.set(n, t);
  }
  return t;
}

/** In-place FFT of (re, im), length a power of two; `inverse` computes the unscaled inverse transform. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (im.length !== n || (n & (n - 1)) !== 0 || n > FFT_MAX_SIZE)
    throw new RangeError(`fft needs equal power-of-two lengths ≤ 2^23, got ${n} and ${im.length}`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]!;
      re[i] = re[j]!;
      re[j] = t;
      t = im[i]!;
      im[i] = im[j]!;
      im[j] = t;
    }
  }
  const { cos, sin } = table(n);
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = n / len;
    for (let s = 0; s < n; s += len) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step]!;
        const wi = sign * sin[k * step]!;
        const a = s + k;
        const b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a]! += xr;
        im[a]! += xi;
      }
    }
  }
}

/**
 * Cyclic convolution of two real sequences of one power-of-two length N with two transforms: both go into
 * one complex input (u + i·v), their spectra are separated by conjugate symmetry, multiplied, and
 * transformed back. Returns the real result (not rounded).
 */
export function realCyclicConvolution(u: Float64Array, v: Float64Array): Float64Array {
  const n = u.length;
  const re = u.slice();
  const im = v.slice();
  fft(re, im);
  const pr = new Float64Array(n);
  const pi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const j = (n - k) & (n - 1);
    // U_k = (Z_k + conj Z_j)/2, V_k = (Z_k − conj Z_j)/(2i)
    const ur = (re[k]! + re[j]!) / 2;
    const ui = (im[k]! - im[j]!) / 2;
    const vr = (im[k]! + im[j]!) / 2;
    const vi = -(re[k]! - re[j]!) / 2;
    pr[k] = ur * vr - ui * vi;
    pi[k] = ur * vi + ui * vr;
  }
  fft(pr, pi, true);
  for (let k = 0; k < n; k++) pr[k]! /= n;
  return pr;
}
