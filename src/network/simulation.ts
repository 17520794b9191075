/**
 * A QKD network in simulated time: key pools filled at each link's secret key rate, applications drawing
 * end-to-end keys (direct, relayed hop by hop through trusted nodes, or split over node-disjoint paths),
 * ML-KEM-768 hybrid and fallback keys when policy allows, and a controller that reroutes around failed or
 * quarantined links and raises alerts. Runs to completion as fast as possible (`run`) or paced by the wall
 * clock (`startLive`) for the dashboard; both use the same kernel and the same code, so a live run and a
 * batch run with the same seed and the same controls produce the same keys and the same numbers.
 * The relay is the sans-IO machine of relay.ts over simulated link key material (key-material.ts).
 */
import { NS_PER_S, type Alert, type Provenance, type Rng } from '../common/index.ts';
import { Simulation, WallClockRunner, type WallClockOptions } from '../sim/index.ts';
import { linkAuthBootstrap, type KeyMode } from '../postprocess/index.ts';
import { ATTACK_KINDS } from '../qkd/index.ts';
import { establishPqcSecret, hybridKey, pqcKey } from '../kms/index.ts';
import { withEventLevel, type Scenario, type ScenarioEvent, type ScenarioLink } from './scenario.ts';
import type { PathGraph } from './paths.ts';
import { KeyPool, simulatedKeySource, type LinkKeySource } from './key-material.ts';
import { relayInProcess, type HopKeys } from './relay.ts';
import { admits, findRoute, routeStillUsable, type LinkLevels, type Route } from './router.ts';
import { AlertFactory, type NetworkAlertKind } from './alerts.ts';
import {
  zeroProvenanceBits,
  type KeyRecord,
  type LinkSample,
  type LinkState,
  type NetworkEvent,
  type NetworkSnapshot,
  type ProvenanceBits,
  type RouteView,
  type Sample,
  type SimulationSummary,
} from './types.ts';
import { passOverlapS, inPass } from './passes.ts';
import {
  ABORT_QBER,
  BASELINE_QBER,
  attackAborts,
  attackParam,
  bytesFrom,
  equalBytes,
  linkQber,
  sameRoute,
  type AppRt,
  type LinkAttack,
  type LinkRt,
} from './runtime.ts';
export { ABORT_QBER, attackParam, type LinkAttack } from './runtime.ts';
import { linkView, summaryOf } from './views.ts';
import { EventKeyStore, runEventBlock } from './event-level.ts';

/** Options of a network simulation. */
export interface NetworkSimulationOptions {
  /** Seed of every random stream (default 1). */
  readonly seed?: number | string;
  /** Overrides the scenario's duration (seconds). */
  readonly durationS?: number;
  /** Seconds between time-series samples (default: scenario's, else duration/288, at least one block). */
  readonly sampleIntervalS?: number;
  /** Keep at most this many samples (oldest dropped; default 5000). */
  readonly maxSamples?: number;
  /**
   * Relay real key bytes hop by hop, derive hybrid/PQC keys and check both ends agree (default true).
   * False = accounting mode for large planning runs: pools, paths, provenance and exposure are tracked
   * exactly, but no key bytes are made.
   */
  readonly materializeKeys?: boolean;
  /**
   * Switch every link that can be simulated event by event to `source: event-level` (what
   * `qkdnet simulate --event-level` sets); see `withEventLevel` in scenario.ts. Default false.
   */
  readonly eventLevel?: boolean;
  /**
   * Event-level key bytes: `secret` (default — key bits, PA seeds and authentication pads from node:crypto;
   * figures still follow the seed exactly) or `deterministic` (`--deterministic-keys`: bytes reproducible
   * from the seed too, provenance `simulated-deterministic`).
   */
  readonly keys?: KeyMode;
}

const PRIORITY = { control: -1, generate: 0, request: 1, sample: 2 } as const;
const MAX_ALERTS = 100;
/** An app back on QKD is announced only after this long without a fallback (no alert flapping). */
const ALERT_HOLD_NS = 300 * NS_PER_S;
const MAX_RECENT_KEYS = 50;

