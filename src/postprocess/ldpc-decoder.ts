/**
 * Plain-JavaScript belief-propagation syndrome decoders, kept as the baselines the WebAssembly decoder
 * (ldpc-box-plus-decoder.ts) is measured and tested against.
 *
 * - `LayeredDecoder`: layered sum-product in the φ domain, φ(x) = −ln tanh(x/2) tabulated, Float32
 *   messages (R. G. Gallager 1963; the check rule |R| = φ(Σ φ(|q|)) as in Richardson & Urbanke, Modern
 *   Coding Theory §2.5.6). Layered schedule: checks are processed one after another and each updates the
 *   posteriors at once, L_v ← (L_v − R_cv) + R'_cv (D. E. Hocevar, "A reduced complexity decoder
 *   architecture via layered decoding of LDPC codes", IEEE SiPS 2004).
 * - Syndrome decoding (A. D. Liveris, Z. Xiong, C. N. Georghiades, "Compression of binary sources with
 *   side information at the decoder using LDPC codes", IEEE Commun. Lett. 6(10) 2002, §II): the decoder
 *   looks for Alice's word x with H·x = s given Bob's LLRs; a check whose syndrome bit is 1 flips the sign
 *   of every message it sends.
 * - Early termination when the hard decision meets the syndrome, and a stall stop when the number of
 *   unsatisfied checks has not improved for `stall` iterations.
 *
 * Posteriors saturate at ±SATURATION so that shortened (known) bits stay pinned.
 * `sumProductFlooding` is the textbook flooding sum-product (tanh rule), Float64.
 */
import type { LdpcCode } from './ldpc-code.ts';

/** LLR magnitude of a known (shortened or revealed) bit. */
export const SATURATION = 1000;

/** Table resolution of φ: fine below 1 (where φ is steep), coarse above. */
const FINE = 1024;
const COARSE = 32;
const PHI_FINE = new Float64Array(FINE);
const PHI_COARSE = new Float64Array(31 * COARSE);
/** φ(x) = −ln tanh(x/2) = ln((eˣ + 1)/(eˣ − 1)), its own inverse on (0, ∞). */
function phiExact(x: number): number {
  return Math.log1p(Math.exp(-x)) - Math.log1p(-Math.exp(-x));
}
for (let i = 0; i < FINE; i++) PHI_FINE[i] = phiExact((i + 0.5) / FINE);
for (let i = 0; i < PHI_COARSE.length; i++) PHI_COARSE[i] = phiExact(1 + (i + 0.5) / COARSE);

/** Tabulated φ (cell midpoints; beyond 32 it is below 3·10⁻¹⁴ and taken as 0). */
function phi(x: number): number {
  if (x < 1) return PHI_FINE[(x * FINE) | 0]!;
  const i = ((x - 1) * COARSE) | 0;
  return i < PHI_COARSE.length ? PHI_COARSE[i]! : 0;
}

/** Result of one decoding attempt. */
export interface DecodeOutcome {
  readonly ok: boolean;
  readonly iterations: number;
  /** Unsatisfied checks at the end (0 when ok). */
  readonly unsatisfied: number;
}

/** Layered sum-product (φ table, Float32) over one code; keeps its messages so decoding can resume. */
export class LayeredDecoder {
  readonly code: LdpcCode;
  /** Posterior LLRs (positive: bit 0). */
  readonly posterior: Float32Array;
  readonly #channel: Float32Array;
  readonly #msg: Float32Array;
  readonly #q: Float64Array;
  readonly #p: Float64Array;
  readonly #hard: Uint8Array;
  /** Edge updates done (for throughput accounting). */
  edgeUpdates = 0;

  constructor(code: LdpcCode) {
    this.code = code;
    this.posterior = new Float32Array(code.n);
    this.#channel = new Float32Array(code.n);
    this.#msg = new Float32Array(code.chkVar.length);
    let maxDeg = 0;
    for (let c = 0; c < code.m; c++) maxDeg = Math.max(maxDeg, code.chkPtr[c + 1]! - code.chkPtr[c]!);
    this.#q = new Float64Array(maxDeg);
    this.#p = new Float64Array(maxDeg);
    this.#hard = new Uint8Array(code.n);
  }

  /** Starts afresh from channel LLRs (copied). */
  reset(channel: Float32Array): void {
    this.#channel.set(channel);
    this.posterior.set(channel);
    this.#msg.fill(0);
  }

  /** Replaces the channel LLR of variable v (a revealed bit), keeping the messages already exchanged. */
  setChannel(v: number, llr: number): void {
    this.posterior[v]! += llr - this.#channel[v]!;
    this.#channel[v] = llr;
  }

