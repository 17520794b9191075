/**
 * Large-integer multiply-add by floating-point FFT convolution, for multiply-add-shift privacy
 * amplification: bits [from, to) of (a·x + b) mod 2^w.
 *
 * - Integers are split into D-bit balanced digits in [−2^{D−1}, 2^{D−1}) (R. E. Crandall, B. Fagin,
 *   "Discrete weighted transforms and large-integer arithmetic", Math. Comp. 62 (1994), §5: balanced digits
 *   make coefficient sizes, and so round-off, random-walk rather than worst case); the product's digits are
 *   the linear convolution of the digit sequences (A. Schönhage, V. Strassen, "Schnelle Multiplikation
 *   großer Zahlen", Computing 7 (1971)), computed as a cyclic convolution of length N = c·2^k, c ∈ {1, 3, 9}
 *   (mixed-radix-fft.ts), so N is not rounded up to a power of two.
 * - Only bits below w are wanted, and the hash only the top m of them. A cyclic convolution of length N
 *   shorter than the linear one (n_a + n_x − 1 digits) adds coefficient k + N onto k; those sums land on
 *   indices below k₀ = n_a + n_x − 1 − N, and above it every coefficient is exact (a wrapped, or "middle",
 *   product: G. Hanrot, M. Quercia, P. Zimmermann, "The middle product algorithm I", AAECC 14 (2004)).
 *   What the wrapped part would have carried upward is bounded: with |c_k| ≤ min(n_a, n_x)·2^{2D−2} and
 *   b's digits below 2^D, |Σ_{k<k₀} (c_k + b_k)·2^{Dk}| / 2^{Dk₀} ≤ C = (min(n_a, n_x)·2^{2D−2} + 2^D) /
 *   (2^D − 1). So H = Σ_{k≥k₀} (c_k + b_k)·2^{D(k−k₀)} differs from ⌊(a·x + b) / 2^{Dk₀}⌋ by at most C, and
 *   if four digits of H between 2C and `from` are neither all zeros nor all ones, that difference cannot
 *   reach bit `from`: the output bits are H's (else the call declines; probability ≈ 2^{1−4D} for random
 *   operands). The plan (multiplyPlan) leaves room for those digits below `from`. At n = 10^7, m = 4·10^6
 *   this needs 1.17·10^6 points, N = 9·2^17, instead of 2^21 for the full product.
 * - Both real digit sequences travel in one complex transform (a + i·x) whose spectra are separated by
 *   conjugate symmetry, and the real product comes back through a transform of half the length (Press et
 *   al., Numerical Recipes §12.3), in the same pass that multiplies. The transforms leave the spectrum in
 *   a block-and-bit-reversed order (mixed-radix-fft.ts's header) so no permutation is done; partners −f
 *   and f + N/2 are found from that order (separateMultiplyFold).
 * - Cost: the passes around the transforms are fused: digits are balanced without branches, b is read
 *   from the seed in the pass that carries, and rounding uses the 1.5·2^52 constant (V8's Math.round is
 *   several times slower on negative values).
 * - Exactness. Coefficient size: |c_k| ≤ min(n_a, n_x)·2^{2D−2}; at n = 10^7 (D = 12, n_x = 833,335 <
 *   2^20) that is < 2^42, far inside the 2^53 of exact doubles. Round-off: the worst-case bound for a
 *   floating-point FFT convolution (C. Percival, "Rapid multiplication modulo the sum and difference of
 *   highly composite numbers", Math. Comp. 72 (2003) 387–395, its error theorem for radix-2 FFT
 *   multiplication; the form here is as recalled, not re-derived) is
 *   ‖a‖₂‖x‖₂·((1+ε)^{3l}(1+ε√5)^{3l+1}(1+β)^{3l} − 1) ≈ ‖a‖₂‖x‖₂·(6l + √5(3l+1))·ε for l = log₂N,
 *   ε = 2^−53 and twiddles within β ≈ ε. multiplyPlan takes the shortest N (and then the smallest D) for
 *   which this is below ½: at n = 10^7 (N = 9·2^17, D = 12) it is 2^{41.9}·2^{8.1}·2^{−53} ≈ 0.12, at
 *   n = 10^6 (N = 2^17, D = 12) ≈ 0.01; only when no length has it (operands far beyond 10^7 bits) the
 *   shortest N the digit sizes allow. This module's transform (radix 4 and 3, a half-length real inverse)
 *   is not literally Percival's, so in every case exactness is also checked, never assumed: each pair of
 *   coefficients must lie within 1/4 of integers in total, every |c_k| < 2^50 (so the modular check
 *   stays exact), and the cyclic product must hold at a point z of order dividing N modulo the prime
 *   p = 27·2^20 + 1: Σ c_k z^k ≡ A(z)·X(z) (mod p), since the cyclic product is A·X mod (z^N − 1). A
 *   failed check returns null and the caller uses exact BigInt arithmetic instead. fft-multiply.test.ts
 *   compares against BigInt at n = 10^7 (random operands, and digits at the edges of the balanced range).
 */