/** A whole QKD network running in simulated time (see the file header). */
export class NetworkSimulation {
  readonly scenario: Scenario;
  readonly kernel: Simulation;
  readonly durationS: number;
  readonly #seed: string;
  readonly #keys: KeyMode;
  readonly #nodeIndex = new Map<string, number>();
  readonly #linkIndex = new Map<string, number>();
  readonly #links: LinkRt[];
  readonly #apps: AppRt[];
  readonly #graph: PathGraph;
  readonly #levels: LinkLevels;
  readonly #hopKeys: HopKeys;
  readonly #compromised = new Set<number>();
  readonly #alerts: Alert[] = [];
  readonly #recentKeys: KeyRecord[] = [];
  readonly #samples: Sample[] = [];
  readonly #listeners = new Set<(e: NetworkEvent) => void>();
  readonly #alertFactory = new AlertFactory();
  readonly #maxSamples: number;
  readonly #served = zeroProvenanceBits();
  #alertCount = 0;
  #reroutes = 0;
  #keysServed = 0;
  #keysExposed = 0;
  #lastGenNs = 0;
  #lowWater: number | undefined;
  readonly #materialize: boolean;
  /** Link key taken by a sender and not yet fetched by the receiver (erased on fetch). */
  readonly #inFlight = new Map<string, Uint8Array>();
  #runner: WallClockRunner | undefined;

