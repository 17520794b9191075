/**
 * Irregular LDPC mother codes for reconciliation over the binary symmetric channel, built by qkdnet from
 * the degree distributions of D. Elkouss, A. Leverrier, R. Alléaume, J. J. Boutros, "Efficient
 * reconciliation protocol for discrete-variable quantum key distribution", ISIT 2009 (arXiv:0901.2140),
 * Table I (optimised by density evolution for the BSC; edge perspective, λ(x) = Σ λ_d x^{d−1}). The
 * rate-0.85 row is left out: its λ coefficients sum to 1.05 in the published table.
 *
 * Construction (deterministic for a rate and a lifting size, no shipped matrices):
 * 1. A protograph (base graph) of NB = 400 variable and NB·(1 − R) check nodes: node degree counts follow
 *    λ converted to the node perspective, Λ_d ∝ λ_d / d (Richardson & Urbanke, Modern Coding Theory §3.4),
 *    rounded by largest remainder; check degrees are concentrated (⌊E/M⌋ or ⌈E/M⌉, the check-concentrated
 *    form the table's ρ is close to). Variables, highest degree first, take the distinct checks with the
 *    most free sockets (ties broken by a seeded PRNG), so the base graph has no parallel edges.
 * 2. A quasi-cyclic lift by Z (M. P. C. Fossorier, "Quasi-cyclic LDPC codes from circulant permutation
 *    matrices", IEEE T-IT 50 (2004)): each base edge becomes a Z×Z circulant permutation with shift s.
 *    Shifts are drawn greedily so that no 4-cycle closes (Fossorier Thm. 2.1: a 4-cycle exists iff
 *    s₁ − s₂ + s₃ − s₄ ≡ 0 mod Z around a base 2×2 cycle); when Z is too small for that (short frames) the
 *    shift with the fewest 4-cycles is taken.
 * The code length is N = NB·Z; frames use any length up to N by shortening (ldpc-rate-adaptive.ts).
 */
import { createRng, type Rng } from '../common/index.ts';

/** Columns of every base graph. */
export const BASE_COLUMNS = 400;

/** A degree distribution pair of Elkouss et al. 2009 Table I: [degree, edge fraction] pairs. */
export interface DegreeDistribution {
  readonly rate: number;
  /** BSC crossover probability at which density evolution still converges (the table's threshold). */
  readonly threshold: number;
  readonly lambda: readonly (readonly [number, number])[];
}

/** Elkouss et al. 2009 Table I, λ only (check degrees are concentrated, see above); degree = exponent + 1. */
export const ELKOUSS_2009_DISTRIBUTIONS: readonly DegreeDistribution[] = [
  { rate: 0.9, threshold: 0.0109, lambda: [[2, 0.07689], [3, 0.28096], [5, 0.08933], [9, 0.1962], [12, 0.30631], [21, 0.05031]] },
  { rate: 0.8, threshold: 0.0298, lambda: [[2, 0.0942], [3, 0.18088], [6, 0.11972], [7, 0.0855], [8, 0.09816], [17, 0.07194], [26, 0.3496]] },
  { rate: 0.75, threshold: 0.0392, lambda: [[2, 0.10805], [3, 0.09511], [4, 0.01449], [5, 0.13764], [6, 0.10667], [7, 0.05288], [28, 0.01107], [31, 0.47408]] },
  { rate: 0.7, threshold: 0.0504, lambda: [[2, 0.05343], [3, 0.29406], [6, 0.00896], [9, 0.15571], [12, 0.12189], [25, 0.19872], [46, 0.09572], [62, 0.02741], [65, 0.04056], [73, 0.00354]] },
  { rate: 0.65, threshold: 0.0633, lambda: [[2, 0.10451], [3, 0.15652], [4, 0.08057], [5, 0.00056], [9, 0.12151], [13, 0.10485], [15, 0.10719], [21, 0.00771], [51, 0.31656]] },
  { rate: 0.6, threshold: 0.0766, lambda: [[2, 0.1104], [3, 0.20804], [8, 0.14163], [9, 0.14858], [26, 0.14438], [27, 0.08909], [46, 0.00748], [71, 0.15038]] },
  { rate: 0.55, threshold: 0.0904, lambda: [[2, 0.1688], [3, 0.20994], [6, 0.18095], [15, 0.03846], [16, 0.02635], [18, 0.23454], [19, 0.05815], [31, 0.0828]] },
  { rate: 0.5, threshold: 0.1071, lambda: [[2, 0.14438], [3, 0.19026], [4, 0.01836], [5, 0.00233], [6, 0.04697], [8, 0.053943], [9, 0.0559], [10, 0.0129], [11, 0.00162], [14, 0.06159], [15, 0.13115], [17, 0.01481], [47, 0.00879], [49, 0.0065], [55, 0.0021], [56, 0.00099], [57, 0.11178], [58, 0.06238], [59, 0.05094], [66, 0.0223]] },
]; // prettier-ignore

