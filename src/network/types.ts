/**
 * The observable state of a network simulation: the snapshot the dashboard draws, the change events it
 * subscribes to, the records of served keys and the summary `qkdnet simulate` prints. Types only. No
 * key material appears in any of them.
 */
import { zeroProvenanceMix, type Alert, type Provenance } from '../common/index.ts';
import type { CompromisedNodeSummary } from './compromise.ts';

/** Operational state of a QKD link. */
export type LinkState = 'up' | 'down' | 'quarantined';

/** Bits served per provenance. */
export type ProvenanceBits = Record<Provenance, number>;

/** A fresh all-zero ProvenanceBits (one entry per PROVENANCE_ORDER). */
export function zeroProvenanceBits(): ProvenanceBits {
  return zeroProvenanceMix();
}

/** One node in a snapshot. */
export interface NodeView {
  readonly id: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
  readonly kind: string;
  readonly compromised: boolean;
  /** True once the network knows it is compromised (attestation or declaration; compromise.ts). */
  readonly compromiseKnown: boolean;
}

/** One QKD link in a snapshot. */
export interface LinkView {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly lengthKm: number | null;
  /** Secret key rate while generating, bit/s. */
  readonly rateBps: number;
  readonly state: LinkState;
  /** False for a satellite link outside a pass (no key generated then). */
  readonly generating: boolean;
  /** An injected attack, if any. */
  readonly attack: string | null;
  /** Secret key rate over the latest block, bit/s (0 while down, attacked or out of a pass). */
  readonly keyRateBps: number;
  /** QBER of the key now (model or measurement, plus any attack), null while down or unknown. */
  readonly qber: number | null;
  readonly poolBits: number;
  readonly capacityBits: number;
  readonly generatedBits: number;
  readonly relayedBits: number;
  readonly poolMinBits: number;
  readonly downS: number;
  /** Event-level links only: blocks simulated, blocks post-processing refused, refusals by reason. */
  readonly eventBlocks?: number;
  readonly eventBlocksFailed?: number;
  readonly eventFailures?: Readonly<Record<string, number>>;
}

/** The route an application currently uses. */
export interface RouteView {
  readonly provenance: Provenance;
  /** Node ids of each path (one for single-path, k for multipath; empty for pqc). */
  readonly paths: readonly (readonly string[])[];
}

/** One application in a snapshot. */
export interface AppView {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly rateBps: number;
  readonly minProvenance: Provenance;
  readonly demandBits: number;
  readonly servedBits: number;
  readonly unservedBits: number;
  readonly servedByProvenance: ProvenanceBits;
  readonly route: RouteView | null;
}

/** A served batch of keys: where it went, how, and who could have seen it (never the key itself). */
export interface KeyRecord {
  /** key_ID of the first key of the batch; the batch holds `keys` consecutive keys. */
  readonly keyId: string;
  readonly appId: string;
  readonly timeS: number;
  readonly keys: number;
  readonly bits: number;
  readonly provenance: Provenance;
  readonly paths: readonly (readonly string[])[];
  /** Nodes that could have read the whole key alone (intermediate nodes of a single path). */
  readonly exposedTo: readonly string[];
  /** True if compromised nodes saw every share of it. */
  readonly exposed: boolean;
}

/** Network-wide totals. */
export interface Totals {
  readonly demandBits: number;
  readonly servedBits: number;
  readonly unservedBits: number;
  readonly plaintextBits: number;
  readonly servedByProvenance: ProvenanceBits;
  readonly reroutes: number;
  readonly keysServed: number;
  readonly keysExposed: number;
  readonly alerts: number;
}

/** Everything the dashboard shows, at one simulated instant. */
export interface NetworkSnapshot {
  readonly scenario: { readonly name: string; readonly title: string };
  readonly timeS: number;
  readonly durationS: number;
  readonly nodes: readonly NodeView[];
  readonly links: readonly LinkView[];
  readonly apps: readonly AppView[];
  readonly totals: Totals;
  /** The most recent alerts (newest last, at most 100). */
  readonly alerts: readonly Alert[];
  /** The most recent served key batches (newest last, at most 50). */
  readonly recentKeys: readonly KeyRecord[];
  /** Every compromise of a trusted node so far (compromise.ts). */
  readonly compromisedNodes: readonly CompromisedNodeSummary[];
}

/** A change the simulation announces to subscribers. */
export type NetworkEvent =
  | { readonly type: 'alert'; readonly alert: Alert }
  | {
      readonly type: 'link-state';
      readonly timeS: number;
      readonly linkId: string;
      readonly state: LinkState;
    }
  | { readonly type: 'node-compromised'; readonly timeS: number; readonly nodeId: string }
  | { readonly type: 'node-restored'; readonly timeS: number; readonly nodeId: string }
  | {
      readonly type: 'reroute';
      readonly timeS: number;
      readonly appId: string;
      readonly route: RouteView | null;
    }
  | { readonly type: 'keys'; readonly record: KeyRecord }
  | { readonly type: 'sample'; readonly sample: Sample };

/** One point of the time series (for plots). */
export interface Sample {
  readonly timeS: number;
  /** Pool level per link id, bits. */
  readonly poolBits: Readonly<Record<string, number>>;
  /** Key rate over the latest block per link id, bit/s. */
  readonly keyRateBps: Readonly<Record<string, number>>;
  /** QBER per link id (null while down or unknown). */
  readonly qber: Readonly<Record<string, number | null>>;
  /** Cumulative served bits per provenance. */
  readonly servedByProvenance: ProvenanceBits;
  readonly demandBits: number;
  readonly unservedBits: number;
}

/** One point of one link's time series (LinkSample of the dashboard contract). */
export interface LinkSample {
  readonly timeS: number;
  readonly qber: number | null;
  readonly keyRateBps: number;
  readonly poolBits: number;
}

/** The JSON summary of `qkdnet simulate` (field names are the CLI's contract). */
export interface SimulationSummary {
  duration_s: number;
  demand_bits: number;
  served_bits: number;
  served_fraction: number;
  served_by_provenance: ProvenanceBits;
  plaintext_bits: number;
  reroutes: number;
  alerts: number;
  keys_exposed: number;
  /** Every compromise of a trusted node in the run (compromise.ts). */
  compromised_nodes: CompromisedNodeSummary[];
  links: {
    id: string;
    generated_bits: number;
    relayed_bits: number;
    pool_min_bits: number;
    down_s: number;
    /** Event-level links only (absent on model links): how the pool was filled and block counts. */
    source?: 'event-level';
    event_blocks?: number;
    event_blocks_failed?: number;
    /** Refused blocks by post-processing reason (e.g. insecure-estimate). */
    event_failures?: Record<string, number>;
  }[];
  elapsed_ms: number;
}
