/**
 * The contract between the live network and its front ends (the Fastify server, the dashboard, `/metrics`):
 * one `LiveNetwork` interface that hides which engines run underneath, the `DashboardState` snapshot the
 * page draws, the per-link time series behind its charts and the `LiveEvent`s pushed over SSE. The wire
 * names here are the dashboard's JSON API (docs/dashboard.md). No key material appears in any of them:
 * keys are described by id, size, provenance and path only.
 */
import type { Alert, Provenance, ProvenanceMix as CommonProvenanceMix } from '../common/index.ts';
import type { LinkState as NetworkLinkState, NetworkEvent, RouteView } from '../network/index.ts';

/** Operational state of a QKD link as the controller sees it (the network's own type). */
export type LinkStateName = NetworkLinkState;

/**
 * What the map colours a link by: `ok` (up, no alert), `degraded` (up, pool below 5% of its
 * capacity or a recent warning alert), `alarm` (critical alert or attack under way), `down`, `quarantined`.
 */
export type LinkHealth = 'ok' | 'degraded' | 'alarm' | 'down' | 'quarantined';

/** Bits (or keys) per provenance (src/common's one list). */
export type ProvenanceMix = CommonProvenanceMix;

/** A node (trusted node, ground station, satellite) with its KME. */
export interface NodeState {
  readonly id: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
  readonly kind: string;
  readonly compromised: boolean;
  /** Base URL of the node's ETSI GS QKD 014 KME (https, mutual TLS), null if none runs. */
  readonly kmeUrl: string | null;
  /** The node's site process (`qkdnet up --sites processes|netns` only). */
  readonly site?: SiteInfo;
}

/** A node's site process as the supervisor sees it. */
export interface SiteInfo {
  readonly state: 'starting' | 'up' | 'down';
  /** OS process id while it runs. */
  readonly pid: number | null;
  /** Restarts since `qkdnet up` started. */
  readonly restarts: number;
  /** How the last process ended, if one did. */
  readonly lastExit: string | null;
  /** Key bytes its KME may hand out, per peer KME, from the last heartbeat. */
  readonly poolBytes: Readonly<Record<string, number>>;
}

/** A QKD link with its latest measurements. */
export interface LinkState {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly lengthKm: number | null;
  readonly state: LinkStateName;
  readonly health: LinkHealth;
  /** Attack injected on the link (e.g. `intercept-resend`), or null. */
  readonly attack: string | null;
  /**
   * The attack the detectors attributed their latest alarm on this link to (src/detect/attribution.ts),
   * until the link is restored; what an operator acts on, since the injected attack is unknown in the field.
   */
  readonly attributedAttack?: string | null;
  /** Final key bits in the link's pool (as both KMEs hold it). */
  readonly poolBits: number;
  readonly capacityBits: number;
  /** Secret key rate over the latest block, bit/s of simulated time (0 while down). */
  readonly keyRateBps: number;
  /** What the link's planned rate is: finite-key, asymptotic, measured, or event-level blocks. */
  readonly rateModel: string;
  /** QBER of the latest block in the key basis, null before the first block or while down. */
  readonly qber: number | null;
  /** Final key bits produced since start. */
  readonly generatedBits: number;
  /** Bits this link consumed to relay keys for other node pairs. */
  readonly relayedBits: number;
  /** Final key bits supplied to the KMEs at both ends (post-processed blocks), since start. */
  readonly kmeBits: number;
}

/** The route an application's keys currently take. */
export type RouteState = RouteView;

/** Keys an application drew from its two KMEs over ETSI GS QKD 014 (metadata only). */
export interface KmeSessionState {
  readonly delivered: number;
  readonly failed: number;
  readonly lastKeyId: string | null;
  /** Error code or message of the latest failure, null after a success. */
  readonly lastError: string | null;
}

/** An application session (a master/slave SAE pair drawing keys). */
export interface AppState {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly minProvenance: Provenance;
  readonly servedBits: number;
  readonly unservedBits: number;
  readonly servedByProvenance: ProvenanceMix;
  readonly route: RouteState | null;
  /** Real keys drawn from the KMEs, when the two nodes share a link and the KMEs run; else null. */
  readonly kme: KmeSessionState | null;
}

