/**
 * Observation of a network simulation: the time series (pool level, key rate and QBER per link, cumulative
 * served demand by provenance), one link's history, and the snapshot the dashboard draws and the summary is
 * made from. Fresh objects, safe to serialise: no key material.
 */
import type { NetCore } from './sim-core.ts';
import { linkView } from './views.ts';
import { linkQber, zeroExposure } from './runtime.ts';
import { routeView } from './sim-serve.ts';
import type { LinkSample, NetworkSnapshot, Sample } from './types.ts';

/** Records one point of the time series (and announces it). */
export function sample(core: NetCore): void {
  const poolBits: Record<string, number> = {};
  const keyRateBps: Record<string, number> = {};
  const qber: Record<string, number | null> = {};
  for (const l of core.links) {
    poolBits[l.id] = l.pool.levelBits;
    keyRateBps[l.id] = l.lastRateBps;
    qber[l.id] = linkQber(l, core.nowS);
  }
  let demand = 0;
  let unserved = 0;
  for (const a of core.apps) {
    demand += a.demandBits;
    unserved += a.unservedBits;
  }
  const sample: Sample = {
    timeS: core.nowS,
    poolBits,
    keyRateBps,
    qber,
    servedByProvenance: { ...core.served },
    demandBits: demand,
    unservedBits: unserved,
  };
  core.samples.push(sample);
  if (core.samples.length > core.maxSamples) core.samples.shift();
  if (core.listeners.size > 0) core.emit({ type: 'sample', sample });
}

/** The time series of one link, oldest first. */
export function history(core: NetCore, linkId: string): LinkSample[] {
  core.link(linkId);
  return core.samples.map((s) => ({
    timeS: s.timeS,
    qber: s.qber[linkId] ?? null,
    keyRateBps: s.keyRateBps[linkId] ?? 0,
    poolBits: s.poolBits[linkId] ?? 0,
  }));
}

/** The current state (a fresh object; safe to serialise — no key material). */
export function snapshot(core: NetCore): NetworkSnapshot {
  const now = core.kernel.nowNs;
  const t = core.nowS;
  return {
    scenario: { name: core.scenario.name, title: core.scenario.title },
    timeS: t,
    durationS: core.durationS,
    nodes: core.scenario.nodes.map((n, i) => ({
      id: n.id,
      name: n.name,
      lat: n.lat,
      lon: n.lon,
      kind: n.kind,
      compromised: core.compromise.isCompromised(i),
      compromiseKnown: core.compromise.isKnown(i),
    })),
    links: core.links.map((l) => linkView(l, core.scenario, now)),
    apps: core.apps.map((a) => ({
      id: a.app.id,
      from: a.app.from,
      to: a.app.to,
      rateBps: a.app.rateBps,
      minProvenance: a.app.minProvenance,
      demandBits: a.demandBits,
      servedBits: a.servedBits,
      unservedBits: a.unservedBits,
      servedByProvenance: { ...a.byProvenance },
      route: routeView(core, a.route),
      exposedBits: { ...a.exposedBits },
      routeChanges: a.routeChanges,
    })),
    totals: totals(core),
    alerts: [...core.alerts],
    recentKeys: [...core.recentKeys],
    compromisedNodes: core.compromise.summary(),
  };
}

function totals(core: NetCore): NetworkSnapshot['totals'] {
  let demandBits = 0;
  let servedBits = 0;
  let unservedBits = 0;
  const exposedBits = zeroExposure();
  for (const a of core.apps) {
    demandBits += a.demandBits;
    servedBits += a.servedBits;
    unservedBits += a.unservedBits;
    exposedBits.relayNode += a.exposedBits.relayNode;
    exposedBits.endpoint += a.exposedBits.endpoint;
    exposedBits.hybridRelayNode += a.exposedBits.hybridRelayNode;
  }
  const routeChanges = { ...core.routeChanges };
  const keyed = Object.values(core.served).reduce((s, v) => s + v, 0);
  return {
    demandBits,
    servedBits,
    unservedBits,
    plaintextBits: servedBits - keyed, // bits delivered without a key of some provenance: must be 0
    servedByProvenance: { ...core.served },
    reroutes: Object.values(routeChanges).reduce((s, v) => s + v, 0),
    routeChanges,
    exposedBits,
    keysServed: core.keysServed,
    keysExposed: core.keysExposed,
    alerts: core.alertCount,
  };
}
