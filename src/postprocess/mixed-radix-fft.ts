/**
 * Complex FFT of length c·2^k, c ∈ {1, 3, 9}, without a digit-reversal permutation, for the PA multiplier
 * (fft-multiply.ts).
 *
 * - Power-of-two part: radix-4 decimation in frequency (W. M. Gentleman, G. Sande, "Fast Fourier
 *   transforms — for fun and profit", AFIPS 1966; natural order in, bit-reversed out) and the mirrored
 *   decimation in time (bit-reversed in, natural out), one radix-2 stage when k is odd.
 * - Mixed radix (Cooley & Tukey, Math. Comp. 19 (1965) 297, with N = 3·(N/3)): one or two radix-3
 *   decimation-in-frequency stages run first, on the whole array, so the transform splits into c
 *   contiguous blocks of M = N/c points, each then transformed by the power-of-two part. Stage of span S·3
 *   over x: block r receives y_r[n] = (Σ_j x[n + jS]·ω₃^{jr})·ω_{3S}^{nr}, n < S, ω_q = e^{−2πi/q}, and its
 *   length-S DFT is X[3k + r]. So after the transform, position p of block b holds frequency
 *   f = c·rev_M(p) + ρ(b), with ρ = (0) for c = 1, (0, 1, 2) for c = 3 and (0, 3, 6, 1, 4, 7, 2, 5, 8)
 *   for c = 9 (two stages: block 3r₁ + r₂ holds f ≡ r₁ + 3r₂ mod 9). The inverse runs the same steps
 *   backwards with conjugate twiddles and returns N × the inverse DFT in natural order.
 * Why 3 and 9: a convolution length that is not rounded up to a power of two (at 10⁷ key bits the
 * multiplier needs ≈ 1.17·10⁶ points: 9·2¹⁷ = 1,179,648 instead of 2²¹).
 */

/** ρ(b) for each block b of a transform with c ∈ {1, 3, 9} (see the header). */
export function blockResidues(c: number): readonly number[] {
  if (c === 1) return [0];
  if (c === 3) return [0, 1, 2];
  if (c === 9) return [0, 3, 6, 1, 4, 7, 2, 5, 8];
  throw new RangeError(`transform lengths are c·2^k with c in {1, 3, 9}, got c = ${c}`);
}

/**
 * Radix-4 twiddles w^k, w^{2k}, w^{3k} with w = e^{−2πi/(4q)}, for every power of two q and k < q, as six
 * doubles (re, im of each) at 6·(q − 1 + k): a stage of span 4q reads one contiguous run of its own. The
 * entries do not depend on the transform length, so one table, grown to the largest q met, serves all.
 */
let radix4 = new Float64Array(0);

function twiddles4(L: number): Float64Array {
  const qMax = Math.max(1, L >> 2);
  if (radix4.length >= 6 * (2 * qMax - 1)) return radix4;
  const t = new Float64Array(6 * (2 * qMax - 1));
  for (let q = 1; q <= qMax; q <<= 1)
    for (let k = 0; k < q; k++) {
      const o = 6 * (q - 1 + k);
      for (let j = 1; j <= 3; j++) {
        const a = (-2 * Math.PI * j * k) / (4 * q);
        t[o + 2 * j - 2] = Math.cos(a);
        t[o + 2 * j - 1] = Math.sin(a);
      }
    }
  radix4 = t;
  return t;
}

/** The size-2 butterflies (no twiddles): the same in both directions. */
function radix2(re: Float64Array, im: Float64Array, start: number, end: number): void {
  for (let s = start; s < end; s += 2) {
    const xr = re[s + 1]!;
    const xi = im[s + 1]!;
    re[s + 1] = re[s]! - xr;
    im[s + 1] = im[s]! - xi;
    re[s]! += xr;
    im[s]! += xi;
  }
}

