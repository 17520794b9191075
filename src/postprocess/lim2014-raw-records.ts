/**
 * Raw records of a decoy-state BB84 link drawn from the channel model of Lim et al. 2014 (PRA 89, 022307,
 * "Numerical simulation" section): per pulse of intensity μ_k the detection probability is
 * D_k = 1 − (1 − 2·p_dc)·e^{−η·μ_k} and the error probability e_k with e_k·D_k = p_dc + e_mis·(1 − e^{−η·μ_k}).
 * A small, fast, independent generator for tests and the benchmark (the link engine's `simulateBlock` models
 * far more: dead time, afterpulses, attacks); the same closed-form model gives the expected counts the
 * finite-key comparison uses. Detection counts are sampled per
 * class and basis pair (exact binomials), never per pulse, then laid out in random order.
 */
import { BitArray, sampleBinomial } from '../common/index.ts';
import type { RawRecord, Rng } from '../common/index.ts';
import type { Lim2014Counts } from '../physics/index.ts';

/** A decoy BB84 link: pulses per block, three intensities, basis bias, transmittance, noise. */
export interface DecoyLinkModel {
  readonly pulses: number;
  readonly mu: readonly [number, number, number];
  readonly p: readonly [number, number, number];
  /** Probability of choosing Z, the same at both ends (efficient BB84). */
  readonly pZ: number;
  /** Overall transmittance η including detector efficiency. */
  readonly eta: number;
  /** Dark-count probability per detector per pulse. */
  readonly darkCount: number;
  /** Misalignment error probability e_mis. */
  readonly misalignment: number;
}

/**
 * An example link: 25 km of 0.2 dB/km fibre (5 dB) and a 16% detector give η ≈ 0.05; dark counts and
 * misalignment as in Lim et al. 2014 Table I (p_dc = 6·10⁻⁷, e_mis = 1.5%); 10⁸ pulses per block give
 * about 5·10⁵ sifted key bits and, by Eq. 6 at ε_sec = 10⁻¹⁰, about 1.2·10⁵ secret bits.
 */
export const EXAMPLE_LINK: DecoyLinkModel = {
  pulses: 1e8,
  mu: [0.5, 0.1, 0.0002],
  p: [0.5, 0.3, 0.2],
  pZ: 0.6,
  eta: 0.05,
  darkCount: 6e-7,
  misalignment: 0.015,
};

function detectionProb(m: DecoyLinkModel, k: number): { d: number; e: number } {
  const x = Math.exp(-m.eta * m.mu[k]!);
  const d = 1 - (1 - 2 * m.darkCount) * x;
  return { d, e: (m.darkCount + m.misalignment * (1 - x)) / d };
}

/** Expected Lim2014 counts of one block, and the expected key-basis QBER. */
export function expectedCounts(m: DecoyLinkModel): { counts: Lim2014Counts; qberKey: number } {
  const nKey: number[] = [];
  const nTest: number[] = [];
  const mTest: number[] = [];
  let errKey = 0;
  for (let k = 0; k < 3; k++) {
    const { d, e } = detectionProb(m, k);
    nKey.push(m.pulses * m.p[k]! * m.pZ * m.pZ * d);
    nTest.push(m.pulses * m.p[k]! * (1 - m.pZ) ** 2 * d);
    mTest.push(nTest[k]! * e);
    errKey += nKey[k]! * e;
  }
  const tri = (a: number[]) => [a[0]!, a[1]!, a[2]!] as const;
  const counts = { mu: m.mu, p: m.p, nKey: tri(nKey), nTest: tri(nTest), mTest: tri(mTest) };
  return { counts, qberKey: errKey / (nKey[0]! + nKey[1]! + nKey[2]!) };
}

/** One block's raw record drawn from the model. */
export function simulateRawRecord(
  m: DecoyLinkModel,
  rng: Rng,
  linkId = 'fixture',
  blockId = 0,
): RawRecord & { readonly sent: Float64Array; readonly basisBiasZ: number } {
  const codes: number[] = [];
  const runs: number[] = [];
  const sent = new Float64Array(12);
  for (let k = 0; k < 3; k++) {
    const { d, e } = detectionProb(m, k);
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 2; b++) {
        const pa = a === 0 ? m.pZ : 1 - m.pZ;
        const pb = b === 0 ? m.pZ : 1 - m.pZ;
        sent[k * 4 + a * 2 + b] = Math.round(m.pulses * m.p[k]! * pa * pb);
        const det = sampleBinomial(sent[k * 4 + a * 2 + b]!, d, rng);
        const err = sampleBinomial(det, a === b ? e : 0.5, rng);
        const base = (k << 3) | (a << 2) | (b << 1);
        codes.push(base | 1, base);
        runs.push(err, det - err);
      }
  }
  const count = runs.reduce((s, x) => s + x, 0);
  const label = new Uint8Array(count);
  for (let r = 0, at = 0; r < runs.length; at += runs[r]!, r++) label.fill(codes[r]!, at, at + runs[r]!);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = label[i]!;
    label[i] = label[j]!;
    label[j] = t;
  }
  const aliceBit = BitArray.random(count, rng);
  const bobBit = aliceBit.clone();
  const aliceBasis = new BitArray(count);
  const bobBasis = new BitArray(count);
  const intensity = new Uint8Array(count);
  const slot = new Float64Array(count);
  const spacing = m.pulses / Math.max(1, count);
  for (let i = 0; i < count; i++) {
    const c = label[i]!;
    if (c & 1) bobBit.flip(i);
    if (c & 2) bobBasis.set(i, 1);
    if (c & 4) aliceBasis.set(i, 1);
    intensity[i] = c >>> 3;
    slot[i] = Math.floor(i * spacing);
  }
  const intensities = (['signal', 'decoy', 'vacuum'] as const).map((name, k) => ({
    name,
    mu: m.mu[k]!,
    probability: m.p[k]!,
  }));
  return {
    linkId,
    blockId,
    pulses: m.pulses,
    count,
    intensities,
    slot,
    aliceBit,
    aliceBasis,
    intensity,
    bobBit,
    bobBasis,
    doubleClick: new BitArray(count),
    // The link engine's extension of the contract (src/qkd LinkRawRecord): pulses per (k, a, b), Z bias.
    sent,
    basisBiasZ: m.pZ,
  };
}

/**
 * Alice's random key and Bob's copy through a binary symmetric channel: each bit flipped independently
 * with probability `qber` (the frames `qkdnet reconcile` and the benchmarks measure Cascade on).
 */
export function noisyPair(
  n: number,
  qber: number,
  rng: Rng,
): { alice: BitArray; bob: BitArray; errors: number } {
  if (!(Number.isInteger(n) && n >= 0))
    throw new RangeError(`key length must be a whole number ≥ 0, got ${n}`);
  if (!(qber >= 0 && qber <= 1)) throw new RangeError(`QBER must be in [0, 1], got ${qber}`);
  const alice = BitArray.random(n, rng);
  const bob = alice.clone();
  let errors = 0;
  for (let i = 0; i < n; i++)
    if (rng.nextFloat() < qber) {
      bob.flip(i);
      errors++;
    }
  return { alice, bob, errors };
}
