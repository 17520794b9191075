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
function radix2(re: Float64Array, im: Float64Array): void {
  for (let s = 0; s < re.length; s += 2) {
    const xr = re[s + 1]!;
    const xi = im[s + 1]!;
    re[s + 1] = re[s]! - xr;
    im[s + 1] = im[s]! - xi;
    re[s]! += xr;
    im[s]! += xi;
  }
}

/** Forward DFT, natural order in, bit-reversed out (radix-4 stages, one radix-2 stage if log₂L is odd). */
export function forwardDif(re: Float64Array, im: Float64Array): void {
  const L = re.length;
  const { re: wr, im: wi } = table(L);
  let size = L;
  for (; size >= 4; size >>= 2) {
    const q = size >> 2;
    for (let s = 0; s < L; s += size)
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
  if (size === 2) radix2(re, im);
}

/** L × the inverse DFT, bit-reversed in, natural out: forwardDif's butterflies undone in reverse order. */
export function inverseDit(re: Float64Array, im: Float64Array): void {
  const L = re.length;
  const { re: wr, im: wi } = table(L);
  let size = 4;
  if ((31 - Math.clz32(L)) & 1) {
    radix2(re, im);
    size = 8;
  }
  for (; size <= L; size <<= 2) {
    const q = size >> 2;
    for (let s = 0; s < L; s += size)
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
}

const halfTwiddles = new Map<number, { re: Float64Array; im: Float64Array }>();

/**
 * The real sequence c = L × IDFT(P) from its Hermitian spectrum P (bit-reversed order, length L) with a
 * transform of length L/2: frequencies f and f + L/2 sit at positions 2j and 2j + 1, so
 * Z_j = (P_f + P_{f+L/2}) + i·e^{2πif/L}(P_f − P_{f+L/2}) is the spectrum of z_u = c_{2u} + i·c_{2u+1}
 * (the real-output half of Numerical Recipes §12.3). Leaves c in `re`.
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
  for (let u = H - 1; u >= 0; u--) {
    const y = im[u]!;
    re[2 * u] = re[u]!;
    re[2 * u + 1] = y;
  }
}

/** Bits [from, from + len) of packed words as D-bit digits into out (balanced: in [−2^{D−1}, 2^{D−1})). */
function digits(
  words: Uint32Array,
  from: number,
  len: number,
  D: number,
  out: Float64Array,
  balanced: boolean,
): void {
  const count = Math.ceil(len / D);
  const half = 2 ** (D - 1);
  const full = 2 ** D;
  let carry = 0;
  for (let j = 0; j < count; j++) {
    const lo = from + j * D;
    const take = Math.min(D, from + len - lo);
    const w = lo >>> 5;
    const sh = lo & 31;
    // Up to 20 bits starting at bit sh of words[w] (may straddle into words[w + 1]).
    let v = (words[w] ?? 0) >>> sh;
    if (sh + take > 32) v |= (words[w + 1] ?? 0) << (32 - sh);
    v = take === 32 ? v >>> 0 : v & ((1 << take) - 1);
    let d = v + carry;
    carry = 0;
    if (balanced && d >= half) {
      d -= full;
      carry = 1;
    }
    out[j] = d;
  }
  out[count] = carry; // the balanced top digit's carry (0 for plain digits); out must be longer than count
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
  // Separate the spectra (U from a, V from x) and multiply, pairwise over (p, partner p').
  for (let j = 0, lo = 1; lo <= L; j++, lo *= 2) {
    const first = lo === 1 ? 0 : lo;
    const last = lo === 1 ? 1 : 2 * lo - 1;
    for (let p = first; p <= last; p++) {
      const p2 = lo === 1 ? p : 3 * lo - 1 - p;
      if (p2 < p) continue;
      const zr = re[p]!;
      const zi = im[p]!;
      const yr = re[p2]!;
      const yi = im[p2]!;
      const ur = (zr + yr) / 2;
      const ui = (zi - yi) / 2;
      const vr = (zi + yi) / 2;
      const vi = (yr - zr) / 2;
      const pr = ur * vr - ui * vi;
      const pi = ur * vi + ui * vr;
      re[p] = pr;
      im[p] = pi;
      re[p2] = pr;
      im[p2] = -pi;
    }
    if (lo * 2 >= L) break;
  }
  realInverse(re, im);
  // Round and check: every coefficient near an integer, and the product right mod P.
  let worst = 0;
  const c = re;
  for (let k = 0; k < L; k++) {
    const v = re[k]! / L;
    const r = Math.round(v);
    const e = Math.abs(v - r);
    if (e > worst) worst = e;
    c[k] = r;
  }
  if (worst > 0.25 || modP(c, L, D) !== (aMod * xMod) % P) return null;
  const bd = im;
  digits(seed, bFrom, w, D, bd, false);
  const out = new Uint32Array(((to - from + 31) >>> 5) + 1);
  const full = 2 ** D;
  let carry = 0;
  const lastDigit = Math.ceil(to / D);
  for (let k = 0; k < lastDigit; k++) {
    const t = c[k]! + bd[k]! + carry;
    carry = Math.floor(t / full);
    let d = t - carry * full; // in [0, 2^D)
    let pos = k * D - from; // bit position of the digit in the output
    if (pos + D <= 0) continue;
    if (pos < 0) {
      d = Math.floor(d / 2 ** -pos);
      pos = 0;
    }
    const wi = pos >>> 5;
    const sh = pos & 31;
    out[wi]! |= d << sh;
    if (sh + D > 32) out[wi + 1]! |= d >>> (32 - sh);
  }
  const bits = to - from;
  const words = out.subarray(0, (bits + 31) >>> 5);
  if (bits & 31) words[words.length - 1]! &= (1 << (bits & 31)) - 1;
  return words;
}