/** One radix-4 decimation-in-frequency stage of span `size` over points [start, end). */
function difStage(
  re: Float64Array,
  im: Float64Array,
  tw: Float64Array,
  size: number,
  start: number,
  end: number,
): void {
  const q = size >> 2;
  for (let s = start; s < end; s += size)
    for (let k = 0, o = 6 * (q - 1); k < q; k++, o += 6) {
      const i0 = s + k;
      const i1 = i0 + q;
      const i2 = i1 + q;
      const i3 = i2 + q;
      const ar = re[i0]! + re[i2]!;
      const ai = im[i0]! + im[i2]!;
      const br = re[i1]! + re[i3]!;
      const bi = im[i1]! + im[i3]!;
      const dr = re[i0]! - re[i2]!;
      const di = im[i0]! - im[i2]!;
      const er = re[i1]! - re[i3]!;
      const ei = im[i1]! - im[i3]!;
      const w1r = tw[o]!;
      const w1i = tw[o + 1]!;
      const w2r = tw[o + 2]!;
      const w2i = tw[o + 3]!;
      const w3r = tw[o + 4]!;
      const w3i = tw[o + 5]!;
      re[i0] = ar + br;
      im[i0] = ai + bi;
      const fr = ar - br;
      const fi = ai - bi;
      re[i1] = fr * w2r - fi * w2i;
      im[i1] = fr * w2i + fi * w2r;
      const gr = dr + ei; // D − iE
      const gi = di - er;
      re[i2] = gr * w1r - gi * w1i;
      im[i2] = gr * w1i + gi * w1r;
      const hr = dr - ei; // D + iE
      const hi = di + er;
      re[i3] = hr * w3r - hi * w3i;
      im[i3] = hr * w3i + hi * w3r;
    }
}

/** Forward DFT, natural order in, bit-reversed out (radix-4 stages, one radix-2 stage if log₂L is odd). */
export function forwardDif(re: Float64Array, im: Float64Array): void {
  const L = re.length;
  const tw = twiddles4(L);
  let size = L;
  for (; size >= 4; size >>= 2) difStage(re, im, tw, size, 0, L);
  if (size === 2) radix2(re, im, 0, L);
}

/** One radix-4 decimation-in-time stage of span `size` over points [start, end) (difStage undone). */
function ditStage(
  re: Float64Array,
  im: Float64Array,
  tw: Float64Array,
  size: number,
  start: number,
  end: number,
): void {
  const q = size >> 2;
  for (let s = start; s < end; s += size)
    for (let k = 0, o = 6 * (q - 1); k < q; k++, o += 6) {
      const i0 = s + k;
      const i1 = i0 + q;
      const i2 = i1 + q;
      const i3 = i2 + q;
      const w1r = tw[o]!; // conjugates: the inverse transform
      const w1i = -tw[o + 1]!;
      const w2r = tw[o + 2]!;
      const w2i = -tw[o + 3]!;
      const w3r = tw[o + 4]!;
      const w3i = -tw[o + 5]!;
      const y1r = re[i1]! * w2r - im[i1]! * w2i;
      const y1i = re[i1]! * w2i + im[i1]! * w2r;
      const ar = re[i0]! + y1r; // 2A
      const ai = im[i0]! + y1i;
      const br = re[i0]! - y1r; // 2B
      const bi = im[i0]! - y1i;
      const y2r = re[i2]! * w1r - im[i2]! * w1i;
      const y2i = re[i2]! * w1i + im[i2]! * w1r;
      const y3r = re[i3]! * w3r - im[i3]! * w3i;
      const y3i = re[i3]! * w3i + im[i3]! * w3r;
      const dr = y2r + y3r; // 2D
      const di = y2i + y3i;
      const er = -(y2i - y3i); // 2E = i·(y2 − y3)
      const ei = y2r - y3r;
      re[i0] = ar + dr;
      im[i0] = ai + di;
      re[i2] = ar - dr;
      im[i2] = ai - di;
      re[i1] = br + er;
      im[i1] = bi + ei;
      re[i3] = br - er;
      im[i3] = bi - ei;
    }
}

/** L × the inverse DFT, bit-reversed in, natural out: forwardDif's butterflies undone in reverse order. */
export function inverseDit(re: Float64Array, im: Float64Array): void {
  const L = re.length;
  const tw = twiddles4(L);
  let size = 4;
  if ((31 - Math.clz32(L)) & 1) {
    radix2(re, im, 0, L);
    size = 8;
  }
  for (; size <= L; size <<= 2) ditStage(re, im, tw, size, 0, L);
}

/** √3/2 */
const H3 = Math.sqrt(3) / 2;

const radix3Tables = new Map<number, Float64Array>();

/** ω^n and ω^{2n}, ω = e^{−2πi/span}, for n < span/3, as (re, im, re, im) at 4n. */
function radix3Table(span: number): Float64Array {
  let t = radix3Tables.get(span);
  if (!t) {
    const S = span / 3;
    t = new Float64Array(4 * S);
    for (let n = 0; n < S; n++) {
      const a = (-2 * Math.PI * n) / span;
      t[4 * n] = Math.cos(a);
      t[4 * n + 1] = Math.sin(a);
      t[4 * n + 2] = Math.cos(2 * a);
      t[4 * n + 3] = Math.sin(2 * a);
    }
    if (radix3Tables.size > 6) radix3Tables.clear();
    radix3Tables.set(span, t);
  }
  return t;
}

