/**
 * A QKD network in simulated time: key pools filled at each link's secret key rate, applications drawing
 * end-to-end keys (direct, relayed hop by hop through trusted nodes, or split over node-disjoint paths),
 * ML-KEM-768 hybrid and fallback keys when policy allows, and a controller that reroutes around failed or
 * quarantined links and raises alerts. Runs to completion as fast as possible (`run`) or paced by the wall
 * clock (`startLive`) for the dashboard; both use the same kernel and the same code, so a live run and a
 * batch run with the same seed and the same controls produce the same keys and the same numbers.
 * The relay is the sans-IO machine of relay.ts over simulated link key material (key-material.ts). The parts
 * share one state (sim-core.ts): key generation (sim-generate.ts), serving applications (sim-serve.ts),
 * controls (sim-controls.ts) and observation (sim-observe.ts); this file wires them to the kernel's clock.
 */
import { NS_PER_S, type Alert } from '../common/index.ts';
import { WallClockRunner, type Simulation, type WallClockOptions } from '../sim/index.ts';
import type { KeyMode } from '../postprocess/index.ts';
import { withEventLevel, type Scenario, type ScenarioEvent } from './scenario.ts';
import type { LinkSample, NetworkEvent, NetworkSnapshot, Sample, SimulationSummary } from './types.ts';
import type { LinkAttack } from './runtime.ts';
export { ABORT_QBER, attackParam, type LinkAttack } from './runtime.ts';
import { summaryOf } from './views.ts';
import { NetCore } from './sim-core.ts';
import { eventBlock, generate } from './sim-generate.ts';
import { request } from './sim-serve.ts';
import * as controls from './sim-controls.ts';
import { history, sample, snapshot } from './sim-observe.ts';

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
   * Seconds between the trusted nodes' attestation heartbeats, which find a compromised node
   * (src/network/compromise.ts; default 10, 0 = none: only an operator declaration makes it known).
   */
  readonly attestationIntervalS?: number;
  /**
   * Event-level key bytes: `secret` (default — key bits, PA seeds and authentication pads from node:crypto;
   * figures still follow the seed exactly) or `deterministic` (`--deterministic-keys`: bytes reproducible
   * from the seed too, provenance `simulated-deterministic`).
   */
  readonly keys?: KeyMode;
  /**
   * False: no link varies with the seed (fiber drift and outages, pass geometry, cloud cover; variation.ts),
   * whatever the scenario says. Default: the scenario's `variation` (true unless set false).
   */
  readonly variation?: boolean;
}

const PRIORITY = { control: -1, generate: 0, request: 1, sample: 2 } as const;

/** A whole QKD network running in simulated time (see the file header). */
export class NetworkSimulation {
  readonly scenario: Scenario;
  readonly kernel: Simulation;
  readonly durationS: number;
  readonly #core: NetCore;
  #runner: WallClockRunner | undefined;

  constructor(scenario: Scenario, opts: NetworkSimulationOptions = {}) {
    if (opts.eventLevel) scenario = withEventLevel(scenario);
    this.#core = new NetCore(scenario, opts);
    this.scenario = scenario;
    this.kernel = this.#core.kernel;
    this.durationS = this.#core.durationS;
    this.#schedule(scenario, opts);
  }