/** A binary parity-check matrix H (m × n) in compressed sparse row form (check-major), plus columns. */
export interface LdpcCode {
  readonly rate: number;
  readonly n: number;
  readonly m: number;
  readonly z: number;
  /** Edges of check c are chkVar[chkPtr[c] .. chkPtr[c+1]). */
  readonly chkPtr: Int32Array;
  readonly chkVar: Int32Array;
  /** Checks of variable v are varChk[varPtr[v] .. varPtr[v+1]). */
  readonly varPtr: Int32Array;
  readonly varChk: Int32Array;
  /** Base graph: per base edge its row, column and circulant shift. */
  readonly base: {
    readonly rows: number;
    readonly row: Int32Array;
    readonly col: Int32Array;
    readonly shift: Int32Array;
  };
}

/** Integer counts summing to `total`, proportional to `weights` (largest remainder). */
function apportion(weights: readonly number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w / sum) * total);
  const out = exact.map(Math.floor);
  const order = exact
    .map((x, i) => [x - Math.floor(x), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0, left = total - out.reduce((a, b) => a + b, 0); k < left; k++) out[order[k]![1]]!++;
  return out;
}

/** The base graph's edges (row, column) for a distribution: node-perspective degrees, simple graph. */
export function baseGraph(
  dist: DegreeDistribution,
  rng: Rng,
): { rows: number; row: Int32Array; col: Int32Array } {
  const degs = dist.lambda.map(([d]) => d);
  const counts = apportion(
    dist.lambda.map(([d, l]) => l / d),
    BASE_COLUMNS,
  );
  const rows = Math.round(BASE_COLUMNS * (1 - dist.rate));
  const colDeg: number[] = [];
  for (let i = degs.length - 1; i >= 0; i--)
    for (let k = 0; k < counts[i]!; k++) colDeg.push(Math.min(degs[i]!, rows));
  const edges = colDeg.reduce((a, b) => a + b, 0);
  const free = Array.from({ length: rows }, (_, r) => Math.floor(edges / rows) + (r < edges % rows ? 1 : 0));
  const row: number[] = [];
  const col: number[] = [];
  const tie = new Float64Array(rows);
  const idx = Array.from({ length: rows }, (_, r) => r);
  colDeg.forEach((d, c) => {
    for (let r = 0; r < rows; r++) tie[r] = rng.nextFloat();
    idx.sort((a, b) => free[b]! - free[a]! || tie[a]! - tie[b]!);
    for (let k = 0; k < d; k++) {
      const r = idx[k]!;
      free[r]!--;
      row.push(r);
      col.push(c);
    }
  });
  return { rows, row: Int32Array.from(row), col: Int32Array.from(col) };
}