import { blockResidues, forwardMixed, inverseMixed } from './mixed-radix-fft.ts';

/**
 * The prime of the modular check, 27·2^20 + 1: its multiplicative group has elements of every order
 * c·2^k with c | 27 and k ≤ 20, so every transform length N = c·2^k here has a z with z^N ≡ 1 (mod P).
 */
const P = 28311553;
const INV_P = 1 / P;

/** v mod P for an integer |v| < 2^52 (float quotient, then exact correction). */
function reduce(v: number): number {
  let r = v - Math.floor(v * INV_P) * P;
  if (r < 0) r += P;
  else if (r >= P) r -= P;
  return r;
}

/** g^e mod P (g < P < 2^25, so every product < 2^50 is exact). */
function powMod(g: number, e: number): number {
  let r = 1;
  for (; e > 0; e = Math.floor(e / 2)) {
    if (e % 2) r = reduce(r * g);
    g = reduce(g * g);
  }
  return r;
}

/** The smallest generator of (Z/P)^×: P − 1 = 3^3·2^20, so g^((P−1)/2) ≠ 1 and g^((P−1)/3) ≠ 1. */
const GENERATOR = (() => {
  let g = 2;
  while (powMod(g, (P - 1) / 2) === 1 || powMod(g, (P - 1) / 3) === 1) g++;
  return g;
})();

/** An element z of order gcd(N, P − 1) mod P: z^N ≡ 1. */
function rootOfUnity(N: number): number {
  let a = N;
  let b = P - 1;
  while (b) [a, b] = [b, a % b];
  return powMod(GENERATOR, (P - 1) / a);
}

/** How many digits of the carry guard must be neither all zeros nor all ones (see the header). */
const GUARD_DIGITS = 4;

/** A transform length N = c·2^k, digit size D, and where the cyclic wrap-around stops (see the header). */
export interface MultiplyPlan {
  /** Transform length (real points; the complex forward transform has N points, the inverse N/2). */
  readonly N: number;
  /** The odd factor of N: 1, 3 or 9. */
  readonly c: number;
  /** Digit size in bits. */
  readonly D: number;
  /** First coefficient index the wrap-around leaves exact (even; 0 when the product does not wrap). */
  readonly k0: number;
  /** First digit of the carry guard, −1 when the product does not wrap. */
  readonly g0: number;
  /** Percival's worst-case round-off bound for this N and D (below ½: every rounding provably exact). */
  readonly bound: number;
}

/**
 * The transform for bits [from, to) of a·x + b with a of w bits and x of xLen bits: over lengths c·2^k
 * (c ∈ {1, 3, 9}) in increasing order and digit sizes 12–20, the first (N, D) whose worst-case round-off
 * bound is below ½; when none has one (very long operands), the first the digit sizes allow.
 */
export function multiplyPlan(w: number, xLen: number, from: number, to: number): MultiplyPlan {
  const lengths: [number, number][] = [];
  for (let k = 2; k <= 26; k++)
    for (const c of [1, 3, 9]) if (c === 1 || k >= 4) lengths.push([c * 2 ** k, c]);
  lengths.sort((p, q) => p[0] - q[0]);
  let first: MultiplyPlan | null = null;
  for (const [N, c] of lengths)
    for (let D = 12; D <= 20; D++) {
      const plan = planFor(N, c, D, w, xLen, from, to);
      if (!plan) continue;
      if (plan.bound < 0.5) return plan;
      first ??= plan;
      break;
    }
  if (!first) throw new RangeError(`no FFT length for a ${w}-bit by ${xLen}-bit product`);
  return first;
}

