/**
 * Contracts that cross folders: the raw record (qkd → postprocess), the final key
 * block (postprocess → kms), key provenance (kms → consumers), telemetry (everyone → detect) and alerts
 * (detect → operators). Types only; each producer documents how it fills them.
 */
import type { BitArray } from './bits.ts';

/** Basis bits in raw records: 0 = Z (key basis in efficient BB84), 1 = X (test basis). */
export const BASIS = { Z: 0, X: 1 } as const;
export type BasisName = 'Z' | 'X';

/** One intensity class of a decoy-state source. */
export interface IntensityClass {
  /** `signal`, `decoy`, `vacuum` (or `weak`) — used as keys in telemetry. */
  readonly name: string;
  /** Mean photon number μ per pulse. */
  readonly mu: number;
  /** Probability that a pulse is sent with this intensity. */
  readonly probability: number;
}

/**
 * Raw record of one block: one entry per detected pulse, as packed arrays (never one object per pulse).
 * Entry i describes the i-th detection in time order.
 */
export interface RawRecord {
  readonly linkId: string;
  readonly blockId: number;
  /** Pulses Alice sent in the block (may exceed 2^32; exact up to 2^53). */
  readonly pulses: number;
  /** Number of detection events recorded (entries in every array below). */
  readonly count: number;
  /** The source's intensity classes; `intensity[i]` indexes this list. */
  readonly intensities: readonly IntensityClass[];
  /** Pulse index (time slot) of each detection, ascending. */
  readonly slot: Float64Array;
  readonly aliceBit: BitArray;
  /** 0 = Z, 1 = X (see BASIS). */
  readonly aliceBasis: BitArray;
  readonly intensity: Uint8Array;
  readonly bobBit: BitArray;
  readonly bobBasis: BitArray;
  /** 1 where both of Bob's detectors clicked (the bit was then assigned at random: squashing). */
  readonly doubleClick: BitArray;
}

/** Counts of one intensity class in one basis (after sifting: Alice's and Bob's bases agree). */
export interface ClassBasisCounts {
  /** Pulses sent with this intensity and Alice's basis. */
  sent: number;
  /** Detections (any Bob basis). */
  detected: number;
  /** Sifted detections (Bob's basis = Alice's). */
  sifted: number;
  /** Sifted detections whose bits differ. */
  errors: number;
}

/**
 * Telemetry sample (qkd, postprocess, kms, network → detect). Quantum fields come from the link engine
 * once per block; key-management fields from KMEs and the network. Every field but the identifiers is
 * optional so each producer fills what it knows.
 */
export interface TelemetrySample {
  readonly linkId: string;
  /** Simulation or wall time in integer nanoseconds. */
  readonly timeNs: number;
  readonly blockId?: number;
  readonly pulses?: number;
  readonly detections?: number;
  readonly doubleClicks?: number;
  /** Per intensity class name, per basis. */
  readonly counts?: Readonly<Record<string, Readonly<Record<BasisName, ClassBasisCounts>>>>;
  readonly qberZ?: number;
  readonly qberX?: number;
  /** Detections per second of block time. */
  readonly detectionRateHz?: number;
  /** Detections per pulse by Bob's basis choice (basis-dependent efficiency shows here). */
  readonly detectionRateByBobBasis?: Readonly<Record<BasisName, number>>;
  /** Power seen by Alice's monitor photodiode, watts. */
  readonly monitorPowerW?: number;
  /** Bright-light watchdog at Bob (when fitted): sampling windows in the block and those over threshold. */
  readonly watchdogWindows?: number;
  readonly watchdogTrips?: number;
  /** Gate-timing monitor at Bob (when fitted): detections outside the central part of the gate. */
  readonly gateEdgeDetections?: number;
  readonly blockDurationS?: number;
  /** Final key bits the block produced (post-processing). */
  readonly finalKeyBits?: number;
  /** Key pool level of the link or KME, bits. */
  readonly keyPoolBits?: number;
  /** Key requests per second at a KME. */
  readonly requestRateHz?: number;
  /** Failed TLS handshakes or 401s per second at a KME. */
  readonly authFailureRateHz?: number;
}

