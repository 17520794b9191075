/**
 * Maps the network simulation's snapshot (src/network `NetworkSnapshot`) onto the dashboard's own types
 * (types.ts), field by field, so the JSON API stays stable when the network's views grow, and describes
 * which engine drives each part of the live network (shown in the page footer and in `/api/state`).
 */
import type { NetworkSnapshot } from '../network/index.ts';
import type { AppState, LinkState } from './types.ts';

/** A link of the snapshot, without the fields the hub derives or other parts own (health, KME bits). */
export function linkFields(
  l: NetworkSnapshot['links'][number],
  measuredRateBps: number,
): Omit<LinkState, 'health' | 'kmeBits'> {
  return {
    id: l.id,
    from: l.from,
    to: l.to,
    lengthKm: l.lengthKm,
    state: l.state,
    attack: l.attack,
    poolBits: l.poolBits,
    capacityBits: l.capacityBits,
    // The network reports the rate of its latest block when it knows it; else the measured one.
    keyRateBps: l.keyRateBps > 0 ? l.keyRateBps : measuredRateBps,
    rateModel: l.rateModel,
    qber: l.qber,
    generatedBits: l.generatedBits,
    relayedBits: l.relayedBits,
  };
}

/** An application of the snapshot. */
export function appFields(a: NetworkSnapshot['apps'][number]): Omit<AppState, 'kme'> {
  return {
    id: a.id,
    from: a.from,
    to: a.to,
    minProvenance: a.minProvenance,
    servedBits: a.servedBits,
    unservedBits: a.unservedBits,
    servedByProvenance: { ...a.servedByProvenance },
    route: a.route,
  };
}

/** What drives each part, for the footer: honest about stand-ins. */
export function engineNotes(o: {
  kmes: number;
  linkEngine: boolean;
  postProcessedLinks: number;
  standInLinks: readonly string[];
  keys?: 'secret' | 'deterministic';
}): Record<string, string> {
  return {
    network: 'NetworkSimulation (src/network) paced by the wall clock',
    kms: o.kmes > 0 ? `${o.kmes} ETSI GS QKD 014 KMEs, HTTPS mTLS, SQLite` : 'off',
    ...(o.kmes > 0 && o.postProcessedLinks > 0
      ? {
          keys:
            o.keys === 'deterministic'
              ? 'simulated blocks distilled in a worker; key bits from the seed (simulated-deterministic, test SAEs only)'
              : 'simulated blocks distilled in a worker (src/postprocess distillBlock); key bits from node:crypto',
        }
      : {}),
    ...(o.kmes > 0 && o.standInLinks.length > 0
      ? { 'stand-in keys': `CSPRNG, not QKD, for ${o.standInLinks.join(', ')}` }
      : {}),
    link: o.linkEngine
      ? 'link engine (src/qkd simulateBlock) per fiber link; key rate from the scenario model'
      : 'scenario key-rate model (src/network link-rate)',
    detect: o.linkEngine
      ? 'DetectionEngine (src/detect) on link telemetry + network controller'
      : 'network controller (QBER threshold, key exhaustion, link state)',
  };
}