/** Circulant shifts for the base edges avoiding 4-cycles where Z allows (Fossorier 2004 Thm. 2.1). */
export function liftShifts(rows: number, row: Int32Array, col: Int32Array, z: number, rng: Rng): Int32Array {
  const E = row.length;
  const at = new Int32Array(rows * BASE_COLUMNS).fill(-1); // shift of (r, c) once assigned
  const rowCols: number[][] = Array.from({ length: rows }, () => []);
  const colRows: number[][] = Array.from({ length: BASE_COLUMNS }, () => []);
  const shift = new Int32Array(E);
  const bad = new Int32Array(z);
  for (let e = 0; e < E; e++) {
    const r = row[e]!;
    const c = col[e]!;
    bad.fill(0);
    for (const c2 of rowCols[r]!)
      for (const r2 of colRows[c]!) {
        const s22 = at[r2 * BASE_COLUMNS + c2]!;
        if (s22 < 0) continue;
        const f = (at[r * BASE_COLUMNS + c2]! - s22 + at[r2 * BASE_COLUMNS + c]!) % z;
        bad[(f + z) % z]!++;
      }
    // The first least-conflicting shift from a random offset (all are conflict-free once Z is large).
    let best = Infinity;
    let pick = 0;
    const start = rng.nextInt(z);
    for (let k = 0; k < z && best > 0; k++) {
      const s = (start + k) % z;
      if (bad[s]! < best) {
        best = bad[s]!;
        pick = s;
      }
    }
    shift[e] = pick;
    at[r * BASE_COLUMNS + c] = pick;
    rowCols[r]!.push(c);
    colRows[c]!.push(r);
  }
  return shift;
}

/** Expands base edges and shifts into H: check r·Z + i meets variable c·Z + ((i + s) mod Z). */
export function liftCode(
  rate: number,
  rows: number,
  row: Int32Array,
  col: Int32Array,
  shift: Int32Array,
  z: number,
): LdpcCode {
  const n = BASE_COLUMNS * z;
  const m = rows * z;
  const E = row.length * z;
  const rowDeg = new Int32Array(rows);
  for (let e = 0; e < row.length; e++) rowDeg[row[e]!]!++;
  const chkPtr = new Int32Array(m + 1);
  for (let c = 0; c < m; c++) chkPtr[c + 1] = chkPtr[c]! + rowDeg[Math.floor(c / z)]!;
  const chkVar = new Int32Array(E);
  const fill = chkPtr.slice(0, m);
  for (let e = 0; e < row.length; e++) {
    const r = row[e]!;
    const c = col[e]!;
    const s = shift[e]!;
    for (let i = 0; i < z; i++) chkVar[fill[r * z + i]!++] = c * z + ((i + s) % z);
  }
  const varPtr = new Int32Array(n + 1);
  for (let e = 0; e < E; e++) varPtr[chkVar[e]! + 1]!++;
  for (let v = 0; v < n; v++) varPtr[v + 1]! += varPtr[v]!;
  const varChk = new Int32Array(E);
  const vfill = varPtr.slice(0, n);
  for (let c = 0; c < m; c++)
    for (let e = chkPtr[c]!; e < chkPtr[c + 1]!; e++) varChk[vfill[chkVar[e]!]!++] = c;
  return { rate, n, m, z, chkPtr, chkVar, varPtr, varChk, base: { rows, row, col, shift } };
}

const cache = new Map<string, LdpcCode>();

/** The mother code of `dist` lifted by `z` (cached; the same on every machine for the same arguments). */
export function ldpcCode(dist: DegreeDistribution, z: number): LdpcCode {
  if (!(Number.isInteger(z) && z >= 1 && z <= 1 << 14))
    throw new RangeError(`LDPC lifting size ${z} outside 1..16384`);
  const key = `${dist.rate}:${z}`;
  let code = cache.get(key);
  if (!code) {
    const rng = createRng(`ldpc-elkouss2009:${dist.rate}`);
    const g = baseGraph(dist, rng.stream('base'));
    const shift = liftShifts(g.rows, g.row, g.col, z, rng.stream(`lift:${z}`));
    code = liftCode(dist.rate, g.rows, g.row, g.col, shift, z);
    if (cache.size >= 12) cache.delete(cache.keys().next().value!);
    cache.set(key, code);
  }
  return code;
}

/** Syndrome s = H·x over GF(2) of a word given one byte (0/1) per bit. */
export function syndromeOf(code: LdpcCode, x: Uint8Array, out = new Uint8Array(code.m)): Uint8Array {
  const { chkPtr, chkVar } = code;
  for (let c = 0; c < code.m; c++) {
    let p = 0;
    for (let e = chkPtr[c]!; e < chkPtr[c + 1]!; e++) p ^= x[chkVar[e]!]!;
    out[c] = p;
  }
  return out;
}
