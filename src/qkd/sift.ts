/**
 * Sifting of decoy-state BB84 (C. H. Bennett, G. Brassard 1984; efficient BB84: H.-K. Lo, H. F. Chau,
 * M. Ardehali, J. Cryptology 18, 133, 2005): Bob announces which gates clicked and his basis, Alice her
 * basis and intensity class; detections with matching bases are kept. Z-basis bits of every class form the
 * key (as in C. C.-W. Lim et al., PRA 89, 022307, 2014, where the decoy bounds then credit only
 * single-photon events); X-basis bits are disclosed to test the phase error. Sans-IO: a pure function of
 * the raw record.
 */
import { BitArray, popcount32, type ClassBasisCounts, type RawRecord } from '../common/index.ts';
import type { CountsByClass, LinkRawRecord, Sifted, SiftedBasis } from './types.ts';

/**
 * Pulses per (k, a, b) at k·4 + a·2 + b: the record's own counts when it carries them (the engine's
 * LinkRawRecord), else the expectation from the pulse count, the class probabilities and the Z-basis
 * share of Alice's detected pulses (an unbiased estimate of her basis bias).
 */
export function sentByClassBasis(raw: RawRecord): Float64Array {
  const withSent = raw as Partial<LinkRawRecord>;
  const K = raw.intensities.length;
  if (withSent.sent instanceof Float64Array && withSent.sent.length === K * 4) return withSent.sent;
  const zShare = withSent.basisBiasZ ?? (raw.count > 0 ? 1 - raw.aliceBasis.popcount() / raw.count : 0.5);
  const out = new Float64Array(K * 4);
  raw.intensities.forEach((c, k) => {
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 2; b++)
        out[k * 4 + a * 2 + b] =
          raw.pulses * c.probability * (a === 0 ? zShare : 1 - zShare) * (b === 0 ? zShare : 1 - zShare);
  });
  return out;
}

/** Detections and errors per (k, a, b) at k·4 + a·2 + b. */
export interface Tally {
  readonly detected: Float64Array;
  readonly errors: Float64Array;
}

/** Tallies already made (sift and estimate both need one; a record is never changed once built). */
const tallies = new WeakMap<RawRecord, Tally>();

/**
 * Detections and errors per (k, a, b) in one pass over the record, word by word: per 32 detections one
 * class mask each, then popcounts of class ∧ basis pattern (∧ error). Cached per record (treat as read-only).
 */
export function tally(raw: RawRecord): Tally {
  const cached = tallies.get(raw);
  if (cached) return cached;
  const K = raw.intensities.length;
  const detected = new Float64Array(K * 4);
  const errors = new Float64Array(K * 4);
  const ab = raw.aliceBasis.words;
  const bb = raw.bobBasis.words;
  const ax = raw.aliceBit.words;
  const by = raw.bobBit.words;
  const cls = raw.intensity;
  const count = raw.count;
  const pc = popcount32; // a local binding: imported ones may be getters under tsx
  const masks = new Int32Array(Math.max(K, 4));
  // Class bytes four at a time when they fit in two bits: bit 0 and bit 1 of each byte, gathered into
  // four adjacent bits by one multiplication (bytes' bits 0, 8, 16, 24 land on 21, 22, 23, 24).
  const swar = K <= 4 && (cls.byteOffset & 3) === 0;
  const quads = swar ? new Uint32Array(cls.buffer, cls.byteOffset, count >>> 2) : null;
  for (let w = 0, base = 0; base < count; w++, base += 32) {
    masks.fill(0);
    const end = Math.min(32, count - base);
    if (quads && end === 32) {
      let m0 = 0;
      let m1 = 0;
      let m2 = 0;
      let m3 = 0;
      for (let g = 0, q = base >>> 2; g < 32; g += 4, q++) {
        const v = quads[q]!;
        const lo = v & 0x01010101;
        const hi = (v >>> 1) & 0x01010101;
        const nlo = lo ^ 0x01010101;
        const nhi = hi ^ 0x01010101;
        m0 |= ((Math.imul(nlo & nhi, 0x204081) >>> 21) & 15) << g;
        m1 |= ((Math.imul(lo & nhi, 0x204081) >>> 21) & 15) << g;
        m2 |= ((Math.imul(nlo & hi, 0x204081) >>> 21) & 15) << g;
        m3 |= ((Math.imul(lo & hi, 0x204081) >>> 21) & 15) << g;
      }
      masks[0] = m0;
      masks[1] = m1;
      masks[2] = m2;
      masks[3] = m3;
    } else for (let sh = 0; sh < end; sh++) masks[cls[base + sh]!]! |= 1 << sh;
    const a = ab[w]!;
    const b = bb[w]!;
    const e = ax[w]! ^ by[w]!;
    for (let k = 0; k < K; k++) {
      const m = masks[k]!;
      if (m === 0) continue;
      const za = m & ~a;
      const xa = m & a;
      const c00 = za & ~b;
      const c01 = za & b;
      const c10 = xa & ~b;
      const c11 = xa & b;
      const i = k * 4;
      detected[i]! += pc(c00);
      detected[i + 1]! += pc(c01);
      detected[i + 2]! += pc(c10);
      detected[i + 3]! += pc(c11);
      errors[i]! += pc(c00 & e);
      errors[i + 1]! += pc(c01 & e);
      errors[i + 2]! += pc(c10 & e);
      errors[i + 3]! += pc(c11 & e);
    }
  }
  const out = { detected, errors };
  tallies.set(raw, out);
  return out;
}