/** A batch of keys handed to an application: metadata only. */
export interface KeyDelivery {
  readonly keyId: string;
  readonly appId: string;
  readonly timeS: number;
  readonly keys: number;
  readonly bits: number;
  readonly provenance: Provenance;
  readonly paths: readonly (readonly string[])[];
  /** True if a compromised node could read these keys (relayed through it on every path, or at an end). */
  readonly exposed?: boolean;
}

/** Everything the dashboard draws at one instant (GET /api/state, SSE `state`). */
export interface DashboardState {
  readonly scenario: { readonly name: string; readonly title: string };
  /** Simulated seconds since start. */
  readonly timeS: number;
  /** Simulated seconds per real second. */
  readonly speed: number;
  readonly nodes: readonly NodeState[];
  readonly links: readonly LinkState[];
  readonly apps: readonly AppState[];
  /** Bits delivered to applications since start, per provenance. */
  readonly provenance: ProvenanceMix;
  readonly reroutes: number;
  /** Newest last, at most 100. */
  readonly alerts: readonly Alert[];
  /** Newest last, at most 30. */
  readonly recentKeys: readonly KeyDelivery[];
  /** Attack kinds `injectAttack` accepts. */
  readonly attackKinds: readonly string[];
  /** Which engine drives each part (e.g. `{ link: 'qkd.simulateBlock', kms: 'https-mtls' }`). */
  readonly engines: Readonly<Record<string, string>>;
}

/** One point of a link's time series. */
export interface LinkSample {
  readonly timeS: number;
  readonly qber: number | null;
  readonly keyRateBps: number;
  readonly poolBits: number;
}

/** A change pushed to subscribers (SSE event name = `type`). */
export type LiveEvent =
  // The controller's own events, passed through as the network announces them.
  | Extract<NetworkEvent, { type: 'alert' | 'link-state' | 'node-compromised' | 'node-restored' | 'reroute' }>
  | { readonly type: 'sample'; readonly linkId: string; readonly sample: LinkSample }
  | { readonly type: 'keys'; readonly delivery: KeyDelivery }
  | { readonly type: 'audit'; readonly record: AuditRecord };

/** One entry of the audit trail (GET /api/audit, SSE `audit`, the SIEM sinks): who did what, when, from where. */
export interface AuditRecord {
  readonly id: string;
  /** Wall-clock time, ISO 8601 UTC. */
  readonly time: string;
  /** Simulated seconds at that moment. */
  readonly timeS: number;
  /** Certificate CN, token name, `local` (loopback without credentials) or `anonymous`. */
  readonly actor: string;
  readonly role: 'operator' | 'viewer' | 'metrics' | null;
  readonly via: 'certificate' | 'token' | 'loopback' | 'none';
  /** `link-fail`, `link-restore`, `attack-inject`, `attack-stop`, `node-compromise`, `node-restore`, `speed`, `login`, `logout`. */
  readonly action: string;
  /** Link or node id; null for network-wide actions. */
  readonly target: string | null;
  /** Attack kind, new speed…; null when the action has none. */
  readonly detail: string | null;
  /** Client address (the forwarded one behind a trusted proxy). */
  readonly from: string;
  readonly outcome: 'accepted' | 'refused' | 'failed';
  readonly status: number;
  /** Error code of a refusal or failure. */
  readonly reason: string | null;
}

/**
 * A running network behind one interface. Controls throw `QkdnetError('DASHBOARD_UNKNOWN_TARGET')` for
 * an unknown link or node and `QkdnetError('DASHBOARD_BAD_CONTROL')` for an unknown attack kind.
 */
/** What acts on a live network: the dashboard's controls, and the composition behind them. */
export interface LiveControls {
  failLink(linkId: string): void;
  restoreLink(linkId: string): void;
  compromiseNode(nodeId: string): void;
  /** Declares a compromised node trustworthy again (keys it already saw stay exposed). */
  restoreNode(nodeId: string): void;
  injectAttack(linkId: string, kind: string): void;
  clearAttack(linkId: string): void;
  /** Changes the pace (simulated seconds per real second). */
  setSpeed(speed: number): void;
  /** Stops every engine and closes every store; resolves when all is flushed. */
  close(): Promise<void>;
}

export interface LiveNetwork extends LiveControls {
  state(): DashboardState;
  /** The time series of one link (oldest first), or of every link. */
  history(linkId: string): readonly LinkSample[];
  /** Subscribes to changes; returns the unsubscribe function. */
  subscribe(listener: (event: LiveEvent) => void): () => void;
}
