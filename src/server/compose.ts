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
  attachLiveRelay,
  loadScenario,
  NetworkSimulation,
  type LinkView,
  type NetworkSnapshot,
} from '../network/index.ts';
import { scenarioSdnState } from './sdn-state.ts';
import { topologyFromKmes } from './topology-etsi015.ts';
import type { Registry } from '../common/index.ts';
import { join } from 'node:path';
import { QkdnetError } from '../common/index.ts';
import { ATTACK_KINDS, type AttackKind } from '../qkd/index.ts';
import type { KeyMode } from '../postprocess/index.ts';
import { LinkTelemetry, scenarioLinkParams } from './link-telemetry.ts';
import { LinkKeySupply, type SupplyLink } from './key-supply.ts';
import { SiteKeySupply } from './site-key-supply.ts';
import { startStandInFeed } from './standin-feed.ts';
import { startKmeSessions } from './kme-sessions.ts';
import { LiveHub } from './hub.ts';
import { startKmeFleet, type KmeFleet } from './kme-fleet.ts';
import { startLiveSites, type LiveSites, type SitesMode } from './live-sites.ts';
import { SiteWatch } from './site-watch.ts';
import type { LiveNetwork } from './types.ts';
import { appFields, engineNotes, linkFields } from './views.ts';

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
  /**
   * KME key bytes: `secret` (default — node:crypto, nobody recomputes them from the seed) or
   * `deterministic` (`--deterministic-keys`: reproducible, provenance `simulated-deterministic`).
   */
  readonly keys?: KeyMode;
  /** Start the KMEs (default true; false for a network without key managers). */
  readonly kmes?: boolean;
  /** Cap on the bits supplied to the KMEs per link and real second (default 65,536). */
  readonly kmeSupplyBitsPerS?: number;
  /** Real milliseconds between samples of the live series (default 1000). */
  readonly sampleIntervalMs?: number;
  /** Run the link engine and the detectors on every fiber link (default true). */
  readonly linkEngine?: boolean;
  /** Pulses per block distilled into KME key by the post-processing worker (default 10⁹). */
  readonly keyBlockPulses?: number;
  /** Pulses per representative block of the link engine (default 2·10⁶). */
  readonly pulsesPerBlock?: number;
  /** KME log level (default `warn`). */
  readonly kmeLogLevel?: 'silent' | 'error' | 'warn' | 'info';
  /** Refuse a data directory open to other users instead of warning. */
  readonly strictPermissions?: boolean;
  /**
   * Run each node's KME as its own OS process (`processes`) or, as root, in its own network namespace
   * behind delaying links (`netns`) — ./live-sites.ts. Default: every KME in this process.
   */
  readonly sites?: SitesMode;
  /**
   * Where the controller's topology comes from: the scenario file's links (`scenario`, default) or the
   * ETSI GS QKD 015 data the running KMEs serve over RESTCONF (`etsi015`, ./topology-etsi015.ts).
   */
  readonly topology?: 'scenario' | 'etsi015';
}

/** A running live network. */
export interface RunningNetwork {
  readonly live: LiveNetwork;
  readonly hub: LiveHub;
  readonly simulation: NetworkSimulation;
  /** The in-process KMEs (null with `sites` or without KMEs). */
  readonly fleet: KmeFleet | null;
  /** The site processes (with `sites`). */
  readonly sites: LiveSites | null;
  /** Link engines + detection engine, when on. */
  readonly telemetry: LinkTelemetry | null;
  /** Extra metric registries to serve on /metrics (the detectors'). */
  readonly registries: readonly Registry[];
}

