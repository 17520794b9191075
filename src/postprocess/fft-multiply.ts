/**
 * Large-integer multiply-add by floating-point FFT convolution, for multiply-add-shift privacy
 * amplification: bits [from, to) of (a·x + b) mod 2^w.
 *
 * - Integers are split into D-bit balanced digits in [−2^{D−1}, 2^{D−1}) (R. E. Crandall, B. Fagin,
 *   "Discrete weighted transforms and large-integer arithmetic", Math. Comp. 62 (1994), §5: balanced digits
 *   make coefficient sizes, and so round-off, random-walk rather than worst case); the product's digits are
 *   the linear convolution of the digit sequences (A. Schönhage, V. Strassen, "Schnelle Multiplikation
 *   großer Zahlen", Computing 7 (1971)), computed as a cyclic convolution of power-of-two length L.
 * - Both real digit sequences travel in one complex transform (a + i·x) whose spectra are separated by
 *   conjugate symmetry, and the real product comes back through a transform of half the length (Press et
 *   al., Numerical Recipes §12.3). The forward transform is radix-4
 *   decimation in frequency (Gentleman–Sande; natural order in, bit-reversed out), the inverse is the
 *   mirrored decimation in time (bit-reversed in, natural out), so no bit-reversal permutation is done; in
 *   bit-reversed order the partner of frequency k, L − k, sits at 3·2^j − 1 − p for position p in [2^j, 2^{j+1}).
 * - Cost: the transforms are compute-bound here (running the narrow stages block by block in cache
 *   measured no gain at 2^21 points, so it is not done); the passes around them are fused: digits are balanced without
 *   branches, b is read from the seed in the pass that rounds and carries, and rounding uses the 1.5·2^52
 *   constant (V8's Math.round is several times slower on negative values).
 * - Exactness. Coefficient size: with |digit| ≤ 2^{D−1}, |c_k| ≤ min(n_a, n_x)·2^{2D−2}. At n = 10^7,
 *   m = 4·10^6 (L = 2^21, D = 12, n_x = 833,335 < 2^20) that is < 2^42, far inside the 2^53 of exact
 *   doubles. Round-off: the worst-case bound for a floating-point FFT convolution (C. Percival, "Rapid
 *   multiplication modulo the sum and difference of highly composite numbers", Math. Comp. 72 (2003)
 *   387–395, its error theorem for radix-2 FFT multiplication; the form here is as recalled, not re-derived) is ‖a‖₂‖x‖₂·((1+ε)^{3l}(1+ε√5)^{3l+1}(1+β)^{3l} − 1) ≈ ‖a‖₂‖x‖₂·(6l + √5(3l+1))·ε
 *   for l = log₂L, ε = 2^−53 and twiddles within β ≈ ε; at n = 10^7 that is 2^{41.9}·2^{8.1}·2^{−53} ≈ 0.12
 *   < 1/2, so rounding recovers every coefficient. At n = 10^6 (L = 2^17, D = 19) the same bound is ≈ 100:
 *   no worst-case guarantee, only the random-walk size of balanced digits (observed round-off < 0.05).
 *   This module's transform (radix 4, a half-length real inverse) is not literally Percival's, so in
 *   every case exactness is also checked, never assumed: each pair of coefficients must lie within 1/4
 *   of integers in total, every |c_k| < 2^50 (so the modular check below stays exact), and the rounded
 *   product must agree with (a mod p)·(x mod p) mod p for p = 2^26 − 5. A failed check returns null and
 *   the caller uses exact BigInt arithmetic instead. fft-multiply.test.ts compares against BigInt at
 *   n = 10^7 (random operands, and digits at the edges of the balanced range).
 */

/** The prime of the modular check. */
const P = 67108859; // 2^26 − 5

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

const halfTwiddles = new Map<number, { re: Float64Array; im: Float64Array }>();

/** e^{2πif/L} for the frequency f at position 2j of the bit-reversed spectrum, j < L/2. */
function halfTable(L: number): { re: Float64Array; im: Float64Array } {
  const H = L >> 1;
  let t = halfTwiddles.get(L);
  if (!t) {
    const bits = 31 - Math.clz32(H);
    t = { re: new Float64Array(H), im: new Float64Array(H) };
    for (let j = 0; j < H; j++) {
      let f = 0;
      for (let b = 0; b < bits; b++) f |= ((j >>> b) & 1) << (bits - 1 - b);
      t.re[j] = Math.cos((2 * Math.PI * f) / L);
      t.im[j] = Math.sin((2 * Math.PI * f) / L);
    }
    if (halfTwiddles.size > 6) halfTwiddles.clear();
    halfTwiddles.set(L, t);
  }
  return t;
}

