// @edge: composes the live network: wall-clock pacing, KME servers, stores and timers.
/**
 * `startLiveNetwork` — the composition behind `qkdnet up`: the scenario's `NetworkSimulation` (src/network:
 * key pools, relay, routing, controller, attacks) paced by the wall clock, one real KME per node
 * (kme-fleet.ts) fed with the key each link produces, and a `LiveHub` that the web server reads. The
 * simulation is the source of truth for pools, routes and alerts; the KMEs hold the same links' key as
 * real ETSI GS QKD 014 endpoints. Supply to the KMEs is capped per link and real second
 * (`kmeSupplyBitsPerS`) so SQLite writes stay bounded at high speed factors. `close()` stops the clock
 * first, then the feeders, then each KME (which checkpoints and closes its store), so the stores are
 * consistent after Ctrl-C.
 */
import {
  ATTACK_KINDS,
  loadScenario,
  NetworkSimulation,
  type LinkAttack,
  type NetworkSnapshot,
} from '../network/index.ts';
import type { Registry } from 'prom-client';
import { QkdnetError } from '../common/index.ts';
import { csprngBlockSource, supplyBoth } from '../kms/index.ts';
import type { AttackKind } from '../qkd/index.ts';
import { LinkTelemetry, LIVE_ATTACK_KINDS, scenarioLinkParams } from './link-telemetry.ts';
import { LiveHub } from './hub.ts';
import { startKmeFleet, type KmeFleet } from './kme-fleet.ts';
import type { LiveNetwork } from './types.ts';

/** Options of `startLiveNetwork`. */
export interface LiveNetworkOptions {
  /** Scenario file (YAML or JSON). */
  readonly scenarioPath: string;
  /** Where the PKI and the KME stores go. */
  readonly dataDir: string;
  /** Simulated seconds per real second (default 1). */
  readonly speed?: number;
  /** Seed of every random stream (default 1). */
  readonly seed?: number | string;
  /** Start the KMEs (default true; false for a network without key managers). */
  readonly kmes?: boolean;
  /** Cap on the bits supplied to the KMEs per link and real second (default 65,536). */
  readonly kmeSupplyBitsPerS?: number;
  /** Run the link engine and the detectors on every fiber link (default true). */
  readonly linkEngine?: boolean;
  /** Pulses per representative block of the link engine (default 2·10⁶). */
  readonly pulsesPerBlock?: number;
  /** KME log level (default `warn`). */
  readonly kmeLogLevel?: 'silent' | 'error' | 'warn' | 'info';
}

/** A running live network. */
export interface RunningNetwork {
  readonly live: LiveNetwork;
  readonly hub: LiveHub;
  readonly simulation: NetworkSimulation;
  readonly fleet: KmeFleet | null;
  /** Link engines + detection engine, when on. */
  readonly telemetry: LinkTelemetry | null;
  /** Extra metric registries to serve on /metrics (the detectors'). */
  readonly registries: readonly Registry[];
}

const CHUNK_BITS = 256;