/** Loads the scenario, starts the KMEs and the paced simulation; resolves when all listen. */
export async function startLiveNetwork(opts: LiveNetworkOptions): Promise<RunningNetwork> {
  const fileScenario = loadScenario(opts.scenarioPath);
  let scenario = fileScenario;
  const speed = opts.speed ?? 1;
  // What each KME serves as ETSI GS QKD 015 data: the node's links from the file, their state from the
  // running network once it runs (./sdn-state.ts).
  let linkViews: ReadonlyMap<string, LinkView> = new Map();
  const sdnOf = (node: string) => () => scenarioSdnState(fileScenario, node, (id) => linkViews.get(id));
  const neighbours = new Map<string, string[]>(scenario.nodes.map((n) => [n.id, []]));
  for (const l of scenario.links) {
    neighbours.get(l.from)!.push(l.to);
    neighbours.get(l.to)!.push(l.from);
  }
  // The two end KMEs of a relayed application peer too: the end key's reservation travels between them.
  for (const a of scenario.apps) {
    if (neighbours.get(a.from)!.includes(a.to)) continue;
    neighbours.get(a.from)!.push(a.to);
    neighbours.get(a.to)!.push(a.from);
  }
  const fleetNodes = scenario.nodes.map((n) => ({
    id: n.id,
    neighbours: neighbours.get(n.id)!,
    sdn: sdnOf(n.id),
  }));
  let watchRef: SiteWatch | undefined;
  let siteSupplyRef: SiteKeySupply | undefined;
  const linkParams = opts.linkEngine === false ? new Map() : scenarioLinkParams(scenario);
  // Links with a link engine: post-processed into KME key (here, or between their two sites).
  const engineLinks: SupplyLink[] = scenario.links
    .filter((l) => linkParams.has(l.id))
    .map((l) => ({
      id: l.id,
      from: l.from,
      to: l.to,
      params: linkParams.get(l.id)!,
      distanceKm: l.lengthKm!,
    }));
  const fleet =
    opts.kmes === false || opts.sites
      ? null
      : await startKmeFleet(
          fleetNodes,
          opts.dataDir,
          opts.kmeLogLevel ?? 'warn',
          { strictPermissions: opts.strictPermissions ?? false },
          opts.keys === 'deterministic',
        );
  const sites =
    opts.kmes === false || !opts.sites
      ? null
      : await startLiveSites({
          mode: opts.sites,
          nodes: fleetNodes,
          links: scenario.links.map((l) => ({ id: l.id, from: l.from, to: l.to, lengthKm: l.lengthKm ?? 0 })),
          dataDir: opts.dataDir,
          testSaes: opts.keys === 'deterministic',
          strictPermissions: opts.strictPermissions ?? false,
          onDown: (node, reason) => {
            watchRef?.down(node, reason);
            siteSupplyRef?.siteDown(node);
          },
          onUp: (node) => watchRef?.up(node),
          onMessage: (node, m) => siteSupplyRef?.receive(node, m),
          // Links with a link engine are post-processed between their two sites (./site-pp.ts).
          ppLinks: engineLinks,
          pp: {
            seed: String(opts.seed ?? 1),
            keys: opts.keys ?? 'secret',
            ...(opts.keyBlockPulses === undefined ? {} : { pulses: opts.keyBlockPulses }),
          },
        });
  const kmes = fleet?.kmes ?? sites?.kmes ?? null;
  const kmeSet = fleet ?? sites;
  try {
    // `--topology etsi015`: the controller reads every node's 015 data over RESTCONF (mutual TLS, sdn role)
    // and builds its graph from them instead of from the file's links.
    if (opts.topology === 'etsi015') {
      if (!fleet) throw new QkdnetError('CONFIG_INVALID', 'topology etsi015 needs the in-process KMEs');
      scenario = (await topologyFromKmes(fileScenario, fleet)).scenario;
    }
    const sim = new NetworkSimulation(scenario, {
      ...(opts.seed === undefined ? {} : { seed: opts.seed }),
      durationS: Math.max(scenario.durationS, 10 * 365 * 86400),
      sampleIntervalS: 3600, // the live series are sampled here, by the wall clock
      maxSamples: 10,
    });
    const first = sim.snapshot();
    let hubRef: LiveHub | undefined;
    const params = linkParams;
    const telemetry =
      opts.linkEngine === false
        ? null
        : new LinkTelemetry(scenario, params, {
            seed: opts.seed ?? 1,
            ...(opts.pulsesPerBlock === undefined ? {} : { pulsesPerBlock: opts.pulsesPerBlock }),
            onAlert: (a) => hubRef?.addAlert(a),
            quarantine: (id, a) => sim.quarantineLink(id, `detector ${a.kind}`),
          });

    const supplyLinks = telemetry ? engineLinks.filter((l) => telemetry.has(l.id)) : [];
    const standInLinks = scenario.links.filter((l) => !supplyLinks.some((x) => x.id === l.id));
    const qberNow = new Map<string, number | null>();
    const attackOf = (id: string, fallback: string | null): string | null =>
      telemetry?.has(id) ? (telemetry.attackOf(id)?.kind ?? null) : fallback;
    const nowNs = () => Math.round(sim.snapshot().timeS * 1e9);
    let runner: ReturnType<NetworkSimulation['startLive']> | undefined;
    const hub: LiveHub = new LiveHub(
      {
        scenario: first.scenario,
        nodes: first.nodes.map((n) => ({ ...n, kmeUrl: kmes?.get(n.id)?.url ?? null })),
        links: first.links.map((l) => ({ ...linkFields(l, 0), kmeBits: 0 })),
        apps: first.apps.map((a) => ({ ...appFields(a), kme: null })),
        attackKinds: ATTACK_KINDS,
        engines: engineNotes({
          kmes: kmes?.size ?? 0,
          ...(sites ? { sites: sites.describe } : {}),
          linkEngine: telemetry !== null,
          postProcessedLinks: supplyLinks.length,
          standInLinks: standInLinks.map((l) => l.id),
          keys: opts.keys ?? 'secret',
        }),
        speed,
      },
      {
        failLink: (id) => sim.failLink(id),
        restoreLink: (id) => {
          watchRef?.checkRestorable(id);
          restoreLink(id);
        },
        compromiseNode: (id) => sim.compromiseNode(id),
        restoreNode: (id) => sim.restoreNode(id),
        injectAttack: (id, kind) => {
          if (!(ATTACK_KINDS as readonly string[]).includes(kind))
            throw new QkdnetError(
              'DASHBOARD_BAD_CONTROL',
              `Cannot inject ${kind} on ${id}: attacks are ${ATTACK_KINDS.join(', ')}`,
            );
          if (telemetry?.has(id)) return telemetry.setAttack(id, kind as AttackKind);
          sim.injectAttack(id, { kind: kind as AttackKind });
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

    function restoreLink(id: string): void {
      if (telemetry?.has(id)) {
        telemetry.setAttack(id, null);
        telemetry.restore(id, nowNs());
      }
      sim.restoreLink(id);
    }
    // With sites: a site process lost is a node failure (alert, its links down so applications reroute
    // and the links' pools freeze); back, its links come up again (./site-watch.ts).
    if (sites)
      watchRef = new SiteWatch({
        links: scenario.links,
        linkState: (id) => sim.snapshot().links.find((l) => l.id === id)?.state,
        failLink: (id) => sim.failLink(id),
        restoreLink,
        alert: (a) => {
          siteInfo();
          hub.addAlert(a);
        },
        nowNs,
        isUp: (node) => sites.isUp(node),
      });

    const rates = new Map<string, number>();
    let lastGenerated = new Map(first.links.map((l) => [l.id, { t: 0, bits: l.generatedBits }]));
    const refresh = (snap: NetworkSnapshot): void => {
      linkViews = new Map(snap.links.map((l) => [l.id, l]));
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
      for (const n of snap.nodes) hub.setCompromised(n.id, n.compromised);
      hub.setProvenance(snap.totals.servedByProvenance);
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
          exposed: e.record.exposed,
        });
      else if (e.type === 'reroute') {
        hub.reroute(e.appId, e.route);
        refresh(sim.snapshot());
      } else if (e.type !== 'sample') refresh(sim.snapshot());
    });

    // One sample per real second (whatever the pace): the network's figures, plus one block of the link
    // engine per fiber link, examined by the detectors.
    const siteInfo = (): void => {
      for (const st of sites?.status() ?? [])
        hub.setSite(st.node, {
          state: st.state,
          pid: st.pid,
          restarts: st.restarts,
          lastExit: st.lastExit,
          poolBytes: Object.fromEntries(Object.entries(st.levels).map(([p, l]) => [p, l.mineBytes])),
        });
    };
    siteInfo();
    const takeSample = (): void => {
      const snap = sim.snapshot();
      siteInfo();
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
    };
    const sampler = setInterval(takeSample, opts.sampleIntervalMs ?? 1000);

    // Feed the KMEs. Fiber links with a link engine: post-processed final key blocks from the worker
    // (key-supply.ts). Other links (measured rates, satellites): a CSPRNG stand-in at the link's produced
    // rate, capped per real second — not QKD key, and said so in `engines`.
    const linkState = (id: string) => sim.snapshot().links.find((l) => l.id === id)?.state;
    const endsUp = (id: string) => {
      const l = scenario.links.find((x) => x.id === id)!;
      return !sites || (sites.isUp(l.from) && sites.isUp(l.to));
    };
    // With sites the supervisor only orders blocks; the two sites of a link post-process them between
    // themselves and each supplies its own KME (./site-key-supply.ts): no key byte passes through here.
    const siteSupply =
      sites && supplyLinks.length > 0
        ? new SiteKeySupply({
            links: supplyLinks,
            send: (node, m) => sites.send(node, m),
            usable: (id) => linkState(id) === 'up' && endsUp(id),
            attackOf: (id) => telemetry?.attackOf(id) ?? null,
            nowNs,
            onBlock: (id, o) => {
              if ('bits' in o) hub.updateLink(id, { kmeBits: siteSupply!.stats(id)!.bits });
            },
          })
        : null;
    siteSupplyRef = siteSupply ?? undefined;
    const keySupply =
      kmes && !sites && supplyLinks.length > 0
        ? new LinkKeySupply({
            links: supplyLinks,
            kmes,
            seed: String(opts.seed ?? 1),
            keys: opts.keys ?? 'secret',
            authPoolDir: join(opts.dataDir, 'auth-pools'),
            ...(opts.keyBlockPulses === undefined ? {} : { pulsesPerBlock: opts.keyBlockPulses }),
            usable: (id) => linkState(id) === 'up' && endsUp(id),
            attackOf: (id) => telemetry?.attackOf(id) ?? null,
            nowNs,
            onBlock: (id, o) => {
              if ('bits' in o) hub.updateLink(id, { kmeBits: keySupply!.stats(id)!.bits });
            },
            // A crashed worker is a defect: the operator sees it as a critical alert, and its stack goes
            // to stderr (the stack holds code locations only; key bytes never enter an Error).
            onCrash: (e) => {
              process.stderr.write(
                `qkdnet: live key supply stopped, its worker crashed: ${e.stack ?? e.message}\n`,
              );
              hub.addAlert({
                id: `key-supply-crash-${Date.now()}`,
                timeNs: nowNs(),
                severity: 'critical',
                kind: 'key-supply-stopped',
                evidence: { statistic: 'worker-crashes', value: 1, threshold: 0, side: 'above' },
                action: 'notify',
                message: `Live key supply stopped: its worker crashed (${e.message}); KME pools no longer fill. Restart qkdnet up.`,
              });
            },
          })
        : null;
    const generated = (id: string) => sim.snapshot().links.find((l) => l.id === id)?.generatedBits ?? 0;
    // Applications draw real keys from their KMEs (ETSI GS QKD 014): directly when their two nodes share a
    // link; otherwise first relayed between the live KMEs (src/network live-relay.ts, mutual TLS) along the
    // route the simulation's key-aware router currently gives the application.
    const adjacent = (x: string, y: string) =>
      scenario.links.some((l) => (l.from === x && l.to === y) || (l.from === y && l.to === x));
    const relays = fleet ? new Map([...fleet.kmes].map(([n, k]) => [n, attachLiveRelay(k)])) : sites?.relays;
    const relayedApps = scenario.apps.filter((a) => !adjacent(a.from, a.to)).map((a) => a.id);
    if (kmeSet && opts.keys === 'deterministic' && relayedApps.length > 0) {
      // Relay hops never use test keys as one-time pads (docs/security.md): the operator is told so once,
      // on stderr and as an alert, and each refused relay names the reason in the session's last error.
      const line = `--deterministic-keys: application(s) ${relayedApps.join(', ')} need a relay, and relay hops never use simulated-deterministic keys as one-time pads: they get keys only where every hop's link holds key that is not a test key`;
      process.stderr.write(`qkdnet: ${line}\n`);
      hub.addAlert({
        id: `relay-test-keys-${Date.now()}`,
        timeNs: nowNs(),
        severity: 'warning',
        kind: 'relay-refuses-test-keys',
        evidence: {
          statistic: 'relayed-applications',
          value: relayedApps.length,
          threshold: 0,
          side: 'above',
        },
        action: 'notify',
        message: line,
      });
    }
    const stopSessions = kmeSet
      ? startKmeSessions({
          ...(opts.keys === 'deterministic' ? { testKeys: true } : {}),
          apps: scenario.apps.map((a) => ({ ...a, relayed: !adjacent(a.from, a.to) })),
          fleet: kmeSet,
          ...(relays ? { relays } : {}),
          routeOf: (id) => sim.snapshot().apps.find((a) => a.id === id)?.route?.paths ?? [],
          onUpdate: (id, st) => hub.updateApp(id, { kme: st }),
        })
      : async () => undefined;
    const stopStandIn = kmes
      ? startStandInFeed({
          links: standInLinks,
          kmes,
          usable: endsUp,
          generatedBits: generated,
          ...(opts.kmeSupplyBitsPerS === undefined ? {} : { capBitsPerS: opts.kmeSupplyBitsPerS }),
          onSupplied: (id, bits) => hub.updateLink(id, { kmeBits: bits }),
        })
      : () => undefined;

    runner = sim.startLive({ speed, tickMs: 100, onTick: () => refresh(sim.snapshot()) });
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        sim.stopLive();
        clearInterval(sampler);
        stopStandIn();
        unsubscribe();
        telemetry?.close();
        await stopSessions();
        await keySupply?.close();
        siteSupply?.close();
        await fleet?.close();
        await sites?.close();
      })());
    return {
      live: hub,
      hub,
      simulation: sim,
      fleet,
      sites,
      telemetry,
      registries: telemetry ? [telemetry.metrics.registry] : [],
    };
  } catch (e) {
    await fleet?.close(); // nothing half-started stays listening
    await sites?.close();
    throw e;
  }
}
