/**
 * Sifting and parameter estimation for the pipeline — a small local adapter standing in for the link
 * engine's `sift()` and `estimate()` (src/qkd, issue 3) until they land; `runPipeline` accepts theirs in
 * its options. Efficient BB84 with decoys (Lim et al., PRA 89, 022307, 2014): the key comes from events
 * where Alice and Bob both chose Z; X-basis events (all of them disclosed) give the phase-error bound.
 * Three intensity classes are required (signal, decoy, vacuum/weak: μ1 > μ2 + μ3).
 */
import { BitArray } from '../common/index.ts';
import type { RawRecord } from '../common/index.ts';
import { lim2014Bounds, type Lim2014Bound } from '../physics/index.ts';

/** Sifted key-basis bits at both ends and the counts estimation needs (per intensity class k). */
export interface Sifted {
  /** Alice's Z-basis bits, in detection order. */
  readonly alice: BitArray;
  /** Bob's Z-basis bits (same positions). */
  readonly bob: BitArray;
  /** Z-basis sifted detections per intensity class. */
  readonly nKey: number[];
  /** X-basis sifted detections per intensity class. */
  readonly nTest: number[];
  /** X-basis errors per intensity class (X bits are disclosed for testing). */
  readonly mTest: number[];
}

/** The estimates the pipeline needs. */
export interface Estimates {
  readonly secure: boolean;
  /** Why the block cannot give a key (when `secure` is false). */
  readonly reason?: string;
  readonly bound: Lim2014Bound;
  /** Estimated key-basis QBER used to tune error correction (X-basis QBER of all classes). */
  readonly qber: number;
}

/** Keeps events where both chose Z as key bits; counts X events and errors per intensity class. */
export function siftLocal(raw: RawRecord): Sifted {
  const classes = raw.intensities.length;
  const nKey = new Array<number>(classes).fill(0);
  const nTest = new Array<number>(classes).fill(0);
  const mTest = new Array<number>(classes).fill(0);
  const aB = raw.aliceBasis.words;
  const bB = raw.bobBasis.words;
  const aBit = raw.aliceBit.words;
  const bBit = raw.bobBit.words;
  const cls = raw.intensity;
  const alice = new Uint32Array(aB.length);
  const bob = new Uint32Array(aB.length);
  let nz = 0;
  // Word by word (BASIS.Z = 0, BASIS.X = 1): both-Z events are ~(a | b), both-X events are a & b.
  for (let w = 0; w < aB.length; w++) {
    const valid = w === aB.length - 1 && raw.count & 31 ? (1 << (raw.count & 31)) - 1 : 0xffffffff;
    let zz = ~(aB[w]! | bB[w]!) & valid;
    let xx = aB[w]! & bB[w]! & valid;
    const err = aBit[w]! ^ bBit[w]!;
    while (zz !== 0) {
      const low = zz & -zz;
      const i = (w << 5) | (31 - Math.clz32(low));
      nKey[cls[i]!]!++;
      if (aBit[w]! & low) alice[nz >>> 5]! |= 1 << (nz & 31);
      if (bBit[w]! & low) bob[nz >>> 5]! |= 1 << (nz & 31);
      nz++;
      zz ^= low;
    }
    while (xx !== 0) {
      const low = xx & -xx;
      const k = cls[(w << 5) | (31 - Math.clz32(low))]!;
      nTest[k]!++;
      if (err & low) mTest[k]!++;
      xx ^= low;
    }
  }
  const words = (nz + 31) >>> 5;
  return {
    alice: new BitArray(nz, alice.slice(0, words)),
    bob: new BitArray(nz, bob.slice(0, words)),
    nKey,
    nTest,
    mTest,
  };
}

/** QBER above which no key is attempted (BB84 one-way limit, Shor & Preskill 2000). */
export const QBER_ABORT_THRESHOLD = 0.11;

/** Lim et al. 2014 bounds from the block's counts; insecure when the X QBER or phase error is too high. */
export function estimateLocal(sifted: Sifted, raw: RawRecord, opts: { epsSec: number }): Estimates {
  if (raw.intensities.length !== 3)
    throw new RangeError(`Estimation needs 3 intensity classes, the record has ${raw.intensities.length}`);
  const mu = raw.intensities.map((c) => c.mu) as [number, number, number];
  const p = raw.intensities.map((c) => c.probability) as [number, number, number];
  const tri = (a: number[]) => [a[0]!, a[1]!, a[2]!] as const;
  const bound = lim2014Bounds(
    { mu, p, nKey: tri(sifted.nKey), nTest: tri(sifted.nTest), mTest: tri(sifted.mTest) },
    opts.epsSec,
  );
  const nX = sifted.nTest.reduce((a, b) => a + b, 0);
  const qber = nX > 0 ? sifted.mTest.reduce((a, b) => a + b, 0) / nX : 0.5;
  if (qber > QBER_ABORT_THRESHOLD) return { secure: false, reason: 'qber-above-threshold', bound, qber };
  if (!(bound.phaseError < 0.5)) return { secure: false, reason: 'phase-error-too-high', bound, qber };
  return { secure: true, bound, qber };
}
