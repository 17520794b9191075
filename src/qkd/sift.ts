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

/** Detections and errors per (k, a, b) in one pass over the record. */
export function tally(raw: RawRecord): Tally {
  const K = raw.intensities.length;
  const detected = new Float64Array(K * 4);
  const errors = new Float64Array(K * 4);
  const ab = raw.aliceBasis.words;
  const bb = raw.bobBasis.words;
  const ax = raw.aliceBit.words;
  const by = raw.bobBit.words;
  const cls = raw.intensity;
  for (let i = 0; i < raw.count; i++) {
    const w = i >>> 5;
    const sh = i & 31;
    const c = cls[i]! * 4 + ((ab[w]! >>> sh) & 1) * 2 + ((bb[w]! >>> sh) & 1);
    detected[c]!++;
    errors[c]! += ((ax[w]! ^ by[w]!) >>> sh) & 1;
  }
  return { detected, errors };
}

/** Per intensity class name and Alice's basis: sent, detected, sifted, errors. */
export function countsByClass(raw: RawRecord, tallied: Tally = tally(raw)): CountsByClass {
  const sent = sentByClassBasis(raw);
  const { detected, errors } = tallied;
  const out: CountsByClass = {};
  raw.intensities.forEach((c, k) => {
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
  let j = 0;
  for (let w = 0; w < words; w++) {
    let m = maskOf(w) >>> 0;
    while (m !== 0) {
      const sh = 31 - Math.clz32(m & -m);
      m &= m - 1;
      const i = w * 32 + sh;
      aw[j >>> 5]! |= ((ax[w]! >>> sh) & 1) << (j & 31);
      bw[j >>> 5]! |= ((by[w]! >>> sh) & 1) << (j & 31);
      intensity[j] = raw.intensity[i]!;
      detection[j++] = i;
    }
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
