/**
 * Serving applications in a network simulation: every request interval an application asks for whole keys;
 * the controller keeps its route while every hop still has the key (else finds a new one, key-aware), relays
 * real key bytes hop by hop or over node-disjoint paths (relay.ts) and checks both ends agree, derives hybrid
 * keys with the ML-KEM-768 secret, falls back to ML-KEM alone where policy allows, and records each served
 * batch with its provenance and exposure. Accounting mode takes the same bits from the pools without bytes.
 */
import { NS_PER_S, samplePoisson, type Provenance } from '../common/index.ts';
import { establishPqcSecret, hybridKey, pqcKey } from '../kms/index.ts';
import type { NetCore } from './sim-core.ts';
import { relayInProcess } from './relay.ts';
import { admits, findRoute, routeStillUsable, routeTrusted, type Route } from './router.ts';
import type { KeyRecord, RouteView } from './types.ts';
import { bytesFrom, equalBytes, sameRoute, type AppRt } from './runtime.ts';

/** An app back on QKD is announced only after this long without a fallback (no alert flapping). */
const ALERT_HOLD_NS = 300 * NS_PER_S;
const MAX_RECENT_KEYS = 50;

/** One request of app `a` (its interval just ended): served by QKD, by ML-KEM where allowed, or refused. */
export function request(core: NetCore, a: AppRt, intervalS: number): void {
  let keys: number;
  if (a.app.demand === 'poisson') {
    keys = samplePoisson((a.app.rateBps * intervalS) / a.app.keyBits, a.demandRng);
  } else {
    a.carryBits += a.app.rateBps * intervalS;
    keys = Math.floor(a.carryBits / a.app.keyBits);
    a.carryBits -= keys * a.app.keyBits;
  }
  if (keys <= 0) return;
  const bits = keys * a.app.keyBits;
  a.demandBits += bits;
  const route = routeFor(core, a, bits);
  if (route) {
    serveQkd(core, a, route, keys);
    return;
  }
  if (admits(a.app.minProvenance, 'pqc')) {
    servePqc(core, a, keys);
    return;
  }
  a.unservedBits += bits;
  if (!a.refusedAlerted) {
    a.refusedAlerted = true;
    core.alert(
      'policy-refused',
      { nodeId: a.app.from },
      { statistic: 'qkd_paths_with_key', value: 0, threshold: 1 },
      `Cannot serve app ${a.app.id} (${a.app.from}→${a.app.to}): no ${a.app.minProvenance}-or-better key available and policy refuses pqc`,
    );
  }
}

function routeFor(core: NetCore, a: AppRt, bits: number): Route | undefined {
  const known = core.compromise.knownNodes();
  const trusted = !a.route || routeTrusted(a.route, known);
  if (a.route && !a.reoptimise && trusted && routeStillUsable(a.route, core.levels, bits)) return a.route;
  const reason = a.reoptimise
    ? a.reoptimise
    : !a.route
      ? 'key-replenished'
      : !trusted
        ? 'node-distrusted'
        : 'key-exhausted';
  const route = findRoute(core.graph, core.levels, a.src, a.dst, bits, a.app, known);
  core.setRoute(a, route, reason, () => routeView(core, route));
  return route;
}

/** The route as node ids (what the snapshot and the reroute event show). */
export function routeView(core: NetCore, route: Route | undefined): RouteView | null {
  if (!route) return null;
  return {
    provenance: route.provenance,
    paths: route.paths.map((p) => p.nodes.map((n) => core.scenario.nodes[n]!.id)),
  };
}

