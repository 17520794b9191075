/**
 * Key generation of a network simulation: every block, each model link adds `rate × time` bits to its pool
 * (satellite links only inside their passes, nothing while down or under an attack that aborts
 * post-processing); an event-level link adds the final key of one simulated, post-processed block instead
 * (event-level.ts). A block refused under an injected attack quarantines the link.
 */
import { NS_PER_S } from '../common/index.ts';
import type { NetCore } from './sim-core.ts';
import { passOverlapS } from './passes.ts';
import { attackAborts, type LinkRt } from './runtime.ts';
import { runEventBlock } from './event-level.ts';
import { quarantineLink } from './sim-controls.ts';

/**
 * Seconds of key generation link `l` gets in [fromS, toS]: the pass time of a satellite (each pass weighted
 * by its geometry and cloud factor), else the interval (weighted by the drift's rate factor, without the
 * re-alignments) — the seeded variation of variation.ts, when the link has one.
 */
function keySeconds(l: LinkRt, fromS: number, toS: number): number {
  const v = l.variation;
  if (l.passes) {
    if (!v) return passOverlapS(l.passes, fromS, toS);
    const p = l.passes;
    l.outageS += passOverlapS(p, fromS, toS, (k) => (v.cloudy(k) ? 1 : 0));
    return passOverlapS(p, fromS, toS, (k) => v.passFactor(k));
  }
  if (!v?.drift) return toS - fromS;
  const { keyS, outageS } = v.drift.keySeconds(fromS, toS);
  l.outageS += outageS;
  return keyS;
}

/** One generation block of every model link (the interval since the previous block). */
export function generate(core: NetCore): void {
  const now = core.kernel.nowNs;
  const fromS = core.lastGenNs / NS_PER_S;
  const toS = now / NS_PER_S;
  core.lastGenNs = now;
  for (const l of core.links) {
    if (l.event) continue; // filled by eventBlock
    if (l.state !== 'up' || (l.attack !== null && attackAborts(l.attack))) continue;
    const seconds = keySeconds(l, fromS, toS);
    const bits = l.carryBits + l.rateBps * seconds;
    const whole = Math.floor(bits / 8) * 8;
    l.carryBits = bits - whole;
    if (whole > 0) l.pool.add(whole);
    core.rearmLow(l);
  }
}

/**
 * One event-level block of link `l` (its interval of simulated time just ended): simulated by the link
 * engine with any injected attack, post-processed; the final key (whole bytes) goes to the pool. A block
 * refused while an attack is injected raises `attack-suspected` and quarantines the link.
 */
export function eventBlock(core: NetCore, l: LinkRt, ev: NonNullable<LinkRt['event']>): void {
  if (l.state !== 'up') {
    l.lastRateBps = 0;
    return;
  }
  const blockId = ev.blocks++;
  const out = runEventBlock(
    {
      seed: core.seed,
      linkId: l.id,
      blockId,
      pulses: ev.pulses,
      params: ev.params,
      distanceKm: ev.distanceKm,
      attack: l.attack,
      timeNs: core.kernel.nowNs,
      wantKey: ev.store !== undefined,
    },
    ev.keys,
  );
  if (!out.ok) {
    ev.failed++;
    ev.failures[out.reason] = (ev.failures[out.reason] ?? 0) + 1;
    l.lastRateBps = 0;
    if (l.attack !== null) {
      core.alert(
        'attack-suspected',
        { linkId: l.id },
        { statistic: 'postprocess_refused_blocks', value: 1, threshold: 1 },
        `Post-processing refused block ${blockId} on link ${l.id} (${out.reason}) under ${l.attack.kind}`,
      );
      quarantineLink(core, l.id, l.attack.kind);
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
  core.rearmLow(l);
}
