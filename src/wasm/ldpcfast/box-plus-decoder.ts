// AssemblyScript (built by scripts/build-wasm-ldpcfast.mjs into src/postprocess/ldpc-box-plus-decoder.wasm.ts).
//
// Layered box-plus syndrome decoding of a quasi-cyclic LDPC code, 8 checks at a time in i16x8 lanes: the
// kernel of src/postprocess/ldpc-box-plus-decoder.ts, whose `BoxPlusReference` states the same integer
// arithmetic one check at a time (a test holds the two equal). The Z checks r·Z + i of block row r share
// no variable, so lanes i0..i0+7 are processed together; check r·Z + i meets variable c·Z + ((i + s) mod Z)
// for each base edge (c, s) of row r.
//
// Memory (byte offsets given to `configure`; ZP = Z rounded up to 8, lanes ≥ Z are padding):
//   rowPtr i32[rows + 1]  base edges of row r: rowPtr[r] .. rowPtr[r + 1]
//   col, shift i32[B]     base column and circulant shift of each base edge
//   L i16[n]              posteriors (1/16 nat units, positive: bit 0)
//   R i16[B·ZP]           check-to-variable messages, edge-major
//   syn i16[rows·ZP]      0, or −1 where the syndrome bit is 1
//   scratch               4·maxDeg + 1 vectors

const MAG: i16 = 400; // largest message magnitude (25 nat): 73 of them stay within Int16
const G0: i16 = 10; // g(x) = ln(1 + e^−x) ≈ max(0, 5/8 − x/4) nat = max(0, 10 − x/4) units
const GS: i32 = 2;

let Z: i32 = 0;
let ZP: i32 = 0;
let ROWS: i32 = 0;
let pRowPtr: usize = 0;
let pCol: usize = 0;
let pShift: usize = 0;
let pL: usize = 0;
let pR: usize = 0;
let pSyn: usize = 0;
let pX: usize = 0;
let pA: usize = 0;
let pF: usize = 0;
let pB: usize = 0;
let pT: usize = 0;
let lastUnsat: i32 = 0;

export function configure(
  z: i32,
  rows: i32,
  rowPtr: usize,
  col: usize,
  shift: usize,
  l: usize,
  r: usize,
  syn: usize,
  scratch: usize,
  maxDeg: i32,
): void {
  Z = z;
  ZP = (z + 7) & ~7;
  ROWS = rows;
  pRowPtr = rowPtr;
  pCol = col;
  pShift = shift;
  pL = l;
  pR = r;
  pSyn = syn;
  const v = <usize>maxDeg << 4;
  pX = scratch;
  pA = pX + v;
  pF = pA + v;
  pB = pF + v;
  pT = pB + v;
}

/** Unsatisfied checks after the last `run` or `unsatisfied` call. */
export function lastUnsatisfied(): i32 {
  return lastUnsat;
}

// @ts-ignore: decorator
@inline
function loadL(c: i32, s: i32, i0: i32): v128 {
  let j = i0 + s;
  if (j >= Z) j -= Z;
  if (i0 + 8 <= Z && j + 8 <= Z) return v128.load(pL + ((<usize>(c * Z + j)) << 1));
  for (let t = 0; t < 8; t++) {
    const i = i0 + t;
    let v: i16 = 0;
    if (i < Z) {
      let jj = i + s;
      if (jj >= Z) jj -= Z;
      v = load<i16>(pL + ((<usize>(c * Z + jj)) << 1));
    }
    store<i16>(pT + (<usize>t << 1), v);
  }
  return v128.load(pT);
}

// @ts-ignore: decorator
@inline
function storeL(c: i32, s: i32, i0: i32, x: v128): void {
  let j = i0 + s;
  if (j >= Z) j -= Z;
  if (i0 + 8 <= Z && j + 8 <= Z) {
    v128.store(pL + ((<usize>(c * Z + j)) << 1), x);
    return;
  }
  v128.store(pT, x);
  for (let t = 0; t < 8; t++) {
    const i = i0 + t;
    if (i >= Z) break;
    let jj = i + s;
    if (jj >= Z) jj -= Z;
    store<i16>(pL + ((<usize>(c * Z + jj)) << 1), load<i16>(pT + (<usize>t << 1)));
  }
}

/**
 * |a ⊞ b| on magnitudes: max(0, min(a, b) + g(a + b) − g(|a − b|)), lane-wise. Signs are handled once per
 * check (the extrinsic sign is the xor of the other edges' signs), so the box-plus chains run on
 * magnitudes alone; g's clip at 0 and the final max(0, ·) are unsigned saturating subtractions. The same
 * integers as a signed a ⊞ b: a magnitude that reaches 0 stays 0 along the chain, whatever the signs.
 */