/**
 * The real sequence c = L × IDFT(P) from its Hermitian spectrum P (bit-reversed order, length L) with a
 * transform of length L/2: frequencies f and f + L/2 sit at positions 2j and 2j + 1, so
 * Z_j = (P_f + P_{f+L/2}) + i·e^{2πif/L}(P_f − P_{f+L/2}) is the spectrum of z_u = c_{2u} + i·c_{2u+1}
 * (the real-output half of Numerical Recipes §12.3); inverseDit of Z over the first L/2 positions then
 * leaves c packed: c_{2u} in re[u], c_{2u+1} in im[u]. This writes Z_j at position j.
 */
function fold(re: Float64Array, im: Float64Array, cr: Float64Array, ci: Float64Array, j: number): void {
  const ar = re[2 * j]!;
  const ai = im[2 * j]!;
  const br = re[2 * j + 1]!;
  const bi = im[2 * j + 1]!;
  const dr = ar - br;
  const di = ai - bi;
  const or = dr * cr[j]! - di * ci[j]!;
  const oi = dr * ci[j]! + di * cr[j]!;
  re[j] = ar + br - oi;
  im[j] = ai + bi + or;
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

const INV_P = 1 / P;

/** v mod P for an integer |v| < 2^52 (float quotient, then exact correction). */
function reduce(v: number): number {
  let r = v - Math.floor(v * INV_P) * P;
  if (r < 0) r += P;
  else if (r >= P) r -= P;
  return r;
}

/**
 * Σ digit_j · 2^{Dj} mod P for |d| < 2^48 (Horner: acc·R⁴ + d < 2^52 + 2^48 stays exact), as four
 * interleaved Horner chains in R⁴ so the dependent multiply–reduce steps overlap.
 */
function modP(d: Float64Array, count: number, D: number): number {
  const R = 2 ** D % P;
  const R2 = reduce(R * R);
  const R4 = reduce(R2 * R2);
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  const top = count + ((4 - (count & 3)) & 3); // digits past count read as 0
  for (let j = top - 4; j >= 0; j -= 4) {
    a0 = reduce(a0 * R4 + (j < count ? d[j]! : 0));
    a1 = reduce(a1 * R4 + (j + 1 < count ? d[j + 1]! : 0));
    a2 = reduce(a2 * R4 + (j + 2 < count ? d[j + 2]! : 0));
    a3 = reduce(a3 * R4 + (j + 3 < count ? d[j + 3]! : 0));
  }
  // Σ_k a_k · R^k
  return reduce(reduce(reduce(reduce(a3 * R) + a2) * R + a1) * R + a0);
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

/**
 * One pass over the packed product (c_{2u} = re[u]/4L, c_{2u+1} = im[u]/4L, u < L/2, as separateMultiplyFold
 * and inverseDit leave it): rounds every coefficient in place, and ORs bits [from, to) of Σ (c_k + b_k)·2^{Dk} into out, where
 * b_k are the plain D-bit digits of bits [bFrom, bFrom + bLen) of `seed`, the carry propagated digit by
 * digit (|c_k| < 2^52 keeps c_k + b_k + carry exact). Returns the largest distance to the nearest integer.
 */
function roundAddCarry(
  re: Float64Array,
  im: Float64Array,
  L: number,
  D: number,
  seed: Uint32Array,
  bFrom: number,
  bLen: number,
  from: number,
  to: number,
  out: Uint32Array,
): number {
  const inv = 1 / (4 * L); // powers of two (4: separateMultiplyFold's factor): exact
  const full = 2 ** D;
  const invFull = 1 / full;
  const first = Math.floor(from / D); // the digit holding output bit 0
  const uEnd = Math.ceil(Math.ceil(to / D) / 2); // pairs holding the digits below `to`
  const bDigits = Math.ceil(bLen / D);
  let worst = 0;
  let carry = 0;
  for (let u = 0; u < uEnd; u++) {
    const v0 = re[u]! * inv;
    const v1 = im[u]! * inv;
    const r0 = v0 + ROUNDER - ROUNDER;
    const r1 = v1 + ROUNDER - ROUNDER;
    const e = Math.abs(v0 - r0) + Math.abs(v1 - r1) + (Math.abs(v0) + Math.abs(v1)) * 2 ** -52;
    if (e > worst) worst = e;
    re[u] = r0;
    im[u] = r1;
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
    if (k >= first) put(out, t - carry * full, k * D - from, D);
    t = r1 + b1 + carry;
    carry = Math.floor(t * invFull);
    if (k + 1 >= first) put(out, t - carry * full, k * D + D - from, D);
  }
  for (let u = uEnd; u < L >> 1; u++) {
    const v0 = re[u]! * inv;
    const v1 = im[u]! * inv;
    const r0 = v0 + ROUNDER - ROUNDER;
    const r1 = v1 + ROUNDER - ROUNDER;
    const e = Math.abs(v0 - r0) + Math.abs(v1 - r1) + (Math.abs(v0) + Math.abs(v1)) * 2 ** -52;
    if (e > worst) worst = e;
    re[u] = r0;
    im[u] = r1;
  }
  return worst;
}

/**
 * Σ c_k · 2^{Dk} mod P for the packed product (c_{2u} in re[u], c_{2u+1} in im[u]), |c_k| < 2^48:
 * Horner from the top pair down, in R² = 2^{2D} mod P.
 */
function modPPacked(re: Float64Array, im: Float64Array, H: number, D: number): number {
  const R = 2 ** D % P;
  const R2 = reduce(R * R);
  let acc = 0;
  for (let u = H - 1; u >= 0; u--) acc = reduce(acc * R2 + reduce(reduce(im[u]!) * R + re[u]!));
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
 * Separates the spectra (U from a, V from x), multiplies them, and folds the product spectrum for
 * the half-length real inverse (fold), in one pass: 4·U·V (the factor 4, a power of two, is divided out
 * with 1/L when rounding), folded pairs written below the octave being read. In bit-reversed order
 * positions 0 and 1 are frequencies 0 and L/2 (their own partners), and for p in [2^j, 2^{j+1}) the
 * partner is 3·2^j − 1 − p; so an even p, p + 1 and their partners p2 − 1, p2 form two folding pairs.
 */
function separateMultiplyFold(re: Float64Array, im: Float64Array): void {
  const L = re.length;
  const { re: cr, im: ci } = halfTable(L);
  product(re, im, 0, 0);
  product(re, im, 1, 1);
  fold(re, im, cr, ci, 0);
  if (L >= 4) {
    product(re, im, 2, 3);
    fold(re, im, cr, ci, 1);
  }
  for (let lo = 4; lo < L; lo *= 2)
    for (let p = lo, p2 = 2 * lo - 1; p < p2; p += 2, p2 -= 2) {
      product(re, im, p, p2);
      product(re, im, p + 1, p2 - 1);
      fold(re, im, cr, ci, p >> 1);
      fold(re, im, cr, ci, (p2 - 1) >> 1);
    }
}

/** Scratch transforms per length (reused: fresh megabyte arrays cost more in page faults than the FFT). */
const scratch = new Map<number, { re: Float64Array; im: Float64Array }>();

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
  // Digit size and transform length: the smallest L with D ≤ 20 holding the linear convolution.
  let L = 4;
  let D = 20;
  for (; ; L *= 2) {
    D = Math.max(12, Math.ceil((w + xLen) / (L - 2)));
    if (D <= 20 && Math.ceil(w / D) + Math.ceil(xLen / D) + 1 <= L) break;
  }
  let buf = scratch.get(L);
  if (!buf) {
    if (scratch.size > 2) scratch.clear();
    buf = { re: new Float64Array(L), im: new Float64Array(L) };
    scratch.set(L, buf);
  }
  const { re, im } = buf;
  digits(seed, aFrom, w, D, re);
  digits(key, 0, xLen, D, im);
  const na = Math.ceil(w / D) + 1;
  const nx = Math.ceil(xLen / D) + 1;
  re.fill(0, na);
  im.fill(0, nx);
  const aMod = modP(re, na, D);
  const xMod = modP(im, nx, D);
  forwardDif(re, im);
  separateMultiplyFold(re, im);
  inverseDit(re.subarray(0, L >> 1), im.subarray(0, L >> 1));
  // Round, add b and carry, and check: every coefficient near an integer, and the product right mod P.
  const out = new Uint32Array(((to - from + 31) >>> 5) + 1);
  const worst = roundAddCarry(re, im, L, D, seed, bFrom, w, from, to, out);
  if (worst > 0.25 || modPPacked(re, im, L >> 1, D) !== (aMod * xMod) % P) return null;
  const bits = to - from;
  const words = out.subarray(0, (bits + 31) >>> 5);
  if (bits & 31) words[words.length - 1]! &= (1 << (bits & 31)) - 1;
  return words;
}