/** The plan for one (N, D), or null if the operands do not fit or the carry guard has no room. */
function planFor(
  N: number,
  c: number,
  D: number,
  w: number,
  xLen: number,
  from: number,
  to: number,
): MultiplyPlan | null {
  const na = Math.ceil(w / D) + 1; // with the top digit's carry
  const nx = Math.ceil(xLen / D) + 1;
  if (na > N || nx > N || Math.ceil(to / D) > N) return null;
  const l = Math.log2(N);
  const bound = Math.sqrt(na * nx) * 2 ** (2 * D - 2) * (6 * l + Math.sqrt(5) * (3 * l + 1)) * 2 ** -53;
  const wrap = na + nx - 1 - N; // coefficients below this index collect wrapped-around terms
  if (wrap <= 0) return { N, c, D, k0: 0, g0: -1, bound };
  const k0 = wrap + (wrap & 1);
  // |Σ_{k<k0} (c_k + b_k)·2^{Dk}| / 2^{D·k0} < (min(na, nx)·2^{2D−2} + 2^D) / (2^D − 1) ≤ C
  const C = Math.floor((Math.min(na, nx) * 2 ** (2 * D - 2) + 2 ** D) / (2 ** D - 1)) + 1;
  let jc = 0;
  while (2 ** (D * jc) < 2 * C) jc++;
  const g0 = k0 + jc;
  if (g0 + GUARD_DIGITS > Math.floor(from / D)) return null;
  return { N, c, D, k0, g0, bound };
}

const foldTables = new Map<number, { re: Float64Array; im: Float64Array }>();

/**
 * e^{2πif/N} for the frequency f at position 2j of block b of the spectrum (forwardMixed's order), stored
 * at b·M/2 + j: f = c·rev_{M/2}(j) + ρ(b).
 */
function foldTable(N: number, c: number): { re: Float64Array; im: Float64Array } {
  let t = foldTables.get(N);
  if (!t) {
    const hm = N / c / 2;
    const bits = Math.round(Math.log2(hm));
    const rho = blockResidues(c);
    t = { re: new Float64Array(N / 2), im: new Float64Array(N / 2) };
    for (let b = 0; b < c; b++)
      for (let j = 0; j < hm; j++) {
        let r = 0;
        for (let i = 0; i < bits; i++) r |= ((j >>> i) & 1) << (bits - 1 - i);
        const a = (2 * Math.PI * (c * r + rho[b]!)) / N;
        t.re[b * hm + j] = Math.cos(a);
        t.im[b * hm + j] = Math.sin(a);
      }
    if (foldTables.size > 4) foldTables.clear();
    foldTables.set(N, t);
  }
  return t;
}

/**
 * The real sequence c = N × IDFT(P) from its Hermitian spectrum P with a transform of length N/2:
 * frequencies f and f + N/2 sit at positions 2j and 2j + 1 of a block (rev_M(2j + 1) = rev_M(2j) + M/2),
 * so Z = (P_f + P_{f+N/2}) + i·e^{2πif/N}(P_f − P_{f+N/2}) is the spectrum of z_u = c_{2u} + i·c_{2u+1}
 * (the real-output half of Numerical Recipes §12.3), in the order of a forward transform of length N/2
 * with the same blocks. This writes Z for the pair at src, src + 1 into (zr, zi) at t (twiddle index too).
 */
function fold(
  re: Float64Array,
  im: Float64Array,
  src: number,
  cr: Float64Array,
  ci: Float64Array,
  zr: Float64Array,
  zi: Float64Array,
  t: number,
): void {
  const ar = re[src]!;
  const ai = im[src]!;
  const br = re[src + 1]!;
  const bi = im[src + 1]!;
  const dr = ar - br;
  const di = ai - bi;
  const or = dr * cr[t]! - di * ci[t]!;
  const oi = dr * ci[t]! + di * cr[t]!;
  zr[t] = ar + br - oi;
  zi[t] = ai + bi + or;
}

/**
 * Bits [from, from + len) of packed words as balanced D-bit digits (D ≤ 20) in [−2^{D−1}, 2^{D−1}) into
 * out, the top digit's carry in out[count] (so out must be longer than count = ⌈len/D⌉). Branch-free digit balancing (random digits would mispredict half the time).
 */
