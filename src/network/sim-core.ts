/**
 * The shared state of one network simulation (internal to src/network): the kernel, the runtime records of
 * links and applications, the trusted-node graph the router reads, the hop-key access the relay uses, the
 * compromised nodes, the alert log and the subscribers. The parts of `NetworkSimulation` (key generation in
 * sim-generate.ts, serving applications in sim-serve.ts, controls in sim-controls.ts, observation in
 * sim-observe.ts) all act on one `NetCore`; simulation.ts wires them to the kernel's clock.
 */
import { NS_PER_S, type Alert } from '../common/index.ts';
import { Simulation } from '../sim/index.ts';
import { linkAuthBootstrap, type KeyMode } from '../postprocess/index.ts';
import type { Scenario, ScenarioLink } from './scenario.ts';
import type { PathGraph } from './paths.ts';
import { KeyPool, simulatedKeySource } from './key-material.ts';
import type { HopKeys } from './relay.ts';
import type { LinkLevels, Route } from './router.ts';
import { AlertFactory, type NetworkAlertKind } from './alerts.ts';
import {
  zeroProvenanceBits,
  type KeyRecord,
  type NetworkEvent,
  type RouteView,
  type Sample,
} from './types.ts';
import {
  sameRoute,
  zeroExposure,
  type AppRt,
  type LinkRt,
  type RouteChangeReason,
  ROUTE_CHANGE_REASONS,
} from './runtime.ts';
import { EventKeyStore } from './event-level.ts';
import { CompromiseTracker } from './compromise.ts';
import { linkVariation } from './variation.ts';

/** Seconds between attestation heartbeats unless the options say otherwise. */
export const DEFAULT_ATTESTATION_INTERVAL_S = 10;

const MAX_ALERTS = 100;

/** What the core needs from the simulation options. */
export interface CoreOptions {
  readonly seed?: number | string;
  readonly durationS?: number;
  readonly maxSamples?: number;
  readonly materializeKeys?: boolean;
  readonly keys?: KeyMode;
  /** Seconds between the trusted nodes' attestation heartbeats (compromise.ts; default 10, 0 = none). */
  readonly attestationIntervalS?: number;
  /** False: no link varies with the seed, whatever the scenario says (variation.ts). */
  readonly variation?: boolean;
}

/** The mutable state every part of a network simulation shares (see the file header). */
export class NetCore {
  readonly scenario: Scenario;
  readonly kernel: Simulation;
  readonly durationS: number;
  readonly seed: string;
  readonly keyMode: KeyMode;
  readonly materialize: boolean;
  readonly maxSamples: number;
  readonly nodeIndex = new Map<string, number>();
  readonly linkIndex = new Map<string, number>();
  readonly links: LinkRt[];
  readonly apps: AppRt[];
  readonly graph: PathGraph;
  readonly levels: LinkLevels;
  readonly hopKeys: HopKeys;
  readonly compromise: CompromiseTracker;
  readonly alerts: Alert[] = [];
  readonly recentKeys: KeyRecord[] = [];
  readonly samples: Sample[] = [];
  readonly listeners = new Set<(e: NetworkEvent) => void>();
  readonly alertFactory = new AlertFactory();
  readonly served = zeroProvenanceBits();
  /** Link key taken by a sender and not yet fetched by the receiver (erased on fetch). */
  readonly inFlight = new Map<string, Uint8Array>();
  alertCount = 0;
  /** Route changes of every application, by reason. */
  readonly routeChanges = Object.fromEntries(ROUTE_CHANGE_REASONS.map((r) => [r, 0])) as Record<
    RouteChangeReason,
    number
  >;
  keysServed = 0;
  keysExposed = 0;
  lastGenNs = 0;
  lowWater: number | undefined;

  constructor(scenario: Scenario, opts: CoreOptions) {
    this.scenario = scenario;
    this.seed = String(opts.seed ?? 1);
    this.keyMode = opts.keys ?? 'secret';
    this.kernel = new Simulation(this.seed);
    this.durationS = opts.durationS ?? scenario.durationS;
    if (!(this.durationS > 0)) throw new RangeError(`durationS must be positive, got ${this.durationS}`);
    this.maxSamples = opts.maxSamples ?? 5000;
    this.materialize = opts.materializeKeys ?? true;
    this.compromise = new CompromiseTracker(opts.attestationIntervalS ?? DEFAULT_ATTESTATION_INTERVAL_S);
    scenario.nodes.forEach((n, i) => this.nodeIndex.set(n.id, i));
    this.links = scenario.links.map((l, index) => {
      this.linkIndex.set(l.id, index);
      const event = this.#eventRt(l);
      return {
        index,
        id: l.id,
        from: this.node(l.from),
        to: this.node(l.to),
        rateBps: l.rateBps,
        passes: l.passes,
        pool: new KeyPool(l.capacityBits, l.initialBits),
        keys: event?.store ?? simulatedKeySource(this.seed, l.id),
        baseQber: l.qber,
        state: 'up',
        attack: null,
        carryBits: 0,
        lastRateBps: 0,
        relayedBits: 0,
        downSinceNs: 0,
        downNs: 0,
        lowAlerted: false,
        event,
        variation: opts.variation === false ? undefined : linkVariation(l, (n) => this.kernel.rng(n)),
        outageS: 0,
      };
    });
    const adjacency: [number, number][][] = scenario.nodes.map(() => []);
    for (const l of this.links) {
      adjacency[l.from]!.push([l.index, l.to]);
      adjacency[l.to]!.push([l.index, l.from]);
    }
    this.graph = { nodeCount: scenario.nodes.length, adjacency };
    this.levels = {
      usable: (li) => this.links[li]!.state === 'up',
      levelBits: (li) => this.links[li]!.pool.levelBits,
    };
    this.hopKeys = {
      take: (linkId, lengthBytes) => {
        const l = this.links[this.linkIndex.get(linkId)!]!;
        if (!l.pool.has(lengthBytes * 8)) return undefined;
        const ref = l.pool.take(lengthBytes * 8);
        l.relayedBits += lengthBytes * 8;
        this.checkLow(l);
        const key = l.keys.read(ref, lengthBytes);
        // The other end reads the very same bytes; in one process hand it a copy instead of recomputing.
        this.inFlight.set(`${linkId}\u0000${ref}`, key.slice());
        return { ref, key };
      },
      fetch: (linkId, ref, lengthBytes) => {
        const k = `${linkId}\u0000${ref}`;
        const cached = this.inFlight.get(k);
        this.inFlight.delete(k);
        if (cached && cached.length === lengthBytes) return cached;
        return this.links[this.linkIndex.get(linkId)!]!.keys.read(Number(ref), lengthBytes);
      },
    };
    this.apps = scenario.apps.map((app, index) => ({
      index,
      app,
      src: this.node(app.from),
      dst: this.node(app.to),
      rng: this.kernel.rng(`app:${app.id}`),
      demandRng: this.kernel.rng(`demand:${app.id}`),
      carryBits: 0,
      route: undefined,
      demandBits: 0,
      servedBits: 0,
      unservedBits: 0,
      byProvenance: zeroProvenanceBits(),
      keySeq: 0,
      pqc: undefined,
      fallbackAlerted: false,
      lastFallbackNs: 0,
      refusedAlerted: false,
      routed: false,
      reoptimise: false,
      routeChanges: 0,
      exposedBits: zeroExposure(),
    }));
  }

