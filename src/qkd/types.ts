/**
 * Types of the link engine's public API (src/qkd/index.ts): the block configuration, the simulated block
 * (raw record + telemetry + what Eve knows), attacks, sifted keys and parameter estimates. Other folders
 * code against these names (postprocess: `sift` + `estimate`; detect: `simulateBlock` + `telemetry`).
 */
import type {
  BitArray,
  ClassBasisCounts,
  IntensityClass,
  RawRecord,
  TelemetrySample,
} from '../common/index.ts';
import type { LinkParams, Lim2014Bound, Lim2014Counts } from '../physics/index.ts';

/** The attack kinds `parseAttack` knows, in the order `--help` lists them. */
export const ATTACK_KINDS = [
  'intercept-resend',
  'pns',
  'blinding',
  'trojan-horse',
  'time-shift',
  'jamming',
  'fiber-cut',
] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

/**
 * An attack on the quantum signals and its strength. `param` means, per kind: intercept-resend — fraction
 * f of pulses intercepted; pns — fraction of pulses Eve treats (1 = all); blinding — fraction of the block
 * during which Bob's detectors are blinded; trojan-horse — mean photon number n returned to Eve per pulse;
 * time-shift — efficiency mismatch m (0..1) between Bob's two detectors; jamming — extra background
 * count rate at Bob, counts/s; fiber-cut — unused (0).
 */
export interface AttackSpec {
  readonly kind: AttackKind;
  readonly param: number;
}

/** Configuration of one simulated block of pulses on one link. */
export interface LinkBlockConfig {
  readonly linkId: string;
  readonly blockId: number;
  /** Pulses Alice sends (integer, up to 2^53; 1e10 and more is routine). */
  readonly pulses: number;
  readonly params: LinkParams;
  /**
   * Fiber length (or slant range for a free-space preset); the channel transmittance then comes from
   * src/physics `channelTransmittance` — for fiber 10^(−(α·L + extra loss)/10).
   */
  readonly distanceKm?: number;
  /** Channel transmittance η_ch (0..1), overriding `distanceKm` (free-space passes, measured links). */
  readonly transmittance?: number;
  /** Decoy-state source; default DEFAULT_INTENSITIES (signal 0.5, decoy 0.1, vacuum 0). */
  readonly intensities?: readonly IntensityClass[];
  readonly attack?: AttackSpec;
  /** Simulation time of the block's first pulse, integer ns (telemetry timeNs); default 0. */
  readonly startNs?: number;
}

/** A raw record with what Alice and Bob know besides the detections: pulses per class and basis. */
export interface LinkRawRecord extends RawRecord {
  /**
   * Pulses sent per (intensity class k, Alice's basis a, Bob's basis b), flat at index k·4 + a·2 + b.
   * Alice knows her share (k, a); Bob his basis per gate.
   */
  readonly sent: Float64Array;
  /** Probability of the Z basis at Alice and at Bob. */
  readonly basisBiasZ: number;
}

/** What Eve holds about the block, kept apart from what Alice and Bob see (for tests and accounting). */
export interface EveKnowledge {
  readonly attack: AttackSpec | null;
  /**
   * Per detection (same indexing as the raw record): 1 where Eve knows the key bit with certainty —
   * she measured it in the right basis, kept a photon of it, dictated Bob's click, or read it back from
   * Alice's modulator. (For blinding Eve knows Bob's bit; error correction then reveals Alice's.)
   */
  readonly knownMask: BitArray;
  /** Number of Z-basis sifted bits Eve knows with certainty. */
  readonly knownKeyBits: number;
  /**
   * Eve's Shannon information about the Z-basis sifted key, bits (≥ knownKeyBits): adds the partial
   * information of probabilistic attacks (time-shift: 1 − h(P_guess) per bit).
   */
  readonly informationBits: number;
  /** Attack-specific figures (e.g. PNS transmission of single photons, blinding forwarding fraction). */
  readonly details: Readonly<Record<string, number>>;
}

/** One simulated block. */
export interface LinkBlock {
  readonly raw: LinkRawRecord;
  readonly telemetry: TelemetrySample;
  readonly eve: EveKnowledge;
}

/** Per intensity class name, per basis. */
export type CountsByClass = Record<string, Record<'Z' | 'X', ClassBasisCounts>>;

/** The bits of one basis after sifting (detections where Alice's and Bob's bases agree). */
export interface SiftedBasis {
  readonly alice: BitArray;
  readonly bob: BitArray;
  /** Intensity class index per sifted bit. */
  readonly intensity: Uint8Array;
  /** Index of the detection in the raw record, per sifted bit. */
  readonly detection: Uint32Array;
}

/** Sifting result: Z is the key basis, X the test basis (efficient BB84). */
export interface Sifted {
  /** Key-basis bits of all intensity classes (Lim et al. 2014 keep them all; PA accounts per class). */
  readonly key: SiftedBasis;
  readonly test: SiftedBasis;
  readonly counts: CountsByClass;
  /** The key bits again (`key.alice`, `key.bob`): the flat view the post-processing pipeline reads. */
  readonly alice: BitArray;
  readonly bob: BitArray;
  /** Per intensity class (raw record order): Z-sifted detections, X-sifted detections, X errors. */
  readonly nKey: readonly number[];
  readonly nTest: readonly number[];
  readonly mTest: readonly number[];
}

export type EstimateFailure = 'qber-above-threshold' | 'too-few-counts' | 'decoy-inconsistent';

/** Gains and error rates of one intensity class. */
export interface ClassEstimate {
  readonly name: string;
  readonly mu: number;
  /** Detections per pulse sent (both bases). */
  readonly gain: number;
  readonly qberZ: number;
  readonly qberX: number;
}

/** Parameter estimation of one block. */
export interface Estimates {
  /** Sifted QBER of the key basis (Alice and Bob's bits compared: known in simulation only). */
  readonly qberZ: number;
  readonly qberX: number;
  /** The key-QBER estimate available before error correction: the test-basis QBER (= qberX). */
  readonly qber: number;
  readonly classes: readonly ClassEstimate[];
  /** Asymptotic vacuum + weak decoy bounds (Ma, Qi, Zhao, Lo, PRA 72, 012326, 2005, Eqs. 34 and 37). */
  readonly asymptotic: { readonly y1Lower: number; readonly e1Upper: number };
  /** Finite-size single-photon yield lower bound (Lim 2014 s_Z,1 per Z-basis single-photon pulse). */
  readonly y1Lower: number;
  /** Finite-size upper bound on the single-photon phase error rate of the key (Lim 2014 φ). */
  readonly e1Upper: number;
  /** The counts handed to Lim et al. 2014 and its bounds (privacy amplification reads these). */
  readonly limCounts: Lim2014Counts | null;
  /** Lim 2014 bounds; all zero with phase error ½ when the source is not a three-intensity decoy source. */
  readonly bound: Lim2014Bound;
  /** Finite-key length (Lim 2014 Eq. 1) with the estimated leak f·n_Z·h(QBER_Z), bits; 0 if none. */
  readonly keyLengthBits: number;
  readonly epsSec: number;
  readonly qberThreshold: number;
  readonly secure: boolean;
  readonly reason?: EstimateFailure;
}
