/**
 * Views of the runtime state for the outside world: one link as the snapshot shows it, and the JSON
 * summary of `qkdnet simulate` (field names are the CLI's contract). No key material.
 */
import { NS_PER_S } from '../common/index.ts';
import { inPass, passOverlapS } from './passes.ts';
import { attackAborts, linkQber, type ExposureBits, type LinkRt } from './runtime.ts';
import type { Scenario } from './scenario.ts';
import type { LinkView, NetworkSnapshot, SimulationSummary } from './types.ts';

/** A link as the snapshot shows it at `nowNs`. */
export function linkView(l: LinkRt, scenario: Scenario, nowNs: number): LinkView {
  return {
    id: l.id,
    from: scenario.nodes[l.from]!.id,
    to: scenario.nodes[l.to]!.id,
    lengthKm: scenario.links[l.index]!.lengthKm ?? null,
    rateBps: l.rateBps,
    state: l.state,
    generating:
      l.state === 'up' &&
      (!l.passes || inPass(l.passes, nowNs / NS_PER_S)) &&
      (l.event !== undefined || l.attack === null || !attackAborts(l.attack)),
    attack: l.attack?.kind ?? null,
    keyRateBps: l.lastRateBps,
    qber: linkQber(l, nowNs / NS_PER_S),
    poolBits: l.pool.levelBits,
    capacityBits: l.pool.capacityBits,
    generatedBits: l.pool.generatedBits,
    relayedBits: l.relayedBits,
    poolMinBits: l.pool.minBits,
    initialPoolBits: l.pool.initialBits,
    consumedBits: l.pool.consumedBits,
    discardedBits: l.pool.discardedBits,
    rateModel: scenario.links[l.index]!.rateModel,
    windowS: l.passes ? passOverlapS(l.passes, 0, nowNs / NS_PER_S) : nowNs / NS_PER_S,
    outageS: l.outageS,
    downS: (l.downNs + (l.state === 'up' ? 0 : nowNs - l.downSinceNs)) / NS_PER_S,
    ...(l.event
      ? {
          eventBlocks: l.event.blocks,
          eventBlocksFailed: l.event.failed,
          eventFailures: { ...l.event.failures },
        }
      : {}),
  };
}

const QKD_PROVENANCES = ['qkd', 'qkd-relayed', 'qkd-multipath'] as const;

/** The summary `qkdnet simulate --format json` prints, from a snapshot. */
export function summaryOf(s: NetworkSnapshot, elapsedMs: number): SimulationSummary {
  const t = s.totals;
  const qkdBits = QKD_PROVENANCES.reduce((sum, p) => sum + t.servedByProvenance[p], 0);
  const fraction = (bits: number) => (t.demandBits > 0 ? bits / t.demandBits : 1);
  const byCause = (e: ExposureBits) => ({ relay_node: e.relayNode, endpoint: e.endpoint });
  return {
    duration_s: s.timeS,
    demand_bits: t.demandBits,
    served_bits: t.servedBits,
    served_fraction: fraction(t.servedBits),
    served_fraction_qkd: fraction(qkdBits),
    unserved_bits: t.unservedBits,
    served_by_provenance: t.servedByProvenance,
    plaintext_bits: t.plaintextBits,
    reroutes: t.reroutes,
    route_changes: { ...t.routeChanges, total: t.reroutes },
    alerts: t.alerts,
    keys_exposed: t.keysExposed,
    keys_exposed_bits: t.exposedBits.relayNode + t.exposedBits.endpoint,
    keys_exposed_by_cause: byCause(t.exposedBits),
    hybrid_relay_exposed_bits: t.exposedBits.hybridRelayNode,
    compromised_nodes: s.compromisedNodes.map((c) => ({ ...c, applications: [...c.applications] })),
    apps: s.apps.map((a) => ({
      id: a.id,
      demand_bits: a.demandBits,
      served_bits: a.servedBits,
      served_by_provenance: a.servedByProvenance,
      unserved_bits: a.unservedBits,
      keys_exposed_bits: a.exposedBits.relayNode + a.exposedBits.endpoint,
      keys_exposed_by_cause: byCause(a.exposedBits),
      hybrid_relay_exposed_bits: a.exposedBits.hybridRelayNode,
      route_changes: a.routeChanges,
    })),
    links: s.links.map((l) => ({
      id: l.id,
      rate_model: l.rateModel,
      rate_bps: l.rateBps,
      initial_pool_bits: l.initialPoolBits,
      generated_bits: l.generatedBits,
      consumed_bits: l.consumedBits,
      discarded_bits: l.discardedBits,
      end_pool_bits: l.poolBits,
      relayed_bits: l.relayedBits,
      pool_min_bits: l.poolMinBits,
      utilisation: l.rateBps * l.windowS > 0 ? l.consumedBits / (l.rateBps * l.windowS) : 0,
      down_s: l.downS,
      outage_s: Math.round(l.outageS),
      ...(l.eventBlocks !== undefined
        ? {
            source: 'event-level' as const,
            event_blocks: l.eventBlocks,
            event_blocks_failed: l.eventBlocksFailed ?? 0,
            event_failures: l.eventFailures ?? {},
          }
        : {}),
    })),
    elapsed_ms: elapsedMs,
  };
}
