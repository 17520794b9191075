/**
 * The link engine's blocks as the `BlockSimulator` of an evaluation: count-level blocks (src/qkd
 * `sampleBlockCounts`, the law of `simulateBlock` at ~10³ draws per block; links with dead time or
 * afterpulses, or `exact`, detection by detection), and for every attacked block the key its finite-key
 * estimate would give and the part of it the attacker holds (src/qkd `countBlockKey`). Used by
 * `qkdnet detect evaluate`, the slow tests and the benchmark, so they all measure the same thing.
 */
import { buildModel, countBlockKey, sampleBlockCounts, type AttackSpec, type LinkParams } from './deps.ts';
import type { BlockSimulator } from './evaluate.ts';

/** A link and the attack under evaluation. */
export interface LinkSimulatorOptions {
  readonly params: LinkParams;
  readonly distanceKm: number;
  readonly attack: AttackSpec;
  readonly linkId?: string;
  /** Every block detection by detection (`simulateBlock`), even where counts would do. */
  readonly exact?: boolean;
}

/** The evaluation's block simulator for one link and one attack (the engine's model built once each). */
export function linkBlockSimulator(o: LinkSimulatorOptions): BlockSimulator {
  const base = { params: o.params, distanceKm: o.distanceKm, linkId: o.linkId ?? 'alice-bob' };
  const honest = buildModel({ ...base, blockId: 0, pulses: 1 });
  const attacked = buildModel({ ...base, blockId: 0, pulses: 1, attack: o.attack });
  const exact = { exact: o.exact ?? false };
  return ({ blockId, pulses, attacked: isAttacked }, rng) => {
    if (!isAttacked)
      return { telemetry: sampleBlockCounts({ ...base, blockId, pulses }, rng, honest, exact).telemetry };
    const block = sampleBlockCounts({ ...base, blockId, pulses, attack: o.attack }, rng, attacked, exact);
    const key = countBlockKey(block, attacked);
    return { telemetry: block.telemetry, keyBits: key.keyBits, insecureKeyBits: key.insecureBits };
  };
}