  /** Up to `maxIter` more iterations towards H·x = syndrome. */
  run(syndrome: Uint8Array, maxIter: number, stall = 12): DecodeOutcome {
    const { chkPtr, chkVar, m } = this.code;
    const L = this.posterior;
    const R = this.#msg;
    const q = this.#q;
    const p = this.#p;
    let unsat = this.#unsatisfied(syndrome);
    if (unsat === 0) return { ok: true, iterations: 0, unsatisfied: 0 };
    let best = unsat;
    let since = 0;
    for (let it = 1; it <= maxIter; it++) {
      for (let c = 0; c < m; c++) {
        const lo = chkPtr[c]!;
        const hi = chkPtr[c + 1]!;
        let sum = 0;
        let sign = syndrome[c]!;
        for (let e = lo, k = 0; e < hi; e++, k++) {
          const x = L[chkVar[e]!]! - R[e]!;
          q[k] = x;
          let a = x;
          if (x < 0) {
            sign ^= 1;
            a = -x;
          }
          const f = phi(a);
          p[k] = f;
          sum += f;
        }
        for (let e = lo, k = 0; e < hi; e++, k++) {
          const x = q[k]!;
          const rest = sum - p[k]!;
          const mag = phi(rest > 0 ? rest : 0);
          const r = (sign ^ (x < 0 ? 1 : 0)) === 1 ? -mag : mag;
          R[e] = r;
          let l = x + r;
          if (l > SATURATION) l = SATURATION;
          else if (l < -SATURATION) l = -SATURATION;
          L[chkVar[e]!] = l;
        }
      }
      this.edgeUpdates += chkVar.length;
      unsat = this.#unsatisfied(syndrome);
      if (unsat === 0) return { ok: true, iterations: it, unsatisfied: 0 };
      if (unsat < best) {
        best = unsat;
        since = 0;
      } else if (++since >= stall) return { ok: false, iterations: it, unsatisfied: unsat };
    }
    return { ok: false, iterations: maxIter, unsatisfied: unsat };
  }

  /** Hard decision of the posteriors (1 where L < 0). */
  decision(out: Uint8Array = new Uint8Array(this.code.n)): Uint8Array {
    const L = this.posterior;
    for (let v = 0; v < out.length; v++) out[v] = L[v]! < 0 ? 1 : 0;
    return out;
  }

  #unsatisfied(syndrome: Uint8Array): number {
    const { chkPtr, chkVar, m } = this.code;
    const h = this.decision(this.#hard);
    let u = 0;
    for (let c = 0; c < m; c++) {
      let p = syndrome[c]!;
      for (let e = chkPtr[c]!; e < chkPtr[c + 1]!; e++) p ^= h[chkVar[e]!]!;
      u += p;
    }
    return u;
  }
}

/**
 * Flooding sum-product (R. G. Gallager, "Low-density parity-check codes", 1963; tanh rule as in
 * Richardson & Urbanke, Modern Coding Theory §2.5.6) with syndrome signs: the plain reference the
 * optimised decoder is measured against. Returns the hard decision and whether it meets the syndrome.
 */
export function sumProductFlooding(
  code: LdpcCode,
  channel: Float32Array,
  syndrome: Uint8Array,
  maxIter: number,
): { word: Uint8Array; ok: boolean; iterations: number } {
  const { chkPtr, chkVar, m, n } = code;
  const E = chkVar.length;
  const th = new Float64Array(E);
  const v2c = new Float64Array(E);
  const c2v = new Float64Array(E);
  const total = new Float64Array(n);
  const word = new Uint8Array(n);
  for (let e = 0; e < E; e++) v2c[e] = channel[chkVar[e]!]!;
  for (let it = 1; it <= maxIter; it++) {
    for (let c = 0; c < m; c++) {
      const lo = chkPtr[c]!;
      const hi = chkPtr[c + 1]!;
      let all = syndrome[c] ? -1 : 1;
      for (let f = lo; f < hi; f++) all *= th[f] = Math.tanh(v2c[f]! / 2);
      for (let e = lo; e < hi; e++) {
        let prod: number;
        if (Math.abs(th[e]!) > 1e-9) prod = all / th[e]!;
        else {
          prod = syndrome[c] ? -1 : 1;
          for (let f = lo; f < hi; f++) if (f !== e) prod *= th[f]!;
        }
        const t = Math.min(Math.max(prod, -0.999999999999), 0.999999999999);
        c2v[e] = 2 * Math.atanh(t);
      }
    }
    total.set(channel);
    for (let e = 0; e < E; e++) total[chkVar[e]!]! += c2v[e]!;
    for (let e = 0; e < E; e++) v2c[e] = total[chkVar[e]!]! - c2v[e]!;
    for (let v = 0; v < n; v++) word[v] = total[v]! < 0 ? 1 : 0;
    let ok = true;
    for (let c = 0; c < m && ok; c++) {
      let p = syndrome[c]!;
      for (let e = chkPtr[c]!; e < chkPtr[c + 1]!; e++) p ^= word[chkVar[e]!]!;
      ok = p === 0;
    }
    if (ok) return { word, ok, iterations: it };
  }
  return { word, ok: false, iterations: maxIter };
}