export type Severity = 'info' | 'warning' | 'critical';

/** What the platform does (or recommends) on an alert. */
export type AlertAction = 'notify' | 'abort-block' | 'quarantine-link' | 'pqc-only' | 'restore-link';

/** Alert (detect → operators); the same object goes to every sink. */
export interface Alert {
  readonly id: string;
  readonly timeNs: number;
  readonly severity: Severity;
  readonly linkId?: string;
  readonly nodeId?: string;
  /** e.g. `qber-cusum`, `decoy-inconsistent`, `blinding`, `trojan-horse`, `fiber-cut`, `key-exhaustion`. */
  readonly kind: string;
  readonly evidence: {
    readonly statistic: string;
    readonly value: number;
    readonly threshold: number;
    readonly window?: string;
    /** `above` an upper limit or `below` a lower one: which side of `threshold` the value crossed to. */
    readonly side?: 'above' | 'below';
    readonly pValue?: number;
  };
  readonly action: AlertAction;
  readonly message: string;
  /**
   * The attack the detectors that fired on the same block point to together (src/detect/attribution.ts),
   * with each firing detector's evidence; absent for alerts that are not about a link's quantum statistics.
   */
  readonly attribution?: {
    readonly attack: string;
    readonly evidence: readonly {
      readonly detector: string;
      readonly statistic: string;
      readonly value: number;
      readonly limit: number;
      readonly side: 'above' | 'below';
      readonly pValue?: number;
      readonly text: string;
    }[];
  };
}

/**
 * Every provenance a key can carry, from strongest to weakest claim — the one list every other place derives
 * from (type, scenario schema, store ranks, reports, dashboard). QKD claims are information-theoretic,
 * `hybrid` and `pqc` computational; `simulated-deterministic` keys were made reproducible from a public seed
 * (`--deterministic-keys`) and protect nothing: KMEs hand them only to SAEs configured `test: true`.
 * A policy's minimum admits itself and everything before it.
 */
export const PROVENANCE_ORDER = [
  'qkd',
  'qkd-multipath',
  'qkd-relayed',
  'hybrid',
  'pqc',
  'simulated-deterministic',
] as const;

/** Rank of the weakest provenance that protects anything; keys ranked after it are for test SAEs only. */
export const LAST_PROTECTING_RANK = PROVENANCE_ORDER.indexOf('pqc');

/** The security claim a key carries (one of PROVENANCE_ORDER). */
export type Provenance = (typeof PROVENANCE_ORDER)[number];

/** Bits (or keys) per provenance. */
export type ProvenanceMix = Record<Provenance, number>;

/** A mix with every provenance at zero. */
export function zeroProvenanceMix(): ProvenanceMix {
  return Object.fromEntries(PROVENANCE_ORDER.map((p) => [p, 0])) as ProvenanceMix;
}

/** The estimates a final key block was made with. */
export interface KeyBlockEstimates {
  readonly qber: number;
  /** Upper bound on the phase error rate of single-photon events in the key basis. */
  readonly phaseErrorBound: number;
  /** Bits disclosed by error correction and verification. */
  readonly leakedBits: number;
  readonly epsilonSec: number;
  readonly epsilonCor: number;
}

/** Final key block (postprocess → kms): identical at both ends or never emitted. */
export interface FinalKeyBlock {
  readonly linkId: string;
  /** Shared by both ends (synchronised IDs). */
  readonly blockId: string;
  readonly key: Uint8Array;
  /** Key length in bits (key.length·8 or fewer). */
  readonly bits: number;
  readonly estimates: KeyBlockEstimates;
  readonly createdNs: number;
  /** `simulated-deterministic` when the key bytes are reproducible from the seed; default `qkd`. */
  readonly provenance?: 'qkd' | 'simulated-deterministic';
}