  constructor(scenario: Scenario, opts: NetworkSimulationOptions = {}) {
    if (opts.eventLevel) scenario = withEventLevel(scenario);
    this.scenario = scenario;
    this.#seed = String(opts.seed ?? 1);
    this.#keys = opts.keys ?? 'secret';
    this.kernel = new Simulation(this.#seed);
    this.durationS = opts.durationS ?? scenario.durationS;
    if (!(this.durationS > 0)) throw new RangeError(`durationS must be positive, got ${this.durationS}`);
    this.#maxSamples = opts.maxSamples ?? 5000;
    this.#materialize = opts.materializeKeys ?? true;
    scenario.nodes.forEach((n, i) => this.#nodeIndex.set(n.id, i));
    this.#links = scenario.links.map((l, index) => {
      this.#linkIndex.set(l.id, index);
      const event = this.#eventRt(l);
      return {
        index,
        id: l.id,
        from: this.#node(l.from),
        to: this.#node(l.to),
        rateBps: l.rateBps,
        passes: l.passes,
        pool: new KeyPool(l.capacityBits, l.initialBits),
        keys: event?.store ?? simulatedKeySource(this.#seed, l.id),
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
      };
    });
    const adjacency: [number, number][][] = scenario.nodes.map(() => []);
    for (const l of this.#links) {
      adjacency[l.from]!.push([l.index, l.to]);
      adjacency[l.to]!.push([l.index, l.from]);
    }
    this.#graph = { nodeCount: scenario.nodes.length, adjacency };
    this.#levels = {
      usable: (li) => this.#links[li]!.state === 'up',
      levelBits: (li) => this.#links[li]!.pool.levelBits,
    };
    this.#hopKeys = {
      take: (linkId, lengthBytes) => {
        const l = this.#links[this.#linkIndex.get(linkId)!]!;
        if (!l.pool.has(lengthBytes * 8)) return undefined;
        const ref = l.pool.take(lengthBytes * 8);
        l.relayedBits += lengthBytes * 8;
        this.#checkLow(l);
        const key = l.keys.read(ref, lengthBytes);
        // The other end reads the very same bytes; in one process hand it a copy instead of recomputing.
        this.#inFlight.set(`${linkId}\u0000${ref}`, key.slice());
        return { ref, key };
      },
      fetch: (linkId, ref, lengthBytes) => {
        const k = `${linkId}\u0000${ref}`;
        const cached = this.#inFlight.get(k);
        this.#inFlight.delete(k);
        if (cached && cached.length === lengthBytes) return cached;
        return this.#links[this.#linkIndex.get(linkId)!]!.keys.read(Number(ref), lengthBytes);
      },
    };
    this.#apps = scenario.apps.map((app, index) => ({
      index,
      app,
      src: this.#node(app.from),
      dst: this.#node(app.to),
      rng: this.kernel.rng(`app:${app.id}`),
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
    }));
    this.#schedule(scenario, opts);
  }

  #eventRt(l: ScenarioLink): LinkRt['event'] {
    if (l.source !== 'event-level' || !l.params || l.lengthKm === undefined) return undefined;
    const initialBytes = new KeyPool(l.capacityBits, l.initialBits).levelBits / 8;
    return {
      pulses: l.eventPulses,
      blockS: l.eventPulses / l.params.repetitionRateHz,
      params: l.params,
      distanceKm: l.lengthKm,
      keys: { keys: this.#keys, authPool: linkAuthBootstrap(this.#seed, l.id, this.#keys) },
      store: this.#materialize
        ? new EventKeyStore(simulatedKeySource(this.#seed, l.id), initialBytes)
        : undefined,
      blocks: 0,
      failed: 0,
      failures: {},
    };
  }

  #node(id: string): number {
    const i = this.#nodeIndex.get(id);
    if (i === undefined) throw new RangeError(`Unknown node "${id}"`);
    return i;
  }

  #link(id: string): LinkRt {
    const i = this.#linkIndex.get(id);
    if (i === undefined)
      throw new RangeError(`Unknown link "${id}"; links are ${[...this.#linkIndex.keys()].join(', ')}`);
    return this.#links[i]!;
  }

  #schedule(scenario: Scenario, opts: NetworkSimulationOptions): void {
    const blockNs = Math.round(scenario.blockS * NS_PER_S);
    this.kernel.every(blockNs, () => this.#generate(), { priority: PRIORITY.generate, label: 'generate' });
    for (const l of this.#links) {
      if (!l.event) continue;
      const ev = l.event;
      this.kernel.every(Math.max(1, Math.round(ev.blockS * NS_PER_S)), () => this.#eventBlock(l, ev), {
        priority: PRIORITY.generate,
        label: `event-level:${l.id}`,
      });
    }
    const reqNs = Math.round(scenario.requestIntervalS * NS_PER_S);
    for (const a of this.#apps) {
      const phase = 1 + Math.floor(a.rng.nextFloat() * reqNs);
      this.kernel.every(reqNs, () => this.#request(a, scenario.requestIntervalS), {
        priority: PRIORITY.request,
        label: `request:${a.app.id}`,
        firstDelayNs: phase,
      });
    }
    const sampleS =
      opts.sampleIntervalS ?? scenario.sampleIntervalS ?? Math.max(scenario.blockS, this.durationS / 288);
    this.#sample();
    this.kernel.every(Math.round(sampleS * NS_PER_S), () => this.#sample(), {
      priority: PRIORITY.sample,
      label: 'sample',
    });
    for (const e of scenario.events) this.scheduleEvent(e);
  }

  /** Schedules a fail/restore/compromise event at `e.atS` simulated seconds. */
  scheduleEvent(e: ScenarioEvent): void {
    const atNs = Math.round(e.atS * NS_PER_S);
    const run = () => {
      if (e.kind === 'fail') this.failLink(e.target);
      else if (e.kind === 'restore') this.restoreLink(e.target);
      else this.compromiseNode(e.target);
    };
    this.kernel.at(Math.max(atNs, this.kernel.nowNs), run, {
      priority: PRIORITY.control,
      label: `${e.kind}:${e.target}`,
    });
  }

  // ----- subscription -----

  /** Calls `listener` on every change; returns the function that unsubscribes. */
  subscribe(listener: (e: NetworkEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(e: NetworkEvent): void {
    for (const l of this.#listeners) l(e);
  }

  #alert(
    kind: NetworkAlertKind,
    where: { linkId?: string; nodeId?: string },
    evidence: Alert['evidence'],
    message: string,
  ): void {
    const alert = this.#alertFactory.make(kind, this.kernel.nowNs, where, evidence, message);
    this.#alertCount++;
    this.#alerts.push(alert);
    if (this.#alerts.length > MAX_ALERTS) this.#alerts.shift();
    this.#emit({ type: 'alert', alert });
  }

  get #nowS(): number {
    return this.kernel.nowNs / NS_PER_S;
  }

  // ----- key generation -----

  #generate(): void {
    const now = this.kernel.nowNs;
    const fromS = this.#lastGenNs / NS_PER_S;
    const toS = now / NS_PER_S;
    this.#lastGenNs = now;
    for (const l of this.#links) {
      if (l.event) continue; // filled by #eventBlock
      if (l.state !== 'up' || (l.attack !== null && attackAborts(l.attack))) continue;
      const seconds = l.passes ? passOverlapS(l.passes, fromS, toS) : toS - fromS;
      const bits = l.carryBits + l.rateBps * seconds;
      const whole = Math.floor(bits / 8) * 8;
      l.carryBits = bits - whole;
      if (whole > 0) l.pool.add(whole);
      if (l.lowAlerted && l.pool.levelBits >= Math.min(l.pool.capacityBits / 2, 4 * this.#lowWaterBits()))
        l.lowAlerted = false;
    }
  }

  /**
   * One event-level block of link `l` (its interval of simulated time just ended): simulated by the link
   * engine with any injected attack, post-processed; the final key (whole bytes) goes to the pool. A block
   * refused while an attack is injected raises `attack-suspected` and quarantines the link.
   */
  #eventBlock(l: LinkRt, ev: NonNullable<LinkRt['event']>): void {
    if (l.state !== 'up') {
      l.lastRateBps = 0;
      return;
    }
    const blockId = ev.blocks++;
    const out = runEventBlock(
      {
        seed: this.#seed,
        linkId: l.id,
        blockId,
        pulses: ev.pulses,
        params: ev.params,
        distanceKm: ev.distanceKm,
        attack: l.attack,
        timeNs: this.kernel.nowNs,
        wantKey: ev.store !== undefined,
      },
      ev.keys,
    );
    if (!out.ok) {
      ev.failed++;
      ev.failures[out.reason] = (ev.failures[out.reason] ?? 0) + 1;
      l.lastRateBps = 0;
      if (l.attack !== null) {
        this.#alert(
          'attack-suspected',
          { linkId: l.id },
          { statistic: 'postprocess_refused_blocks', value: 1, threshold: 1 },
          `Post-processing refused block ${blockId} on link ${l.id} (${out.reason}) under ${l.attack.kind}`,
        );
        this.quarantineLink(l.id, l.attack.kind);
      }
      return;
    }
    const whole = Math.floor(out.bits / 8) * 8;
    const before = l.pool.levelBits;
    l.pool.add(whole);
    const keptBytes = (l.pool.levelBits - before) / 8;
    if (out.key) {
      ev.store?.append(out.key.subarray(0, keptBytes));
      out.key.fill(0);
    }
    l.lastRateBps = out.bits / ev.blockS;
    if (l.lowAlerted && l.pool.levelBits >= Math.min(l.pool.capacityBits / 2, 4 * this.#lowWaterBits()))
      l.lowAlerted = false;
  }

  #lowWaterBits(): number {
    if (this.#lowWater === undefined) {
      let m = 0;
      for (const a of this.#apps) m = Math.max(m, a.app.rateBps * this.scenario.requestIntervalS);
      this.#lowWater = Math.max(256, m);
    }
    return this.#lowWater;
  }

  #checkLow(l: LinkRt): void {
    if (!l.lowAlerted && l.pool.levelBits < this.#lowWaterBits()) {
      l.lowAlerted = true;
      this.#alert(
        'key-exhaustion',
        { linkId: l.id },
        { statistic: 'pool_bits', value: l.pool.levelBits, threshold: this.#lowWaterBits() },
        `Key pool of link ${l.id} is nearly empty: ${l.pool.levelBits} bits stored`,
      );
    }
  }

  // ----- serving applications -----

  #request(a: AppRt, intervalS: number): void {
    a.carryBits += a.app.rateBps * intervalS;
    const keys = Math.floor(a.carryBits / a.app.keyBits);
    if (keys <= 0) return;
    a.carryBits -= keys * a.app.keyBits;
    const bits = keys * a.app.keyBits;
    a.demandBits += bits;
    const route = this.#routeFor(a, bits);
    if (route) {
      this.#serveQkd(a, route, keys);
      return;
    }
    if (admits(a.app.minProvenance, 'pqc')) {
      this.#servePqc(a, keys);
      return;
    }
    a.unservedBits += bits;
    if (!a.refusedAlerted) {
      a.refusedAlerted = true;
      this.#alert(
        'policy-refused',
        { nodeId: a.app.from },
        { statistic: 'qkd_paths_with_key', value: 0, threshold: 1 },
        `Cannot serve app ${a.app.id} (${a.app.from}→${a.app.to}): no ${a.app.minProvenance}-or-better key available and policy refuses pqc`,
      );
    }
  }

  #routeFor(a: AppRt, bits: number): Route | undefined {
    if (a.route && routeStillUsable(a.route, this.#levels, bits)) return a.route;
    const route = findRoute(this.#graph, this.#levels, a.src, a.dst, bits, a.app);
    if (!sameRoute(route, a.route))
      this.#emit({ type: 'reroute', timeS: this.#nowS, appId: a.app.id, route: this.#routeView(route) });
    a.route = route;
    return route;
  }

  #routeView(route: Route | undefined): RouteView | null {
    if (!route) return null;
    return {
      provenance: route.provenance,
      paths: route.paths.map((p) => p.nodes.map((n) => this.scenario.nodes[n]!.id)),
    };
  }

  /** Relays real (simulated) key bytes hop by hop and derives hybrid keys at both ends; checks they agree. */
  #relayKeys(a: AppRt, route: Route, keys: number): void {
    const keyBytes = a.app.keyBits / 8;
    const bytes = keys * keyBytes;
    const keyId = `${a.app.id}-${a.keySeq}`;
    const random = bytesFrom(a.rng);
    let sourceKey: Uint8Array;
    let destKey: Uint8Array;
    if (route.paths.length === 1 && route.paths[0]!.links.length === 1) {
      const linkId = this.#links[route.paths[0]!.links[0]!]!.id;
      const k = this.#hopKeys.take(linkId, bytes)!;
      sourceKey = k.key;
      destKey = this.#hopKeys.fetch(linkId, k.ref, bytes)!;
    } else {
      sourceKey = random(bytes);
      const routes = route.paths.map((p) => ({
        nodes: p.nodes.map((n) => this.scenario.nodes[n]!.id),
        links: p.links.map((li) => this.#links[li]!.id),
      }));
      const r = relayInProcess(keyId, sourceKey, routes, this.#hopKeys, random);
      if (!r.ok) throw new Error(`relay of ${keyId} failed after the route was checked: ${r.reason}`);
      destKey = r.key;
    }
    if (!equalBytes(sourceKey, destKey)) throw new Error(`relay of ${keyId} delivered a different key (bug)`);
    if (a.app.hybrid) {
      // One HKDF call per chunk of consecutive keys (info binds the first key_ID and the count).
      const s = this.#pqcSecret(a);
      this.#deriveChunks(a, keys, (id, from, to) => {
        const kA = hybridKey(sourceKey.subarray(from, to), s.secretA, id, to - from);
        const kB = hybridKey(destKey.subarray(from, to), s.secretB, id, to - from);
        if (!equalBytes(kA, kB)) throw new Error(`hybrid keys ${id} differ between ends (bug)`);
        kA.fill(0);
        kB.fill(0);
      });
    }
    sourceKey.fill(0);
    destKey.fill(0);
  }

  /** Accounting mode: takes the bits from every hop's pool without materialising key bytes. */
  #accountKeys(route: Route, bits: number): void {
    for (const p of route.paths) {
      for (const li of p.links) {
        const l = this.#links[li]!;
        l.pool.take(bits);
        l.relayedBits += bits;
        this.#checkLow(l);
      }
    }
  }

  #serveQkd(a: AppRt, route: Route, keys: number): void {
    if (this.#materialize) this.#relayKeys(a, route, keys);
    else this.#accountKeys(route, keys * a.app.keyBits);
    const provenance: Provenance = a.app.hybrid ? 'hybrid' : route.provenance;
    if (a.fallbackAlerted && this.kernel.nowNs - a.lastFallbackNs >= ALERT_HOLD_NS) {
      a.fallbackAlerted = false;
      this.#alert(
        'qkd-restored',
        { nodeId: a.app.from },
        { statistic: 'qkd_paths_with_key', value: route.paths.length, threshold: 1 },
        `App ${a.app.id} is served by QKD again (${provenance})`,
      );
    }
    a.refusedAlerted = false;
    const paths = route.paths.map((p) => p.nodes.map((n) => this.scenario.nodes[n]!.id));
    const exposedTo = route.paths.length === 1 ? paths[0]!.slice(1, -1) : [];
    const exposed =
      this.#compromised.has(a.src) ||
      this.#compromised.has(a.dst) ||
      route.paths.every((p) => p.nodes.slice(1, -1).some((n) => this.#compromised.has(n)));
    this.#record(a, keys, provenance, paths, exposedTo, exposed);
  }

  /** Calls `derive` per chunk of ≤ 8160 bytes (HKDF-SHA-256's output limit, RFC 5869 §2.3). */
  #deriveChunks(
    a: AppRt,
    keys: number,
    derive: (id: string, fromByte: number, toByte: number) => void,
  ): void {
    const keyBytes = a.app.keyBits / 8;
    const perChunk = Math.max(1, Math.floor((255 * 32) / keyBytes));
    for (let k = 0; k < keys; k += perChunk) {
      const n = Math.min(perChunk, keys - k);
      derive(`${a.app.id}-${a.keySeq + k}+${n}`, k * keyBytes, (k + n) * keyBytes);
    }
  }

  #pqcSecret(a: AppRt): { secretA: Uint8Array; secretB: Uint8Array } {
    const now = this.kernel.nowNs;
    if (!a.pqc || now - a.pqc.atNs >= this.scenario.pqcRekeyS * NS_PER_S) {
      const { initiatorSecret, responderSecret } = establishPqcSecret(
        bytesFrom(this.kernel.rng(`pqc:${a.app.id}`)),
      );
      a.pqc?.secretA.fill(0);
      a.pqc?.secretB.fill(0);
      a.pqc = { secretA: initiatorSecret, secretB: responderSecret, atNs: now };
    }
    return a.pqc;
  }

  #servePqc(a: AppRt, keys: number): void {
    const s = this.#materialize ? this.#pqcSecret(a) : undefined;
    if (s)
      this.#deriveChunks(a, keys, (id, from, to) => {
        const kA = pqcKey(s.secretA, id, to - from);
        const kB = pqcKey(s.secretB, id, to - from);
        if (!equalBytes(kA, kB)) throw new Error(`pqc keys ${id} differ between ends (bug)`);
        kA.fill(0);
        kB.fill(0);
      });
    a.lastFallbackNs = this.kernel.nowNs;
    if (!a.fallbackAlerted) {
      a.fallbackAlerted = true;
      this.#alert(
        'pqc-fallback',
        { nodeId: a.app.from },
        { statistic: 'qkd_paths_with_key', value: 0, threshold: 1 },
        `App ${a.app.id} (${a.app.from}→${a.app.to}) falls back to ML-KEM-768: no QKD path has key`,
      );
    }
    const exposed = this.#compromised.has(a.src) || this.#compromised.has(a.dst);
    this.#record(a, keys, 'pqc', [], [], exposed);
  }

  #record(
    a: AppRt,
    keys: number,
    provenance: Provenance,
    paths: string[][],
    exposedTo: string[],
    exposed: boolean,
  ): void {
    const bits = keys * a.app.keyBits;
    a.servedBits += bits;
    a.byProvenance[provenance] += bits;
    this.#served[provenance] += bits;
    this.#keysServed += keys;
    if (exposed) this.#keysExposed += keys;
    const record: KeyRecord = {
      keyId: `${a.app.id}-${a.keySeq}`,
      appId: a.app.id,
      timeS: this.#nowS,
      keys,
      bits,
      provenance,
      paths,
      exposedTo,
      exposed,
    };
    a.keySeq += keys;
    this.#recentKeys.push(record);
    if (this.#recentKeys.length > MAX_RECENT_KEYS) this.#recentKeys.shift();
    if (this.#listeners.size > 0) this.#emit({ type: 'keys', record });
  }

  // ----- controls -----

  #setState(l: LinkRt, state: LinkState): void {
    if (l.state === state) return;
    const now = this.kernel.nowNs;
    if (l.state === 'up') l.downSinceNs = now;
    else if (state === 'up') l.downNs += now - l.downSinceNs;
    l.state = state;
    this.#emit({ type: 'link-state', timeS: this.#nowS, linkId: l.id, state });
    if (state === 'up') {
      for (const a of this.#apps) a.route = undefined; // re-optimise on the next request
      return;
    }
    for (const a of this.#apps) {
      if (!a.route?.paths.some((p) => p.links.includes(l.index))) continue;
      const bits = Math.max(
        a.app.keyBits,
        Math.floor((a.app.rateBps * this.scenario.requestIntervalS) / a.app.keyBits) * a.app.keyBits,
      );
      const old = a.route;
      a.route = findRoute(this.#graph, this.#levels, a.src, a.dst, bits, a.app);
      if (a.route) this.#reroutes++;
      if (!sameRoute(old, a.route))
        this.#emit({ type: 'reroute', timeS: this.#nowS, appId: a.app.id, route: this.#routeView(a.route) });
    }
  }

  /** Cuts a link (fiber cut, device failure): no key generated or relayed over it until restored. */
  failLink(id: string): void {
    const l = this.#link(id);
    if (l.state === 'down') return;
    this.#setState(l, 'down');
    this.#alert(
      'link-down',
      { linkId: id },
      { statistic: 'link_up', value: 0, threshold: 1 },
      `Link ${id} is down; traffic rerouted`,
    );
  }

  /** Quarantines a link (suspected attack): its stored key is discarded and it carries nothing. */
  quarantineLink(id: string, reason = 'operator'): void {
    const l = this.#link(id);
    if (l.state === 'quarantined') return;
    l.pool.flush();
    l.event?.store?.flush();
    this.#setState(l, 'quarantined');
    this.#alert(
      'link-quarantined',
      { linkId: id },
      { statistic: 'quarantine', value: 1, threshold: 1 },
      `Link ${id} quarantined (${reason}); its stored key was discarded`,
    );
  }

  /** Brings a failed or quarantined link back (and clears any injected attack). */
  restoreLink(id: string): void {
    const l = this.#link(id);
    l.attack = null;
    if (l.state === 'up') return;
    this.#setState(l, 'up');
    this.#alert(
      'link-restored',
      { linkId: id },
      { statistic: 'link_up', value: 1, threshold: 1 },
      `Link ${id} restored`,
    );
  }

  /** Marks a trusted node as silently compromised: it reads every key share it relays from now on. */
  compromiseNode(id: string): void {
    const n = this.#node(id);
    if (this.#compromised.has(n)) return;
    this.#compromised.add(n);
    this.#emit({ type: 'node-compromised', timeS: this.#nowS, nodeId: id });
  }

  /**
   * Declares a compromised node trustworthy again (re-imaged, re-keyed): key relayed through it from now
   * on is no longer exposed. Keys it saw while compromised keep their exposure in the records.
   */
  restoreNode(id: string): void {
    const n = this.#node(id);
    if (!this.#compromised.delete(n)) return;
    this.#emit({ type: 'node-restored', timeS: this.#nowS, nodeId: id });
  }

  /**
   * Injects an attack on a link. Intercept-resend on a fraction f of pulses raises the QBER to
   * e_d + f/4 (Bennett & Brassard 1984; each intercepted pulse is wrong with probability 1/4); above 11%
   * post-processing aborts every block, the link produces no key and the controller quarantines it.
   * Other attacks are quarantined on detection (the detectors of src/detect will refine this).
   * On an event-level link the attack is simulated in every following block instead; the link is
   * quarantined when post-processing refuses a block under it.
   */
  injectAttack(linkId: string, attack: LinkAttack): void {
    if (!(ATTACK_KINDS as readonly string[]).includes(attack.kind))
      throw new RangeError(`Unknown attack "${attack.kind}": expected one of ${ATTACK_KINDS.join(', ')}`);
    const l = this.#link(linkId);
    l.attack = attack;
    if (l.event) return; // event-level: the attack goes into the next blocks; post-processing decides
    if (attack.kind === 'intercept-resend') {
      const qber = BASELINE_QBER + attackParam(attack) / 4;
      if (qber <= ABORT_QBER) return; // undetected by the threshold; key still distilled (with less margin)
      this.#alert(
        'attack-suspected',
        { linkId },
        { statistic: 'qber', value: qber, threshold: ABORT_QBER },
        `QBER on link ${linkId} is ${(qber * 100).toFixed(1)}% > ${ABORT_QBER * 100}%: blocks aborted`,
      );
    } else {
      this.#alert(
        'attack-suspected',
        { linkId },
        { statistic: attack.kind, value: 1, threshold: 1 },
        `Signature of ${attack.kind} on link ${linkId}`,
      );
    }
    this.quarantineLink(linkId, attack.kind);
  }

  /** Removes an injected attack; a link quarantined for it is restored (fresh key from now on). */
  clearAttack(linkId: string): void {
    const l = this.#link(linkId);
    if (l.attack === null) return;
    l.attack = null;
    if (l.state === 'quarantined') this.restoreLink(linkId);
  }

  // ----- running -----

  /** Runs to `untilS` (default: the duration) as fast as possible; `onProgress(fraction)` now and then. */
  run(untilS = this.durationS, onProgress?: (fraction: number) => void): void {
    const endNs = Math.round(untilS * NS_PER_S);
    const steps = onProgress ? 100 : 1;
    for (let i = 1; i <= steps; i++) {
      const t = Math.round((endNs * i) / steps);
      if (t > this.kernel.nowNs) this.kernel.run(t);
      onProgress?.(i / steps);
    }
  }

  /** Paces the simulation by the wall clock (`speed` simulated seconds per real second). */
  startLive(opts: WallClockOptions = {}): WallClockRunner {
    this.#runner?.stop();
    this.#runner = new WallClockRunner(this.kernel, opts).start();
    return this.#runner;
  }

  /** Stops a live run. */
  stopLive(): void {
    this.#runner?.stop();
  }

  /** Changes the pace of a live run (simulated seconds per real second). */
  setSpeed(speed: number): void {
    if (!this.#runner) throw new RangeError('setSpeed: no live run; call startLive() first');
    this.#runner.setSpeed(speed);
  }

  #sample(): void {
    const poolBits: Record<string, number> = {};
    const keyRateBps: Record<string, number> = {};
    const qber: Record<string, number | null> = {};
    for (const l of this.#links) {
      poolBits[l.id] = l.pool.levelBits;
      keyRateBps[l.id] = l.lastRateBps;
      qber[l.id] = linkQber(l);
    }
    let demand = 0;
    let unserved = 0;
    for (const a of this.#apps) {
      demand += a.demandBits;
      unserved += a.unservedBits;
    }
    const sample: Sample = {
      timeS: this.#nowS,
      poolBits,
      keyRateBps,
      qber,
      servedByProvenance: { ...this.#served },
      demandBits: demand,
      unservedBits: unserved,
    };
    this.#samples.push(sample);
    if (this.#samples.length > this.#maxSamples) this.#samples.shift();
    if (this.#listeners.size > 0) this.#emit({ type: 'sample', sample });
  }

  /** The time series recorded so far. */
  samples(): readonly Sample[] {
    return this.#samples;
  }

  /** The time series of one link, oldest first. */
  history(linkId: string): LinkSample[] {
    this.#link(linkId);
    return this.#samples.map((s) => ({
      timeS: s.timeS,
      qber: s.qber[linkId] ?? null,
      keyRateBps: s.keyRateBps[linkId] ?? 0,
      poolBits: s.poolBits[linkId] ?? 0,
    }));
  }

  /** Every alert raised (the last 100). */
  alerts(): readonly Alert[] {
    return this.#alerts;
  }

  /** The current state (a fresh object; safe to serialise — no key material). */
  snapshot(): NetworkSnapshot {
    const now = this.kernel.nowNs;
    const t = this.#nowS;
    return {
      scenario: { name: this.scenario.name, title: this.scenario.title },
      timeS: t,
      durationS: this.durationS,
      nodes: this.scenario.nodes.map((n, i) => ({
        id: n.id,
        name: n.name,
        lat: n.lat,
        lon: n.lon,
        kind: n.kind,
        compromised: this.#compromised.has(i),
      })),
      links: this.#links.map((l) => linkView(l, this.scenario, now)),
      apps: this.#apps.map((a) => ({
        id: a.app.id,
        from: a.app.from,
        to: a.app.to,
        rateBps: a.app.rateBps,
        minProvenance: a.app.minProvenance,
        demandBits: a.demandBits,
        servedBits: a.servedBits,
        unservedBits: a.unservedBits,
        servedByProvenance: { ...a.byProvenance },
        route: this.#routeView(a.route),
      })),
      totals: this.#totals(),
      alerts: [...this.#alerts],
      recentKeys: [...this.#recentKeys],
    };
  }

  #totals(): NetworkSnapshot['totals'] {
    let demandBits = 0;
    let servedBits = 0;
    let unservedBits = 0;
    for (const a of this.#apps) {
      demandBits += a.demandBits;
      servedBits += a.servedBits;
      unservedBits += a.unservedBits;
    }
    const keyed = Object.values(this.#served).reduce((s, v) => s + v, 0);
    return {
      demandBits,
      servedBits,
      unservedBits,
      plaintextBits: servedBits - keyed, // bits delivered without a key of some provenance: must be 0
      servedByProvenance: { ...this.#served },
      reroutes: this.#reroutes,
      keysServed: this.#keysServed,
      keysExposed: this.#keysExposed,
      alerts: this.#alertCount,
    };
  }

  /** The summary `qkdnet simulate --format json` prints. */
  summary(elapsedMs: number): SimulationSummary {
    return summaryOf(this.snapshot(), elapsedMs);
  }
}
