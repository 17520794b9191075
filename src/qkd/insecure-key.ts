/**
 * Key an undetected attack compromised: final key bits the attacker actually holds, because her
 * information about the sifted key exceeded what privacy amplification removed.
 *
 * Privacy amplification hashes the n-bit sifted key to ℓ bits with a two-universal family. By the leftover
 * hash lemma (R. Impagliazzo, L. Levin, M. Luby, STOC 1989; R. Renner, PhD thesis, ETH 2005, Cor. 5.6.1)
 * the output is ε-close to uniform given Eve's knowledge when ℓ ≤ H_min − 2·log₂(1/ε), where H_min is the
 * entropy of the sifted key left to Eve: n − I_E − λ_EC (I_E her information from the quantum channel,
 * `EveKnowledge.informationBits` of the link engine; λ_EC every bit error correction and verification
 * disclosed). The finite-key estimate (Lim et al., PRA 89, 022307, 2014, Eq. 1) chose ℓ by bounding I_E
 * from the block's statistics: it accounted for `n − λ_EC − ℓ` bits. When the attacker's actual I_E is
 * larger — an attack outside the estimate's model: blinding, a Trojan horse, a detector mismatch — at least
 * `ℓ − (n − I_E − λ_EC)` bits of the output are determined by what she holds (a hash cannot create
 * entropy the input lacks). That excess, capped at the bits emitted, is `insecure_key_bits`. Shannon
 * information stands in for min-entropy here (equal for the certain-knowledge attacks; for time-shift's
 * partial information per bit an average, so the figure is indicative there). Pure functions.
 */
import { binaryEntropy } from '../common/index.ts';
import { estimateFromTally, siftedOfTally, type EstimateOptions } from './estimate.ts';
import type { CountBlock } from './count-sampler.ts';
import type { BlockModel } from './model.ts';

/** What one distilled block gives the formula (the pipeline's figures and the engine's `eve`). */
export interface DistilledFigures {
  /** n: Z-basis sifted bits entering error correction. */
  readonly siftedBits: number;
  /** λ_EC: bits error correction and verification disclosed. */
  readonly leakEcBits: number;
  /** ℓ: privacy amplification output, bits. */
  readonly paOutputBits: number;
  /** Key bits actually emitted from the block (≤ ℓ). */
  readonly emittedBits: number;
  /** I_E: Eve's information about the Z-basis sifted key (`EveKnowledge.informationBits`). */
  readonly eveInformationBits: number;
}

/** max(0, min(emitted, ⌈ℓ − (n − I_E − λ_EC)⌉)): emitted key bits beyond the entropy left to Eve. */
export function insecureKeyBits(f: DistilledFigures): number {
  if (f.emittedBits <= 0) return 0;
  const excess = f.paOutputBits - (f.siftedBits - f.eveInformationBits - f.leakEcBits);
  return excess <= 1e-9 ? 0 : Math.min(f.emittedBits, Math.ceil(excess));
}

/** The key a count-level block would give and how much of it the attacker holds. */
export interface CountBlockKey {
  /** ℓ from the block's finite-key estimate (0 when the estimate refuses the block). */
  readonly keyBits: number;
  readonly insecureBits: number;
}

/**
 * The finite-key length of a count-level block (`estimateFromTally`, error correction at efficiency f
 * leaking f·n·h(Q) — the estimate's own convention, default 1.22) and its insecure bits. The cost is one
 * estimate: microseconds, so every attacked block of an evaluation can be scored.
 */
export function countBlockKey(
  block: CountBlock,
  model: BlockModel,
  opts: EstimateOptions = {},
): CountBlockKey {
  const sifted = siftedOfTally(block.counts.tally);
  const est = estimateFromTally(model.ctx.intensities, block.counts.sent, block.counts.tally, sifted, opts);
  if (!est.secure || est.keyLengthBits <= 0) return { keyBits: 0, insecureBits: 0 };
  const leak = (opts.errorCorrectionEfficiency ?? 1.22) * sifted.nKey * binaryEntropy(sifted.qberZ);
  return {
    keyBits: est.keyLengthBits,
    insecureBits: insecureKeyBits({
      siftedBits: sifted.nKey,
      leakEcBits: leak,
      paOutputBits: est.keyLengthBits,
      emittedBits: est.keyLengthBits,
      eveInformationBits: block.eveInformationBits,
    }),
  };
}