function digits(words: Uint32Array, from: number, len: number, D: number, out: Float64Array): void {
  const count = Math.ceil(len / D);
  const mask = (1 << D) - 1;
  const half = 1 << (D - 1);
  let carry = 0;
  let lo = from;
  // Every digit but the last lies wholly before from + len ≤ 32·words.length, so words[w + 1] exists
  // whenever the digit straddles a word boundary.
  for (let j = 0; j < count - 1; j++, lo += D) {
    const w = lo >>> 5;
    const sh = lo & 31;
    let v = words[w]! >>> sh;
    if (sh + D > 32) v |= words[w + 1]! << (32 - sh);
    const d = (v & mask) + carry;
    carry = (d + half) >>> D;
    out[j] = d - (carry << D);
  }
  if (count > 0) {
    const take = from + len - lo;
    const w = lo >>> 5;
    const sh = lo & 31;
    let v = words[w]! >>> sh;
    if (sh + take > 32) v |= words[w + 1]! << (32 - sh);
    const d = (v & ((1 << take) - 1)) + carry;
    carry = (d + half) >>> D;
    out[count - 1] = d - (carry << D);
  }
  out[count] = carry;
}

/**
 * Σ d_j · z^j mod P for |d_j| < 2^48 (Horner: acc·z⁴ + d < 2^50 + 2^48 stays exact), as four
 * interleaved Horner chains in z⁴ so the dependent multiply–reduce steps overlap.
 */
function modP(d: Float64Array, count: number, z: number): number {
  const z2 = reduce(z * z);
  const z4 = reduce(z2 * z2);
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  const top = count + ((4 - (count & 3)) & 3); // digits past count read as 0
  for (let j = top - 4; j >= 0; j -= 4) {
    a0 = reduce(a0 * z4 + (j < count ? d[j]! : 0));
    a1 = reduce(a1 * z4 + (j + 1 < count ? d[j + 1]! : 0));
    a2 = reduce(a2 * z4 + (j + 2 < count ? d[j + 2]! : 0));
    a3 = reduce(a3 * z4 + (j + 3 < count ? d[j + 3]! : 0));
  }
  // Σ_k a_k · z^k
  return reduce(reduce(reduce(reduce(a3 * z) + a2) * z + a1) * z + a0);
}

/**
 * 1.5·2^52: for |v| ≤ 2^51, v + ROUNDER − ROUNDER is v rounded to the nearest integer (the sum's unit in
 * the last place is 1). Larger |v| are made to fail the distance check instead (the 2^−52·|v| term).
 */
const ROUNDER = 6755399441055744;

/** Bits [pos, pos + take) of packed words, take ≤ 20 (the caller keeps pos + take within the words). */
function bitsAt(words: Uint32Array, pos: number, take: number): number {
  const w = pos >>> 5;
  const sh = pos & 31;
  let v = words[w]! >>> sh;
  if (sh + take > 32) v |= words[w + 1]! << (32 - sh);
  return v & ((1 << take) - 1);
}

/** ORs the D-bit digit d (d < 2^D) placed at output bit `pos` (may be negative: low bits dropped) into out. */
function put(out: Uint32Array, d: number, pos: number, D: number): void {
  if (pos < 0) {
    d = Math.floor(d / 2 ** -pos);
    pos = 0;
  }
  const wi = pos >>> 5;
  const sh = pos & 31;
  out[wi]! |= d << sh;
  if (sh + D > 32) out[wi + 1]! |= d >>> (32 - sh);
}

/** Rounds the packed coefficients of pairs [lo, hi) in place; returns the largest distance (as below). */
function roundOnly(zr: Float64Array, zi: Float64Array, lo: number, hi: number, inv: number): number {
  let worst = 0;
  for (let u = lo; u < hi; u++) {
    const v0 = zr[u]! * inv;
    const v1 = zi[u]! * inv;
    const r0 = v0 + ROUNDER - ROUNDER;
    const r1 = v1 + ROUNDER - ROUNDER;
    const e = Math.abs(v0 - r0) + Math.abs(v1 - r1) + (Math.abs(v0) + Math.abs(v1)) * 2 ** -52;
    if (e > worst) worst = e;
    zr[u] = r0;
    zi[u] = r1;
  }
  return worst;
}

/**
 * Rounds the packed product in place (c_{2u} = zr[u]/4N, c_{2u+1} = zi[u]/4N, u < N/2, as
 * separateMultiplyFold and inverseMixed leave it), then ORs bits
 * [from, to) of Σ_{k ≥ k0} (c_k + b_k)·2^{Dk} into out, where b_k are the plain D-bit digits of bits
 * [bFrom, bFrom + bLen) of `seed`, the carry propagated digit by digit (|c_k| < 2^52 keeps c_k + b_k +
 * carry exact). Returns the largest distance to the nearest integer, or Infinity when the digits
 * [g0, g0 + GUARD_DIGITS) are all zeros or all ones (the carry from below k0 could reach `from`).
 */