  #schedule(scenario: Scenario, opts: NetworkSimulationOptions): void {
    const core = this.#core;
    const blockNs = Math.round(scenario.blockS * NS_PER_S);
    this.kernel.every(blockNs, () => generate(core), { priority: PRIORITY.generate, label: 'generate' });
    for (const l of core.links) {
      if (!l.event) continue;
      const ev = l.event;
      this.kernel.every(Math.max(1, Math.round(ev.blockS * NS_PER_S)), () => eventBlock(core, l, ev), {
        priority: PRIORITY.generate,
        label: `event-level:${l.id}`,
      });
    }
    const reqNs = Math.round(scenario.requestIntervalS * NS_PER_S);
    for (const a of core.apps) {
      const phase = 1 + Math.floor(a.rng.nextFloat() * reqNs);
      this.kernel.every(reqNs, () => request(core, a, scenario.requestIntervalS), {
        priority: PRIORITY.request,
        label: `request:${a.app.id}`,
        firstDelayNs: phase,
      });
    }
    const sampleS =
      opts.sampleIntervalS ?? scenario.sampleIntervalS ?? Math.max(scenario.blockS, this.durationS / 288);
    sample(core);
    this.kernel.every(Math.round(sampleS * NS_PER_S), () => sample(core), {
      priority: PRIORITY.sample,
      label: 'sample',
    });
    const attestS = core.compromise.attestationIntervalS;
    if (attestS > 0)
      this.kernel.every(Math.round(attestS * NS_PER_S), () => controls.attest(core), {
        priority: PRIORITY.control,
        label: 'attestation',
      });
    for (const e of scenario.events) this.scheduleEvent(e);
  }

  /** Schedules a fail/restore/compromise event at `e.atS` simulated seconds. */
  scheduleEvent(e: ScenarioEvent): void {
    const atNs = Math.round(e.atS * NS_PER_S);
    const run = () => {
      if (e.kind === 'fail') this.failLink(e.target);
      else if (e.kind === 'restore') this.restoreLink(e.target);
      else if (e.kind === 'restore-node') this.restoreNode(e.target);
      else if (e.kind === 'declare') this.declareCompromised(e.target);
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
    this.#core.listeners.add(listener);
    return () => this.#core.listeners.delete(listener);
  }

  // ----- controls (sim-controls.ts) -----

  /** Cuts a link (fiber cut, device failure): no key generated or relayed over it until restored. */
  failLink(id: string): void {
    controls.failLink(this.#core, id);
  }

  /** Quarantines a link (suspected attack): its stored key is discarded and it carries nothing. */
  quarantineLink(id: string, reason = 'operator'): void {
    controls.quarantineLink(this.#core, id, reason);
  }

  /** Brings a failed or quarantined link back (and clears any injected attack). */
  restoreLink(id: string): void {
    controls.restoreLink(this.#core, id);
  }

  /**
   * Compromises a trusted node silently: it reads every key share it relays until the network learns of
   * it — at its next failed attestation heartbeat, or by `declareCompromised` (src/network/compromise.ts).
   */
  compromiseNode(id: string): void {
    controls.compromiseNode(this.#core, id);
  }

  /** An operator declares a node compromised: critical alert, routes avoid it from now on. */
  declareCompromised(id: string): void {
    controls.declareCompromised(this.#core, id);
  }

  /**
   * Declares a compromised node trustworthy again (re-imaged, re-keyed): key relayed through it from now
   * on is no longer exposed. Keys it saw while compromised keep their exposure in the records.
   */
  restoreNode(id: string): void {
    controls.restoreNode(this.#core, id);
  }

  /** Injects an attack on a link (see `injectAttack` in sim-controls.ts for what each attack does). */
  injectAttack(linkId: string, attack: LinkAttack): void {
    controls.injectAttack(this.#core, linkId, attack);
  }

  /** Removes an injected attack; a link quarantined for it is restored (fresh key from now on). */
  clearAttack(linkId: string): void {
    controls.clearAttack(this.#core, linkId);
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

  // ----- observation (sim-observe.ts) -----

  /** The time series recorded so far. */
  samples(): readonly Sample[] {
    return this.#core.samples;
  }

  /** The time series of one link, oldest first. */
  history(linkId: string): LinkSample[] {
    return history(this.#core, linkId);
  }

  /** Every alert raised (the last 100). */
  alerts(): readonly Alert[] {
    return this.#core.alerts;
  }

  /** The current state (a fresh object; safe to serialise — no key material). */
  snapshot(): NetworkSnapshot {
    return snapshot(this.#core);
  }

  /** The summary `qkdnet simulate --format json` prints. */
  summary(elapsedMs: number): SimulationSummary {
    return summaryOf(this.snapshot(), elapsedMs);
  }
}
