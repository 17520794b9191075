/**
 * The observable state of a network simulation: the snapshot the dashboard draws, the change events it
 * subscribes to, the records of served keys and the summary `qkdnet simulate` prints. Types only. No
 * key material appears in any of them.
 */
import { zeroProvenanceMix, type Alert, type Provenance } from '../common/index.ts';
import type { ExposureBits, RouteChangeReason } from './runtime.ts';
import type { RateModel } from './link-rate.ts';
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
  /** Pool at the start; bits taken for keys; bits lost (pool full, or flushed by a quarantine). */
  readonly initialPoolBits: number;
  readonly consumedBits: number;
  readonly discardedBits: number;
  /** What `rateBps` is: finite-key, asymptotic, measured (scenario `rate_bps`) or event-level blocks. */
  readonly rateModel: RateModel;
  /** Seconds the link could generate key so far (inside satellite passes; down time included). */
  readonly windowS: number;
  readonly downS: number;
  /** Seconds without key from the seeded variation: fiber re-alignments, cloudy satellite passes. */
  readonly outageS: number;
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
  /** Bits of its keys a compromised node could read, by cause. */
  readonly exposedBits: Readonly<ExposureBits>;
  /** Times its route changed (its first route is not a change). */
  readonly routeChanges: number;
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
  /** Route changes of every app (= the sum of routeChanges). */
  readonly reroutes: number;
  readonly routeChanges: Readonly<Record<RouteChangeReason, number>>;
  readonly exposedBits: Readonly<ExposureBits>;
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
      /** Why the route changed (see ROUTE_CHANGE_REASONS). */
      readonly reason?: string;
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

/** Bits of served keys a compromised node could read, by cause (JSON of ExposureBits). */
export interface ExposureSummary {
  /** Non-hybrid keys whose every path crossed a compromised trusted node. */
  relay_node: number;
  /** Keys of any provenance with a compromised node at either end. */
  endpoint: number;
}

/** One application in the summary. */
export interface AppSummary {
  id: string;
  demand_bits: number;
  served_bits: number;
  served_by_provenance: ProvenanceBits;
  unserved_bits: number;
  /** relay_node + endpoint. */
  keys_exposed_bits: number;
  keys_exposed_by_cause: ExposureSummary;
  /** Hybrid keys whose QKD part a compromised relay saw (their ML-KEM part still protects them). */
  hybrid_relay_exposed_bits: number;
  route_changes: number;
}

/** One link in the summary; initial_pool_bits + generated_bits = consumed_bits + discarded_bits + end_pool_bits. */
export interface LinkSummary {
  id: string;
  /** finite | asymptotic | measured | event-level: what rate_bps is. */
  rate_model: RateModel;
  rate_bps: number;
  initial_pool_bits: number;
  generated_bits: number;
  consumed_bits: number;
  discarded_bits: number;
  end_pool_bits: number;
  relayed_bits: number;
  pool_min_bits: number;
  /** consumed_bits ÷ (rate_bps × seconds the link could generate): the share of its key capacity used. */
  utilisation: number;
  down_s: number;
  /** Seconds without key from the seeded variation (fiber re-alignments, cloudy passes), rounded. */
  outage_s: number;
  /** Event-level links only (absent on model links): how the pool was filled and block counts. */
  source?: 'event-level';
  event_blocks?: number;
  event_blocks_failed?: number;
  /** Refused blocks by post-processing reason (e.g. insecure-estimate). */
  event_failures?: Record<string, number>;
}

/** The JSON summary of `qkdnet simulate` (field names are the CLI's contract). */
export interface SimulationSummary {
  duration_s: number;
  demand_bits: number;
  served_bits: number;
  /** Served by any provenance (post-quantum included) ÷ demand. */
  served_fraction: number;
  /** Served by QKD alone (qkd, qkd-relayed, qkd-multipath) ÷ demand. */
  served_fraction_qkd: number;
  unserved_bits: number;
  served_by_provenance: ProvenanceBits;
  plaintext_bits: number;
  /** Route changes of every application (= the sum of route_changes). */
  reroutes: number;
  /** Route changes by reason: link-down, link-restored, key-exhausted, key-replenished, and their total. */
  route_changes: Record<RouteChangeReason | 'total', number>;
  alerts: number;
  /** Keys (a count, any cause, hybrid included) a compromised node could read. */
  keys_exposed: number;
  /** Bits of non-hybrid or endpoint-exposed keys a compromised node could read (relay_node + endpoint). */
  keys_exposed_bits: number;
  keys_exposed_by_cause: ExposureSummary;
  hybrid_relay_exposed_bits: number;
  /** Every compromise of a trusted node in the run (compromise.ts). */
  compromised_nodes: CompromisedNodeSummary[];
  apps: AppSummary[];
  links: LinkSummary[];
  elapsed_ms: number;
}