function roundAddCarry(
  zr: Float64Array,
  zi: Float64Array,
  plan: MultiplyPlan,
  seed: Uint32Array,
  bFrom: number,
  bLen: number,
  from: number,
  to: number,
  out: Uint32Array,
): number {
  const { N, D, k0, g0 } = plan;
  const inv = 1 / (4 * N); // powers of two and 1/c: the distance check absorbs the last-bit error
  const full = 2 ** D;
  const invFull = 1 / full;
  const first = Math.floor(from / D); // the digit holding output bit 0
  const uEnd = Math.ceil(Math.ceil(to / D) / 2); // pairs holding the digits below `to`
  const bDigits = Math.ceil(bLen / D);
  const worst = roundOnly(zr, zi, 0, N >> 1, inv);
  let nonZero = g0 < 0;
  let notFull = g0 < 0;
  let carry = 0;
  for (let u = k0 >> 1; u < uEnd; u++) {
    const r0 = zr[u]!;
    const r1 = zi[u]!;
    const k = 2 * u;
    // b's digits: whole ones, then the last (shorter) one, then zeros.
    const b0 =
      k < bDigits - 1
        ? bitsAt(seed, bFrom + k * D, D)
        : k === bDigits - 1
          ? bitsAt(seed, bFrom + k * D, bLen - k * D)
          : 0;
    const b1 =
      k + 1 < bDigits - 1
        ? bitsAt(seed, bFrom + k * D + D, D)
        : k + 1 === bDigits - 1
          ? bitsAt(seed, bFrom + k * D + D, bLen - k * D - D)
          : 0;
    let t = r0 + b0 + carry;
    carry = Math.floor(t * invFull);
    const d0 = t - carry * full;
    t = r1 + b1 + carry;
    carry = Math.floor(t * invFull);
    const d1 = t - carry * full;
    if (k + 1 >= g0 && k < g0 + GUARD_DIGITS) {
      if (k >= g0) {
        nonZero ||= d0 !== 0;
        notFull ||= d0 !== full - 1;
      }
      if (k + 1 < g0 + GUARD_DIGITS) {
        nonZero ||= d1 !== 0;
        notFull ||= d1 !== full - 1;
      }
    }
    if (k >= first) put(out, d0, k * D - from, D);
    if (k + 1 >= first) put(out, d1, k * D + D - from, D);
  }
  return nonZero && notFull ? worst : Infinity;
}

/**
 * Σ c_k · z^k mod P for the packed product (c_{2u} in zr[u], c_{2u+1} in zi[u]), |c_k| < 2^50:
 * Horner from the top pair down, in z².
 */
function modPPacked(zr: Float64Array, zi: Float64Array, H: number, z: number): number {
  const z2 = reduce(z * z);
  let acc = 0;
  for (let u = H - 1; u >= 0; u--) acc = reduce(acc * z2 + reduce(reduce(zi[u]!) * z + zr[u]!));
  return acc;
}

/** 4·U_f·V_f for the partners (f, −f) at positions (p, p2) of the bit-reversed spectrum Z = DFT(a + i·x). */
function product(re: Float64Array, im: Float64Array, p: number, p2: number): void {
  const zr = re[p]!;
  const zi = im[p]!;
  const yr = re[p2]!;
  const yi = im[p2]!;
  // 2U = Z_f + conj Z_{−f}, 2V = (Z_f − conj Z_{−f})/i
  const ur = zr + yr;
  const ui = zi - yi;
  const vr = zi + yi;
  const vi = yr - zr;
  const pr = ur * vr - ui * vi;
  const pi = ur * vi + ui * vr;
  re[p] = pr;
  im[p] = pi;
  re[p2] = pr;
  im[p2] = -pi;
}

/**
 * Separates the spectra (U from a, V from x), multiplies them, and folds the product spectrum for the
 * half-length real inverse (fold) into (zr, zi), in one pass (4·U·V: the factor 4, with 1/N, is divided
 * out when rounding). The partner −f of frequency f = c·k + ρ: in block 0 (ρ = 0) positions 0 and 1 are
 * frequencies 0 and N/2 (their own partners) and for p in [2^j, 2^{j+1}) the partner is 3·2^j − 1 − p;
 * for ρ ≠ 0 it is c·(M − 1 − k) + (c − ρ), so position M − 1 − p of the block of residue c − ρ
 * (bit reversal commutes with complement).
 */
