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
 * - Exactness is checked, never assumed: every coefficient must lie within 1/4 of an integer, and the
 *   rounded product must agree with (a mod p)·(x mod p) mod p for p = 2^26 − 5. A failed check returns
 *   null and the caller uses exact BigInt arithmetic instead. With D ≤ 20 and L ≤ 2^20 the observed
 *   round-off is below 0.05.
 */

/** The prime of the modular check. */
const P = 67108859; // 2^26 − 5

const twiddles = new Map<number, { re: Float64Array; im: Float64Array }>();

/** e^{−2πik/(2h)} for k < h, stored at index h + k (every half-size h < L in one table). */
function table(L: number) {
  let t = twiddles.get(L);
  if (!t) {
    const re = new Float64Array(L);
    const im = new Float64Array(L);
    for (let h = 1; h < L; h <<= 1)
      for (let k = 0; k < h; k++) {
        re[h + k] = Math.cos((Math.PI * k) / h);
        im[h + k] = -Math.sin((Math.PI * k) / h);
      }
    t = { re, im };
    if (twiddles.size > 6) twiddles.clear();
    twiddles.set(L, t);
  }
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

/**
 * Transforms up to this many points are done block by block: after the stages wider than a block, each
 * block of BLOCK points (2 × 128 KiB of doubles, within a core's L2 cache) runs all its remaining stages
 * before the next block is touched, instead of every stage streaming the whole array through memory.
 */
const BLOCK = 1 << 99;

/** One radix-4 decimation-in-frequency stage of span `size` over points [start, end). */
function difStage(
  re: Float64Array,
  im: Float64Array,
  wr: Float64Array,
  wi: Float64Array,
  size: number,
  start: number,
  end: number,
): void {
  const q = size >> 2;
  for (let s = start; s < end; s += size)
    for (let k = 0; k < q; k++) {
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
      const w1r = wr[2 * q + k]!;
      const w1i = wi[2 * q + k]!;
      const w2r = wr[q + k]!;
      const w2i = wi[q + k]!;
      const w3r = w1r * w2r - w1i * w2i;
      const w3i = w1r * w2i + w1i * w2r;
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
  const { re: wr, im: wi } = table(L);
  let size = L;
  for (; size > BLOCK && size >= 4; size >>= 2) difStage(re, im, wr, wi, size, 0, L);
  // Each block of `size` points is now independent: finish it while it is in cache.
  const block = size;
  for (let s = 0; s < L; s += block) {
    size = block;
    for (; size >= 4; size >>= 2) difStage(re, im, wr, wi, size, s, s + block);
    if (size === 2) radix2(re, im, s, s + block);
  }
}

/** One radix-4 decimation-in-time stage of span `size` over points [start, end) (difStage undone). */
function ditStage(
  re: Float64Array,
  im: Float64Array,
  wr: Float64Array,
  wi: Float64Array,
  size: number,
  start: number,
  end: number,
): void {
  const q = size >> 2;
  for (let s = start; s < end; s += size)
    for (let k = 0; k < q; k++) {
      const i0 = s + k;
      const i1 = i0 + q;
      const i2 = i1 + q;
      const i3 = i2 + q;
      const w1r = wr[2 * q + k]!;
      const w1i = -wi[2 * q + k]!;
      const w2r = wr[q + k]!;
      const w2i = -wi[q + k]!;
      const w3r = w1r * w2r - w1i * w2i;
      const w3i = w1r * w2i + w1i * w2r;
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
  const { re: wr, im: wi } = table(L);
  const odd = (31 - Math.clz32(L)) & 1;
  // The widest stage span ≤ BLOCK (spans are 2^odd·4^i), or L: stages up to it run block by block.
  let block = odd ? 2 : 1;
  while (block * 4 <= Math.min(L, BLOCK)) block *= 4;
  if (L <= BLOCK) block = L;
  for (let s = 0; s < L; s += block) {
    if (odd) radix2(re, im, s, s + block);
    for (let size = odd ? 8 : 4; size <= block; size <<= 2) ditStage(re, im, wr, wi, size, s, s + block);
  }
  for (let size = block * 4; size <= L; size <<= 2) ditStage(re, im, wr, wi, size, 0, L);
}

const halfTwiddles = new Map<number, { re: Float64Array; im: Float64Array }>();

/**
 * The real sequence c = L × IDFT(P) from its Hermitian spectrum P (bit-reversed order, length L) with a
 * transform of length L/2: frequencies f and f + L/2 sit at positions 2j and 2j + 1, so
 * Z_j = (P_f + P_{f+L/2}) + i·e^{2πif/L}(P_f − P_{f+L/2}) is the spectrum of z_u = c_{2u} + i·c_{2u+1}
 * (the real-output half of Numerical Recipes §12.3). Leaves c packed: c_{2u} in re[u], c_{2u+1} in im[u].
 */
export function realInverse(re: Float64Array, im: Float64Array): void {
  const L = re.length;
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
  const { re: cr, im: ci } = t;
  for (let j = 0; j < H; j++) {
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
  inverseDit(re.subarray(0, H), im.subarray(0, H));
}

/**
 * Bits [from, from + len) of packed words as D-bit digits (D ≤ 20) into out; balanced digits lie in
 * [−2^{D−1}, 2^{D−1}) and the top digit's carry goes to out[count] (0 for plain digits), so out must be
 * longer than count = ⌈len/D⌉. Branch-free digit balancing (random digits would mispredict half the time).
 */
function digits(
  words: Uint32Array,
  from: number,
  len: number,
  D: number,
  out: Float64Array,
  balanced: boolean,
): void {
  const count = Math.ceil(len / D);
  const mask = (1 << D) - 1;
  const half = balanced ? 1 << (D - 1) : 0; // plain digits: (d + 0) >>> D is 0 for d < 2^D
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
 * One pass over the packed product (c_{2u} = re[u]/4L, c_{2u+1} = im[u]/4L, u < L/2, as separateAndMultiply
 * and realInverse leave it): rounds every coefficient in place, and ORs bits [from, to) of Σ (c_k + b_k)·2^{Dk} into out, where
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
  const inv = 1 / (4 * L); // powers of two (4: separateAndMultiply's factor): exact
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
 * Separates the spectra (U from a, V from x) and multiplies them, leaving 4·U·V in place (the factor 4, a
 * power of two, is divided out with 1/L when rounding). In bit-reversed order positions 0 and 1 are
 * frequencies 0 and L/2 (their own partners), and for p in [2^j, 2^{j+1}) the partner is 3·2^j − 1 − p.
 */
function separateAndMultiply(re: Float64Array, im: Float64Array): void {
  const L = re.length;
  product(re, im, 0, 0);
  product(re, im, 1, 1);
  for (let lo = 2; lo < L; lo *= 2)
    for (let p = lo, p2 = 2 * lo - 1; p < p2; p++, p2--) product(re, im, p, p2);
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
  digits(seed, aFrom, w, D, re, true);
  digits(key, 0, xLen, D, im, true);
  const na = Math.ceil(w / D) + 1;
  const nx = Math.ceil(xLen / D) + 1;
  re.fill(0, na);
  im.fill(0, nx);
  const aMod = modP(re, na, D);
  const xMod = modP(im, nx, D);
  forwardDif(re, im);
  separateAndMultiply(re, im);
  realInverse(re, im);
  // Round, add b and carry, and check: every coefficient near an integer, and the product right mod P.
  const out = new Uint32Array(((to - from + 31) >>> 5) + 1);
  const worst = roundAddCarry(re, im, L, D, seed, bFrom, w, from, to, out);
  if (worst > 0.25 || modPPacked(re, im, L >> 1, D) !== (aMod * xMod) % P) return null;
  const bits = to - from;
  const words = out.subarray(0, (bits + 31) >>> 5);
  if (bits & 31) words[words.length - 1]! &= (1 << (bits & 31)) - 1;
  return words;
}