  #eventRt(l: ScenarioLink): LinkRt['event'] {
    if (l.source !== 'event-level' || !l.params || l.lengthKm === undefined) return undefined;
    const initialBytes = new KeyPool(l.capacityBits, l.initialBits).levelBits / 8;
    return {
      pulses: l.eventPulses,
      blockS: l.eventPulses / l.params.repetitionRateHz,
      params: l.params,
      distanceKm: l.lengthKm,
      keys: { keys: this.keyMode, authPool: linkAuthBootstrap(this.seed, l.id, this.keyMode) },
      store: this.materialize
        ? new EventKeyStore(simulatedKeySource(this.seed, l.id), initialBytes)
        : undefined,
      blocks: 0,
      failed: 0,
      failures: {},
    };
  }

  /** Index of a node by id (RangeError if unknown). */
  node(id: string): number {
    const i = this.nodeIndex.get(id);
    if (i === undefined) throw new RangeError(`Unknown node "${id}"`);
    return i;
  }

  /** Runtime record of a link by id (RangeError naming the known links if unknown). */
  link(id: string): LinkRt {
    const i = this.linkIndex.get(id);
    if (i === undefined)
      throw new RangeError(`Unknown link "${id}"; links are ${[...this.linkIndex.keys()].join(', ')}`);
    return this.links[i]!;
  }

  /** Simulated time now, seconds. */
  get nowS(): number {
    return this.kernel.nowNs / NS_PER_S;
  }

  /** Announces a change to every subscriber. */
  emit(e: NetworkEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Raises an alert: kept (the last 100), counted and announced. */
  alert(
    kind: NetworkAlertKind,
    where: { linkId?: string; nodeId?: string },
    evidence: Alert['evidence'],
    message: string,
  ): void {
    const alert = this.alertFactory.make(kind, this.kernel.nowNs, where, evidence, message);
    this.alertCount++;
    this.alerts.push(alert);
    if (this.alerts.length > MAX_ALERTS) this.alerts.shift();
    this.emit({ type: 'alert', alert });
  }

  /**
   * Sets app `a`'s route to `route` after a decision made for `reason`; counts and announces it if it differs
   * from the route the app had (the app's first decision is not a change).
   */
  setRoute(
    a: AppRt,
    route: Route | undefined,
    reason: RouteChangeReason,
    view: () => RouteView | null,
  ): void {
    const changed = a.routed && !sameRoute(a.route, route);
    a.route = route;
    a.routed = true;
    a.reoptimise = false;
    if (!changed) return;
    a.routeChanges++;
    this.routeChanges[reason]++;
    this.emit({ type: 'reroute', timeS: this.nowS, appId: a.app.id, route: view(), reason });
  }

  /** The pool level below which a link raises `key-exhaustion`: one request of the hungriest app, ≥ 256. */
  lowWaterBits(): number {
    if (this.lowWater === undefined) {
      let m = 0;
      for (const a of this.apps) m = Math.max(m, a.app.rateBps * this.scenario.requestIntervalS);
      this.lowWater = Math.max(256, m);
    }
    return this.lowWater;
  }

  /** Raises `key-exhaustion` once when a link's pool falls below the low-water mark. */
  checkLow(l: LinkRt): void {
    if (!l.lowAlerted && l.pool.levelBits < this.lowWaterBits()) {
      l.lowAlerted = true;
      this.alert(
        'key-exhaustion',
        { linkId: l.id },
        { statistic: 'pool_bits', value: l.pool.levelBits, threshold: this.lowWaterBits() },
        `Key pool of link ${l.id} is nearly empty: ${l.pool.levelBits} bits stored`,
      );
    }
  }

  /** Re-arms the low-pool alert of a link once its pool has recovered. */
  rearmLow(l: LinkRt): void {
    if (l.lowAlerted && l.pool.levelBits >= Math.min(l.pool.capacityBits / 2, 4 * this.lowWaterBits()))
      l.lowAlerted = false;
  }
}