function separateMultiplyFold(
  re: Float64Array,
  im: Float64Array,
  zr: Float64Array,
  zi: Float64Array,
  c: number,
): void {
  const N = re.length;
  const M = N / c;
  const hm = M >> 1;
  const { re: cr, im: ci } = foldTable(N, c);
  product(re, im, 0, 0);
  product(re, im, 1, 1);
  fold(re, im, 0, cr, ci, zr, zi, 0);
  if (M >= 4) {
    product(re, im, 2, 3);
    fold(re, im, 2, cr, ci, zr, zi, 1);
  }
  for (let lo = 4; lo < M; lo *= 2)
    for (let p = lo, p2 = 2 * lo - 1; p < p2; p += 2, p2 -= 2) {
      product(re, im, p, p2);
      product(re, im, p + 1, p2 - 1);
      fold(re, im, p, cr, ci, zr, zi, p >> 1);
      fold(re, im, p2 - 1, cr, ci, zr, zi, (p2 - 1) >> 1);
    }
  const rho = blockResidues(c);
  for (let b = 1; b < c; b++) {
    const b2 = rho.indexOf(c - rho[b]!);
    if (b2 < b) continue;
    const o = b * M;
    const o2 = b2 * M;
    for (let p = 0; p < M; p += 2) {
      const q = M - 2 - p; // (p, p + 1) pair with (q + 1, q)
      product(re, im, o + p, o2 + q + 1);
      product(re, im, o + p + 1, o2 + q);
      fold(re, im, o + p, cr, ci, zr, zi, b * hm + (p >> 1));
      fold(re, im, o2 + q, cr, ci, zr, zi, b2 * hm + (q >> 1));
    }
  }
}

/** Scratch per length (reused: fresh megabyte arrays cost more in page faults than the FFT). */
const scratch = new Map<number, { re: Float64Array; im: Float64Array; zr: Float64Array; zi: Float64Array }>();

/**
 * Bits [from, to) of (a·x + b) mod 2^w, where a and b are bits [aFrom, aFrom + w) and [bFrom, bFrom + w)
 * of `seed` and x is the first xLen bits of `key`; null if the exactness checks fail.
 */
export function fftMultiplyAddBits(
  seed: Uint32Array,
  aFrom: number,
  bFrom: number,
  w: number,
  key: Uint32Array,
  xLen: number,
  from: number,
  to: number,
): Uint32Array | null {
  const plan = multiplyPlan(w, xLen, from, to);
  const { N, c, D } = plan;
  let buf = scratch.get(N);
  if (!buf) {
    if (scratch.size > 1) scratch.clear();
    buf = {
      re: new Float64Array(N),
      im: new Float64Array(N),
      zr: new Float64Array(N >> 1),
      zi: new Float64Array(N >> 1),
    };
    scratch.set(N, buf);
  }
  const { re, im, zr, zi } = buf;
  digits(seed, aFrom, w, D, re);
  digits(key, 0, xLen, D, im);
  const na = Math.ceil(w / D) + 1;
  const nx = Math.ceil(xLen / D) + 1;
  re.fill(0, na);
  im.fill(0, nx);
  const z = rootOfUnity(N);
  const aMod = modP(re, na, z);
  const xMod = modP(im, nx, z);
  forwardMixed(re, im, c);
  separateMultiplyFold(re, im, zr, zi, c);
  inverseMixed(zr, zi, c);
  // Round, add b and carry, and check: every coefficient near an integer, no carry from the wrapped
  // part can reach `from`, and the cyclic product right at z mod P.
  const out = new Uint32Array(((to - from + 31) >>> 5) + 1);
  const worst = roundAddCarry(zr, zi, plan, seed, bFrom, w, from, to, out);
  if (!(worst <= 0.25) || modPPacked(zr, zi, N >> 1, z) !== reduce(aMod * xMod)) return null;
  const bits = to - from;
  const words = out.subarray(0, (bits + 31) >>> 5);
  if (bits & 31) words[words.length - 1]! &= (1 << (bits & 31)) - 1;
  return words;
}