/** Relays real (simulated) key bytes hop by hop and derives hybrid keys at both ends; checks they agree. */
function relayKeys(core: NetCore, a: AppRt, route: Route, keys: number): void {
  const keyBytes = a.app.keyBits / 8;
  const bytes = keys * keyBytes;
  const keyId = `${a.app.id}-${a.keySeq}`;
  const random = bytesFrom(a.rng);
  let sourceKey: Uint8Array;
  let destKey: Uint8Array;
  if (route.paths.length === 1 && route.paths[0]!.links.length === 1) {
    const linkId = core.links[route.paths[0]!.links[0]!]!.id;
    const k = core.hopKeys.take(linkId, bytes)!;
    sourceKey = k.key;
    destKey = core.hopKeys.fetch(linkId, k.ref, bytes)!;
  } else {
    sourceKey = random(bytes);
    const routes = route.paths.map((p) => ({
      nodes: p.nodes.map((n) => core.scenario.nodes[n]!.id),
      links: p.links.map((li) => core.links[li]!.id),
    }));
    const r = relayInProcess(keyId, sourceKey, routes, core.hopKeys, random);
    if (!r.ok) throw new Error(`relay of ${keyId} failed after the route was checked: ${r.reason}`);
    destKey = r.key;
  }
  if (!equalBytes(sourceKey, destKey)) throw new Error(`relay of ${keyId} delivered a different key (bug)`);
  if (a.app.hybrid) {
    // One HKDF call per chunk of consecutive keys (info binds the first key_ID and the count).
    const s = pqcSecret(core, a);
    deriveChunks(core, a, keys, (id, from, to) => {
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
function accountKeys(core: NetCore, route: Route, bits: number): void {
  for (const p of route.paths) {
    for (const li of p.links) {
      const l = core.links[li]!;
      l.pool.take(bits);
      l.relayedBits += bits;
      core.checkLow(l);
    }
  }
}

function serveQkd(core: NetCore, a: AppRt, route: Route, keys: number): void {
  if (core.materialize) relayKeys(core, a, route, keys);
  else accountKeys(core, route, keys * a.app.keyBits);
  const provenance: Provenance = a.app.hybrid ? 'hybrid' : route.provenance;
  if (a.fallbackAlerted && core.kernel.nowNs - a.lastFallbackNs >= ALERT_HOLD_NS) {
    a.fallbackAlerted = false;
    core.alert(
      'qkd-restored',
      { nodeId: a.app.from },
      { statistic: 'qkd_paths_with_key', value: route.paths.length, threshold: 1 },
      `App ${a.app.id} is served by QKD again (${provenance})`,
    );
  }
  a.refusedAlerted = false;
  const paths = route.paths.map((p) => p.nodes.map((n) => core.scenario.nodes[n]!.id));
  const exposedTo = route.paths.length === 1 ? paths[0]!.slice(1, -1) : [];
  const c = core.compromise;
  const ends = [a.src, a.dst].filter((n) => c.isCompromised(n));
  const relaySaw = route.paths.every((p) => p.nodes.slice(1, -1).some((n) => c.isCompromised(n)));
  // A hybrid key a relay saw stays protected by its ML-KEM part: not charged to the relay.
  const readers =
    relaySaw && provenance !== 'hybrid'
      ? route.paths.flatMap((p) => p.nodes.slice(1, -1).filter((n) => c.isCompromised(n)))
      : [];
  const exposedBy = new Set([...ends, ...readers]);
  c.expose(exposedBy, keys * a.app.keyBits, a.app.id);
  record(core, a, keys, provenance, paths, exposedTo, relaySaw);
}

/** Calls `derive` per chunk of ≤ 8160 bytes (HKDF-SHA-256's output limit, RFC 5869 §2.3). */
function deriveChunks(
  core: NetCore,
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

function pqcSecret(core: NetCore, a: AppRt): { secretA: Uint8Array; secretB: Uint8Array } {
  const now = core.kernel.nowNs;
  if (!a.pqc || now - a.pqc.atNs >= core.scenario.pqcRekeyS * NS_PER_S) {
    const { initiatorSecret, responderSecret } = establishPqcSecret(
      bytesFrom(core.kernel.rng(`pqc:${a.app.id}`)),
    );
    a.pqc?.secretA.fill(0);
    a.pqc?.secretB.fill(0);
    a.pqc = { secretA: initiatorSecret, secretB: responderSecret, atNs: now };
  }
  return a.pqc;
}

function servePqc(core: NetCore, a: AppRt, keys: number): void {
  const s = core.materialize ? pqcSecret(core, a) : undefined;
  if (s)
    deriveChunks(core, a, keys, (id, from, to) => {
      const kA = pqcKey(s.secretA, id, to - from);
      const kB = pqcKey(s.secretB, id, to - from);
      if (!equalBytes(kA, kB)) throw new Error(`pqc keys ${id} differ between ends (bug)`);
      kA.fill(0);
      kB.fill(0);
    });
  a.lastFallbackNs = core.kernel.nowNs;
  if (!a.fallbackAlerted) {
    a.fallbackAlerted = true;
    core.alert(
      'pqc-fallback',
      { nodeId: a.app.from },
      { statistic: 'qkd_paths_with_key', value: 0, threshold: 1 },
      `App ${a.app.id} (${a.app.from}→${a.app.to}) falls back to ML-KEM-768: no QKD path has key`,
    );
  }
  const ends = [a.src, a.dst].filter((n) => core.compromise.isCompromised(n));
  core.compromise.expose(ends, keys * a.app.keyBits, a.app.id);
  record(core, a, keys, 'pqc', [], [], false);
}

/**
 * Records a served batch: demand met by `provenance`, and who could read it — a compromised node at either end
 * (`endpoint`, any provenance), or compromised relays on every path (`relaySaw`: `relayNode` for QKD keys,
 * `hybridRelayNode` for hybrid keys, whose ML-KEM part still protects them).
 */
function record(
  core: NetCore,
  a: AppRt,
  keys: number,
  provenance: Provenance,
  paths: string[][],
  exposedTo: string[],
  relaySaw: boolean,
): void {
  const bits = keys * a.app.keyBits;
  a.servedBits += bits;
  a.byProvenance[provenance] += bits;
  core.served[provenance] += bits;
  core.keysServed += keys;
  const endpoint = core.compromise.isCompromised(a.src) || core.compromise.isCompromised(a.dst);
  const exposed = endpoint || relaySaw;
  if (exposed) core.keysExposed += keys;
  if (endpoint) a.exposedBits.endpoint += bits;
  else if (relaySaw && provenance === 'hybrid') a.exposedBits.hybridRelayNode += bits;
  else if (relaySaw) a.exposedBits.relayNode += bits;
  const record: KeyRecord = {
    keyId: `${a.app.id}-${a.keySeq}`,
    appId: a.app.id,
    timeS: core.nowS,
    keys,
    bits,
    provenance,
    paths,
    exposedTo,
    exposed,
  };
  a.keySeq += keys;
  core.recentKeys.push(record);
  if (core.recentKeys.length > MAX_RECENT_KEYS) core.recentKeys.shift();
  if (core.listeners.size > 0) core.emit({ type: 'keys', record });
}