/**
 * One radix-3 decimation-in-frequency stage over [start, start + span): block r ∈ {0, 1, 2} of span/3
 * points receives (Σ_j x[n + jS]·ω₃^{jr})·ω_span^{nr}; with s = x₁ + x₂, d = x₁ − x₂:
 * y₀ = x₀ + s, y₁ = x₀ − s/2 − i(√3/2)d, y₂ = x₀ − s/2 + i(√3/2)d.
 */
function difRadix3(re: Float64Array, im: Float64Array, start: number, span: number): void {
  const S = span / 3;
  const tw = radix3Table(span);
  for (let n = 0; n < S; n++) {
    const i0 = start + n;
    const i1 = i0 + S;
    const i2 = i1 + S;
    const sr = re[i1]! + re[i2]!;
    const si = im[i1]! + im[i2]!;
    const dr = (re[i1]! - re[i2]!) * H3;
    const di = (im[i1]! - im[i2]!) * H3;
    const tr = re[i0]! - 0.5 * sr;
    const ti = im[i0]! - 0.5 * si;
    re[i0]! += sr;
    im[i0]! += si;
    const ar = tr + di; // y₁
    const ai = ti - dr;
    const br = tr - di; // y₂
    const bi = ti + dr;
    const w1r = tw[4 * n]!;
    const w1i = tw[4 * n + 1]!;
    const w2r = tw[4 * n + 2]!;
    const w2i = tw[4 * n + 3]!;
    re[i1] = ar * w1r - ai * w1i;
    im[i1] = ar * w1i + ai * w1r;
    re[i2] = br * w2r - bi * w2i;
    im[i2] = br * w2i + bi * w2r;
  }
}

/** difRadix3 undone (times 3): t_r = y_r·conj(ω^{nr}), x_j = Σ_r t_r·ω₃^{−jr}. */
function ditRadix3(re: Float64Array, im: Float64Array, start: number, span: number): void {
  const S = span / 3;
  const tw = radix3Table(span);
  for (let n = 0; n < S; n++) {
    const i0 = start + n;
    const i1 = i0 + S;
    const i2 = i1 + S;
    const w1r = tw[4 * n]!;
    const w1i = tw[4 * n + 1]!;
    const w2r = tw[4 * n + 2]!;
    const w2i = tw[4 * n + 3]!;
    const ar = re[i1]! * w1r + im[i1]! * w1i; // y₁·conj(ω^n)
    const ai = im[i1]! * w1r - re[i1]! * w1i;
    const br = re[i2]! * w2r + im[i2]! * w2i; // y₂·conj(ω^{2n})
    const bi = im[i2]! * w2r - re[i2]! * w2i;
    const sr = ar + br;
    const si = ai + bi;
    const dr = (ar - br) * H3;
    const di = (ai - bi) * H3;
    const tr = re[i0]! - 0.5 * sr;
    const ti = im[i0]! - 0.5 * si;
    re[i0]! += sr;
    im[i0]! += si;
    re[i1] = tr - di; // t₀ − s/2 + i(√3/2)(t₁ − t₂)
    im[i1] = ti + dr;
    re[i2] = tr + di;
    im[i2] = ti - dr;
  }
}

/** Forward DFT of length c·2^k (c ∈ {1, 3, 9}), natural order in, block order of the header out. */
export function forwardMixed(re: Float64Array, im: Float64Array, c: number): void {
  const N = re.length;
  const M = N / c;
  if (c !== 1) difRadix3(re, im, 0, N);
  if (c === 9) for (let r = 0; r < 3; r++) difRadix3(re, im, (r * N) / 3, N / 3);
  blockResidues(c);
  for (let b = 0; b < c; b++) forwardDif(re.subarray(b * M, b * M + M), im.subarray(b * M, b * M + M));
}

/** N × the inverse DFT of length N = c·2^k from forwardMixed's order, natural order out. */
export function inverseMixed(re: Float64Array, im: Float64Array, c: number): void {
  const N = re.length;
  const M = N / c;
  blockResidues(c);
  for (let b = 0; b < c; b++) inverseDit(re.subarray(b * M, b * M + M), im.subarray(b * M, b * M + M));
  if (c === 9) for (let r = 0; r < 3; r++) ditRadix3(re, im, (r * N) / 3, N / 3);
  if (c !== 1) ditRadix3(re, im, 0, N);
}
