/**
 * Views of the runtime state for the outside world: one link as the snapshot shows it, and the JSON
 * summary of `qkdnet simulate` (field names are the CLI's contract). No key material.
 */
import { NS_PER_S } from '../common/index.ts';
import { inPass } from './passes.ts';
import { attackAborts, linkQber, type LinkRt } from './runtime.ts';
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
    qber: linkQber(l),
    poolBits: l.pool.levelBits,
    capacityBits: l.pool.capacityBits,
    generatedBits: l.pool.generatedBits,
    relayedBits: l.relayedBits,
    poolMinBits: l.pool.minBits,
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

/** The summary `qkdnet simulate --format json` prints, from a snapshot. */
export function summaryOf(s: NetworkSnapshot, elapsedMs: number): SimulationSummary {
  const t = s.totals;
  return {
    duration_s: s.timeS,
    demand_bits: t.demandBits,
    served_bits: t.servedBits,
    served_fraction: t.demandBits > 0 ? t.servedBits / t.demandBits : 1,
    served_by_provenance: t.servedByProvenance,
    plaintext_bits: t.plaintextBits,
    reroutes: t.reroutes,
    alerts: t.alerts,
    keys_exposed: t.keysExposed,
    compromised_nodes: s.compromisedNodes.map((c) => ({ ...c, applications: [...c.applications] })),
    links: s.links.map((l) => ({
      id: l.id,
      generated_bits: l.generatedBits,
      relayed_bits: l.relayedBits,
      pool_min_bits: l.poolMinBits,
      down_s: l.downS,
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