/** Per intensity class name and Alice's basis: sent, detected, sifted, errors. */
export function countsByClass(raw: RawRecord, tallied: Tally = tally(raw)): CountsByClass {
  return countsFromTally(raw.intensities, sentByClassBasis(raw), tallied);
}

/**
 * Per intensity class name and Alice's basis, from pulses sent and a tally per (k, a, b) at k·4 + a·2 + b
 * (the one aggregation both the detection-by-detection engine and the count-level sampler use).
 */
export function countsFromTally(
  intensities: readonly { readonly name: string }[],
  sent: Float64Array,
  tallied: Tally,
): CountsByClass {
  const { detected, errors } = tallied;
  const out: CountsByClass = {};
  intensities.forEach((c, k) => {
    const basis = (a: number): ClassBasisCounts => {
      const i = k * 4 + a * 2;
      return {
        sent: sent[i]! + sent[i + 1]!,
        detected: detected[i]! + detected[i + 1]!,
        sifted: detected[i + a]!,
        errors: errors[i + a]!,
      };
    };
    out[c.name] = { Z: basis(0), X: basis(1) };
  });
  return out;
}

/** Bits of the detections where both bases equal `basis`, found word by word. */
function pick(raw: RawRecord, basis: number): SiftedBasis {
  const ab = raw.aliceBasis.words;
  const bb = raw.bobBasis.words;
  const words = ab.length;
  const tail = raw.count & 31 ? (1 << (raw.count & 31)) - 1 : 0xffffffff;
  const maskOf = (w: number) => {
    const m = basis === 0 ? ~(ab[w]! | bb[w]!) : ab[w]! & bb[w]!;
    return w === words - 1 ? m & tail : m;
  };
  const pc = popcount32; // a local binding: imported ones may be getters under tsx
  let n = 0;
  for (let w = 0; w < words; w++) n += pc(maskOf(w));
  const alice = new BitArray(n);
  const bob = new BitArray(n);
  const intensity = new Uint8Array(n);
  const detection = new Uint32Array(n);
  const ax = raw.aliceBit.words;
  const by = raw.bobBit.words;
  const aw = alice.words;
  const bw = bob.words;
  const cls = raw.intensity;
  let j = 0;
  for (let w = 0; w < words; w++) {
    let m = maskOf(w) >>> 0;
    if (m === 0) continue;
    // Gather this word's kept bits into k low bits, then append them at bit j (at most two words).
    const xa = ax[w]!;
    const yb = by[w]!;
    let va = 0;
    let vb = 0;
    let k = 0;
    const base = w * 32;
    while (m !== 0) {
      const sh = 31 - Math.clz32(m & -m);
      m &= m - 1;
      va |= ((xa >>> sh) & 1) << k;
      vb |= ((yb >>> sh) & 1) << k;
      intensity[j + k] = cls[base + sh]!;
      detection[j + k] = base + sh;
      k++;
    }
    const at = j & 31;
    const q = j >>> 5;
    aw[q]! |= va << at;
    bw[q]! |= vb << at;
    if (at + k > 32) {
      aw[q + 1]! |= va >>> (32 - at);
      bw[q + 1]! |= vb >>> (32 - at);
    }
    j += k;
  }
  return { alice, bob, intensity, detection };
}

/** Sifts a raw record: Z-basis key bits, X-basis test bits, and counts per class and basis. */
export function sift(raw: RawRecord): Sifted {
  const t = tally(raw);
  const key = pick(raw, 0);
  const perClass = (f: (k: number) => number) => raw.intensities.map((_, k) => f(k));
  return {
    key,
    test: pick(raw, 1),
    counts: countsByClass(raw, t),
    alice: key.alice,
    bob: key.bob,
    nKey: perClass((k) => t.detected[k * 4]!),
    nTest: perClass((k) => t.detected[k * 4 + 3]!),
    mTest: perClass((k) => t.errors[k * 4 + 3]!),
  };
}