// @ts-ignore: decorator
@inline
function boxPlusMag(a: v128, b: v128): v128 {
  const g0 = i16x8.splat(G0);
  const mn = i16x8.min_u(a, b);
  const mx = i16x8.max_u(a, b);
  const c1 = i16x8.sub_sat_u(g0, i16x8.shr_u(i16x8.add(a, b), GS));
  const c2 = i16x8.sub_sat_u(g0, i16x8.shr_u(i16x8.sub(mx, mn), GS));
  return i16x8.sub_sat_u(i16x8.add(mn, c1), c2);
}

/** Lanes i0..i0+7 of block row r: one layered update of each of those checks. */
function chunk(r: i32, i0: i32): void {
  const lo = load<i32>(pRowPtr + (<usize>r << 2));
  const d = load<i32>(pRowPtr + (<usize>(r + 1) << 2)) - lo;
  const cap = i16x8.splat(MAG);
  // Signs of the check's inputs xored together, and the syndrome bit's flip.
  let sgn = v128.load(pSyn + (<usize>(r * ZP + i0) << 1));
  for (let k = 0; k < d; k++) {
    const b = lo + k;
    const c = load<i32>(pCol + (<usize>b << 2));
    const s = load<i32>(pShift + (<usize>b << 2));
    const x = i16x8.sub_sat_s(loadL(c, s, i0), v128.load(pR + (<usize>(b * ZP + i0) << 1)));
    v128.store(pX + (<usize>k << 4), x);
    // |x| clipped to MAG (|−32768| wraps to 0x8000, which the unsigned min also clips).
    v128.store(pA + (<usize>k << 4), i16x8.min_u(i16x8.abs(x), cap));
    sgn = v128.xor(sgn, i16x8.shr_s(x, 15));
  }
  // Forward F[k] = |A[0] ⊞ … ⊞ A[k]| (k ≤ d − 2), backward B[k] = |A[k] ⊞ … ⊞ A[d − 1]| (k ≥ 1).
  let f = v128.load(pA);
  v128.store(pF, f);
  for (let k = 1; k < d - 1; k++) {
    f = boxPlusMag(f, v128.load(pA + (<usize>k << 4)));
    v128.store(pF + (<usize>k << 4), f);
  }
  let bk = v128.load(pA + (<usize>(d - 1) << 4));
  v128.store(pB + (<usize>(d - 1) << 4), bk);
  for (let k = d - 2; k > 0; k--) {
    bk = boxPlusMag(v128.load(pA + (<usize>k << 4)), bk);
    v128.store(pB + (<usize>k << 4), bk);
  }
  for (let k = 0; k < d; k++) {
    let ext: v128;
    if (k == 0) ext = v128.load(pB + 16);
    else if (k == d - 1) ext = v128.load(pF + (<usize>(d - 2) << 4));
    else ext = boxPlusMag(v128.load(pF + (<usize>(k - 1) << 4)), v128.load(pB + (<usize>(k + 1) << 4)));
    const x = v128.load(pX + (<usize>k << 4));
    const neg = v128.xor(sgn, i16x8.shr_s(x, 15));
    const m = i16x8.sub(v128.xor(ext, neg), neg);
    const b = lo + k;
    v128.store(pR + (<usize>(b * ZP + i0) << 1), m);
    const c = load<i32>(pCol + (<usize>b << 2));
    const s = load<i32>(pShift + (<usize>b << 2));
    storeL(c, s, i0, i16x8.add_sat_s(x, m));
  }
}

/** Checks whose hard decision disagrees with the syndrome. */
export function unsatisfied(): i32 {
  let u = 0;
  for (let r = 0; r < ROWS; r++) {
    const lo = load<i32>(pRowPtr + (<usize>r << 2));
    const hi = load<i32>(pRowPtr + (<usize>(r + 1) << 2));
    for (let i0 = 0; i0 < Z; i0 += 8) {
      let acc = v128.load(pSyn + (<usize>(r * ZP + i0) << 1));
      for (let b = lo; b < hi; b++)
        acc = v128.xor(
          acc,
          loadL(load<i32>(pCol + (<usize>b << 2)), load<i32>(pShift + (<usize>b << 2)), i0),
        );
      let bits = i16x8.bitmask(acc);
      if (i0 + 8 > Z) bits &= (1 << (Z - i0)) - 1;
      u += popcnt(bits);
    }
  }
  lastUnsat = u;
  return u;
}

/**
 * Up to maxIter layered iterations; stops when the syndrome is met (returns the iterations done) or when
 * the unsatisfied count has not improved for `stall` iterations or maxIter is reached (returns minus the
 * iterations done). Returns 0 if the syndrome is met before any iteration.
 */
export function run(maxIter: i32, stall: i32): i32 {
  let unsat = unsatisfied();
  if (unsat == 0) return 0;
  let best = unsat;
  let since = 0;
  for (let it = 1; it <= maxIter; it++) {
    for (let r = 0; r < ROWS; r++) for (let i0 = 0; i0 < Z; i0 += 8) chunk(r, i0);
    unsat = unsatisfied();
    if (unsat == 0) return it;
    if (unsat < best) {
      best = unsat;
      since = 0;
    } else if (++since >= stall) return -it;
  }
  return -maxIter;
}
