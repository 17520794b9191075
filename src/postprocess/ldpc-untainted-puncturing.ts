/**
 * Untainted puncturing (D. Elkouss, J. Martinez-Mateo, V. Martin, "Untainted puncturing for irregular
 * low-density parity-check codes", IEEE Wireless Commun. Lett. 1(6) 2012, Algorithm 1).
 *
 * A symbol is untainted while no punctured symbol lies in its depth-2 neighbourhood N²(v) (v and every
 * symbol sharing a check with v). The algorithm repeatedly punctures an untainted symbol with the smallest
 * |N²(v)| and removes N²(v) from the candidates. Every check then holds at most one punctured symbol, so
 * every punctured symbol keeps all its checks as "survivors" (recoverable in one iteration), and the
 * columns of H restricted to the punctured symbols have disjoint supports: they are linearly independent,
 * so the p syndrome bits they touch are one-time padded by Alice's p random punctured values and the
 * syndrome leaks m − p bits about the key (Elkouss et al. 2010, §III).
 *
 * |N²(v)| = 1 + Σ_{c ∋ v} (deg c − 1) when v lies on no 4-cycle (the lift of ldpc-code.ts avoids them);
 * it is used as the static ordering key, ties broken by a seeded PRNG. Returns the punctured symbols in the
 * order chosen; any prefix is itself an untainted set.
 */
import { createRng } from '../common/index.ts';
import type { LdpcCode } from './ldpc-code.ts';

const cache = new WeakMap<LdpcCode, Int32Array>();

/** The untainted puncturing order of `code` (cached per code). */
export function untaintedPuncturing(code: LdpcCode): Int32Array {
  const hit = cache.get(code);
  if (hit) return hit;
  const { n, chkPtr, chkVar, varPtr, varChk } = code;
  const size = new Float64Array(n);
  const rng = createRng(`untainted:${code.rate}:${code.z}`);
  for (let v = 0; v < n; v++) {
    let s = 1;
    for (let k = varPtr[v]!; k < varPtr[v + 1]!; k++) s += chkPtr[varChk[k]! + 1]! - chkPtr[varChk[k]!]! - 1;
    size[v] = s + rng.nextFloat(); // fractional part: the tie-break
  }
  const order = Int32Array.from({ length: n }, (_, v) => v).sort((a, b) => size[a]! - size[b]!);
  const tainted = new Uint8Array(n);
  const out: number[] = [];
  for (const v of order) {
    if (tainted[v]) continue;
    out.push(v);
    for (let k = varPtr[v]!; k < varPtr[v + 1]!; k++) {
      const c = varChk[k]!;
      for (let e = chkPtr[c]!; e < chkPtr[c + 1]!; e++) tainted[chkVar[e]!] = 1;
    }
  }
  const list = Int32Array.from(out);
  cache.set(code, list);
  return list;
}