/** Loads the scenario, starts the KMEs and the paced simulation; resolves when all listen. */
export async function startLiveNetwork(opts: LiveNetworkOptions): Promise<RunningNetwork> {
  const scenario = loadScenario(opts.scenarioPath);
  const speed = opts.speed ?? 1;
  // One sample per real second at the starting pace, and never finer than a block.
  const sampleIntervalS = Math.max(scenario.blockS, speed);
  const sim = new NetworkSimulation(scenario, {
    ...(opts.seed === undefined ? {} : { seed: opts.seed }),
    durationS: Math.max(scenario.durationS, 10 * 365 * 86400),
    sampleIntervalS,
    maxSamples: 10,
  });
  const neighbours = new Map<string, string[]>(scenario.nodes.map((n) => [n.id, []]));
  for (const l of scenario.links) {
    neighbours.get(l.from)!.push(l.to);
    neighbours.get(l.to)!.push(l.from);
  }
  const fleet =
    opts.kmes === false
      ? null
      : await startKmeFleet(
          scenario.nodes.map((n) => ({ id: n.id, neighbours: neighbours.get(n.id)! })),
          opts.dataDir,
          opts.kmeLogLevel ?? 'warn',
        );
  const first = sim.snapshot();
  let hubRef: LiveHub | undefined;
  const telemetry =
    opts.linkEngine === false
      ? null
      : new LinkTelemetry(scenario, scenarioLinkParams(opts.scenarioPath), {
          seed: opts.seed ?? 1,
          ...(opts.pulsesPerBlock === undefined ? {} : { pulsesPerBlock: opts.pulsesPerBlock }),
          onAlert: (a) => hubRef?.addAlert(a),
          quarantine: (id, a) => sim.quarantineLink(id, `detector ${a.kind}`),
        });
  const qberNow = new Map<string, number | null>();
  const attackOf = (id: string, fallback: string | null): string | null =>
    telemetry?.has(id) ? (telemetry.attackOf(id)?.kind ?? null) : fallback;
  const nowNs = () => Math.round(sim.snapshot().timeS * 1e9);
  let runner: ReturnType<NetworkSimulation['startLive']> | undefined;
  const hub: LiveHub = new LiveHub(
    {
      scenario: first.scenario,
      nodes: first.nodes.map((n) => ({ ...n, kmeUrl: fleet?.kmes.get(n.id)?.url ?? null })),
      links: first.links.map((l) => linkFields(l, 0)),
      apps: first.apps.map((a) => ({ ...a, route: a.route })),
      attackKinds: telemetry ? LIVE_ATTACK_KINDS : ATTACK_KINDS,
      engines: {
        network: 'NetworkSimulation (src/network) paced by the wall clock',
        kms: fleet ? `${fleet.kmes.size} ETSI GS QKD 014 KMEs, HTTPS mTLS, SQLite` : 'off',
        link: telemetry
          ? 'link engine (src/qkd simulateBlock) per fiber link; key rate from the scenario model'
          : 'scenario key-rate model (src/network link-rate)',
        detect: telemetry
          ? 'DetectionEngine (src/detect) on link telemetry + network controller'
          : 'network controller (QBER threshold, key exhaustion, link state)',
      },
      speed,
    },
    {
      failLink: (id) => sim.failLink(id),
      restoreLink: (id) => {
        if (telemetry?.has(id)) {
          telemetry.setAttack(id, null);
          telemetry.restore(id, nowNs());
        }
        sim.restoreLink(id);
      },
      compromiseNode: (id) => sim.compromiseNode(id),
      injectAttack: (id, kind) => {
        if (telemetry?.has(id)) return telemetry.setAttack(id, kind as AttackKind);
        if (!(ATTACK_KINDS as readonly string[]).includes(kind))
          throw new QkdnetError(
            'DASHBOARD_BAD_CONTROL',
            `Cannot inject ${kind} on ${id}: the link has no link engine`,
          );
        sim.injectAttack(id, { kind: kind as LinkAttack['kind'] });
      },
      clearAttack: (id) => {
        if (!telemetry?.has(id)) return sim.clearAttack(id);
        telemetry.setAttack(id, null);
        if (sim.snapshot().links.find((l) => l.id === id)?.state === 'quarantined') {
          telemetry.restore(id, nowNs());
          sim.restoreLink(id);
        }
      },
      setSpeed: (s) => runner?.setSpeed(s),
      close: () => close(),
    },
  );
  hubRef = hub;

  const rates = new Map<string, number>();
  let lastGenerated = new Map(first.links.map((l) => [l.id, { t: 0, bits: l.generatedBits }]));
  const refresh = (snap: NetworkSnapshot): void => {
    hub.setTime(snap.timeS);
    for (const l of snap.links)
      hub.updateLink(l.id, {
        ...linkFields(l, rates.get(l.id) ?? 0),
        attack: attackOf(l.id, l.attack),
        qber: telemetry?.has(l.id) ? (l.state === 'up' ? (qberNow.get(l.id) ?? null) : null) : l.qber,
      });
    for (const a of snap.apps)
      hub.updateApp(a.id, {
        servedBits: a.servedBits,
        unservedBits: a.unservedBits,
        servedByProvenance: a.servedByProvenance,
        route: a.route,
      });
    for (const n of snap.nodes) if (n.compromised) hub.markCompromised(n.id);
  };
  const unsubscribe = sim.subscribe((e) => {
    if (e.type === 'alert') hub.addAlert(e.alert);
    else if (e.type === 'keys')
      hub.addDelivery({
        keyId: e.record.keyId,
        appId: e.record.appId,
        timeS: e.record.timeS,
        keys: e.record.keys,
        bits: e.record.bits,
        provenance: e.record.provenance,
        paths: e.record.paths,
      });
    else if (e.type === 'sample') {
      const snap = sim.snapshot();
      refresh(snap);
      const next = new Map<string, { t: number; bits: number }>();
      for (const l of snap.links) {
        const prev = lastGenerated.get(l.id)!;
        const dt = snap.timeS - prev.t;
        const rate = dt > 0 ? (l.generatedBits - prev.bits) / dt : 0;
        next.set(l.id, { t: snap.timeS, bits: l.generatedBits });
        rates.set(l.id, l.state === 'up' ? rate : 0);
        let qber = l.qber;
        if (telemetry?.has(l.id)) {
          qber = l.state === 'up' ? (telemetry.step(l.id, Math.round(snap.timeS * 1e9)).qberZ ?? null) : null;
          qberNow.set(l.id, qber);
        }
        hub.recordSample(l.id, { timeS: snap.timeS, qber, keyRateBps: rate, poolBits: l.poolBits });
      }
      lastGenerated = next;
    } else refresh(sim.snapshot());
  });

  // Feed the KMEs: each real second, the key each link produced since the last feed (capped).
  const capBits = opts.kmeSupplyBitsPerS ?? 65_536;
  const supplied = new Map(first.links.map((l) => [l.id, l.generatedBits]));
  const feed = (): void => {
    if (!fleet) return;
    for (const l of sim.snapshot().links) {
      const delta = l.generatedBits - supplied.get(l.id)!;
      supplied.set(l.id, l.generatedBits);
      const bits = Math.floor(Math.min(delta, capBits) / CHUNK_BITS) * CHUNK_BITS;
      const a = fleet.kmes.get(l.from);
      const b = fleet.kmes.get(l.to);
      if (bits > 0 && a && b) supplyBoth(a, b, csprngBlockSource(l.id, bits)());
    }
  };
  const feeder = setInterval(feed, 1000);

  runner = sim.startLive({ speed, tickMs: 100, onTick: () => refresh(sim.snapshot()) });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      sim.stopLive();
      clearInterval(feeder);
      unsubscribe();
      telemetry?.close();
      await fleet?.close();
    })());
  return {
    live: hub,
    hub,
    simulation: sim,
    fleet,
    telemetry,
    registries: telemetry ? [telemetry.metrics.registry] : [],
  };
}

/** The hub's view of a network link; the key rate is measured from generated bits between samples. */
function linkFields(l: NetworkSnapshot['links'][number], measuredRateBps: number) {
  return {
    id: l.id,
    from: l.from,
    to: l.to,
    lengthKm: l.lengthKm,
    state: l.state,
    attack: l.attack,
    poolBits: l.poolBits,
    capacityBits: l.capacityBits,
    keyRateBps: l.keyRateBps > 0 ? l.keyRateBps : measuredRateBps,
    qber: l.qber,
    generatedBits: l.generatedBits,
    relayedBits: l.relayedBits,
  };
}
