/**
 * Assembles the per-pulse outcome law of one block — honest share plus the attack's share — and the
 * detector effects that act between detections (dead time, afterpulsing), into the tables the sampler
 * draws from. Also fixes the defaults: intensities (signal 0.5, decoy 0.1, vacuum 0 with probabilities
 * 0.7 / 0.2 / 0.1, the three-intensity setting of C. C.-W. Lim et al., PRA 89, 022307, 2014) and Alice's
 * monitor photodiode (noise floor and isolation below, assumptions documented in docs/link-engine.md).
 */
import type { IntensityClass } from '../common/index.ts';
import { PLANCK_J_S, SPEED_OF_LIGHT_M_PER_S } from '../common/index.ts';
import { channelTransmittance, type LinkParams } from '../physics/index.ts';
import { addBlinding, addInterceptResend, addPns, addTimeShift, trojanLeak } from './attacks.ts';
import { CellTable, packCell } from './cells.ts';
import { hasDetectorRandomisation } from './detector-randomisation.ts';
import { addHonestShare, basisProbability, makeContext, type ModelContext } from './channel.ts';
import type { AttackSpec, LinkBlockConfig } from './types.ts';

/** Default decoy-state source: signal μ = 0.5, decoy ν = 0.1, vacuum, chosen 70 / 20 / 10 %. */
export const DEFAULT_INTENSITIES: readonly IntensityClass[] = [
  { name: 'signal', mu: 0.5, probability: 0.7 },
  { name: 'decoy', mu: 0.1, probability: 0.2 },
  { name: 'vacuum', mu: 0, probability: 0.1 },
];

/** Alice's monitor photodiode noise floor with no light, W (assumption: a 1 pW NEP-class InGaAs diode). */
export const MONITOR_FLOOR_W = 1e-12;
/** Round-trip isolation of Alice's optics seen by a Trojan probe, dB (assumption; Lucamarini 2015 §V). */
export const ALICE_ISOLATION_DB = 100;
/** Fraction of light entering Alice that her monitor tap sends to the photodiode (assumption: 1 %). */
export const MONITOR_TAP = 0.01;

/** The tables the sampler draws from, and the attack figures recorded in Eve's knowledge. */
export interface BlockModel {
  readonly ctx: ModelContext;
  /** Packed fields (cells.ts) and per-pulse probabilities of every detection cell. */
  readonly fields: Uint16Array;
  readonly weights: Float64Array;
  /** Probability that a live pulse is detected (sum of weights). */
  readonly detectProbability: number;
  /** Per (k, a, b) at k·4 + a·2 + b: the prior probability and the detection probability mass. */
  readonly priorKab: Float64Array;
  readonly detectedKab: Float64Array;
  /** Afterpulse slots: the pulse's own fields (y filled from the previous click) and priors. */
  readonly afterFields: Uint16Array;
  readonly afterWeights: Float64Array;
  readonly afterpulseProbability: number;
  /** Gates lost after each click: ⌈τ_dead·rate⌉ − 1. */
  readonly deadSlots: number;
  readonly monitorPowerW: number;
  /** Eve's Shannon information per Z-sifted bit she does not know with certainty. */
  readonly infoPerUnknownBit: number;
  readonly details: Record<string, number>;
}

/**
 * Channel transmittance of a block: explicit, else from the distance through src/physics
 * (fiber length, or slant range for a free-space preset); 0 under a fiber cut.
 */
export function blockTransmittance(cfg: LinkBlockConfig): number {
  if (cfg.attack?.kind === 'fiber-cut') return 0;
  if (cfg.transmittance !== undefined) return cfg.transmittance;
  return channelTransmittance(cfg.params, cfg.distanceKm ?? 0);
}

/** Builds the block's outcome law. */
export function buildModel(cfg: LinkBlockConfig): BlockModel {
  const p: LinkParams = cfg.params;
  const attack: AttackSpec | undefined = cfg.attack;
  const intensities = cfg.intensities ?? DEFAULT_INTENSITIES;
  const jamHz = attack?.kind === 'jamming' ? attack.param : 0;
  const ctx = makeContext(intensities, p, blockTransmittance(cfg), jamHz);
  const table = new CellTable();
  // Fraction of pulses the attack handles (time-shift acts on every pulse; its parameter is the mismatch).
  const share = !attack
    ? 0
    : attack.kind === 'time-shift'
      ? 1
      : ['intercept-resend', 'pns', 'blinding'].includes(attack.kind)
        ? attack.param
        : 0;
  const details: Record<string, number> = {};
  let infoPerUnknownBit = 0;
  let afterpulse = p.afterpulseProbability;
  addHonestShare(table, ctx, 1 - share, attack?.kind === 'trojan-horse' ? trojanLeak(attack.param) : 0);
  if (attack?.kind === 'intercept-resend') addInterceptResend(table, ctx, share);
  if (attack?.kind === 'pns') Object.assign(details, addPns(table, ctx, share));
  if (attack?.kind === 'time-shift') {
    infoPerUnknownBit = addTimeShift(table, ctx, share, attack.param);
    // a random detector-bit mapping leaves Eve's favoured detector uncorrelated with the bit
    if (hasDetectorRandomisation(cfg)) infoPerUnknownBit = 0;
  }
  if (attack?.kind === 'blinding') {
    const honest = new CellTable();
    addHonestShare(honest, ctx, 1);
    Object.assign(details, addBlinding(table, ctx, share, honest.total()));
    afterpulse *= 1 - share; // linear-mode detectors do not afterpulse
  }
  if (attack?.kind === 'trojan-horse') details.leakProbability = trojanLeak(attack.param);
  return assemble(ctx, table, cfg, afterpulse, infoPerUnknownBit, details);
}

function assemble(
  ctx: ModelContext,
  table: CellTable,
  cfg: LinkBlockConfig,
  afterpulseProbability: number,
  infoPerUnknownBit: number,
  details: Record<string, number>,
): BlockModel {
  const K = ctx.intensities.length;
  const priorKab = new Float64Array(K * 4);
  const detectedKab = new Float64Array(K * 4);
  const afterFields: number[] = [];
  const afterWeights: number[] = [];
  const leak = cfg.attack?.kind === 'trojan-horse' ? trojanLeak(cfg.attack.param) : 0;
  ctx.intensities.forEach((cls, k) => {
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 2; b++) {
        const w = cls.probability * basisProbability(ctx, a) * basisProbability(ctx, b);
        priorKab[k * 4 + a * 2 + b] = w;
        for (let x = 0; x < 2; x++) {
          afterFields.push(packCell(k, a, x, b, 0, 0, 0), packCell(k, a, x, b, 0, 0, 1));
          afterWeights.push((w / 2) * (1 - leak), (w / 2) * leak);
        }
      }
  });
  table.fields.forEach((f, i) => {
    detectedKab[(f & 0xf) * 4 + ((f >> 4) & 1) * 2 + ((f >> 6) & 1)]! += table.weights[i]!;
  });
  const rate = ctx.repetitionRateHz;
  const photonEnergyJ = (PLANCK_J_S * SPEED_OF_LIGHT_M_PER_S) / (cfg.params.wavelengthNm * 1e-9);
  const injectedPhotons =
    cfg.attack?.kind === 'trojan-horse' ? cfg.attack.param / Math.pow(10, -ALICE_ISOLATION_DB / 10) : 0;
  return {
    ctx,
    fields: Uint16Array.from(table.fields),
    weights: Float64Array.from(table.weights),
    detectProbability: Math.min(1, table.total()),
    priorKab,
    detectedKab,
    afterFields: Uint16Array.from(afterFields),
    afterWeights: Float64Array.from(afterWeights),
    afterpulseProbability,
    deadSlots: Math.max(0, Math.ceil((cfg.params.deadTimeNs * rate) / 1e9 - 1e-9) - 1),
    monitorPowerW: MONITOR_FLOOR_W + MONITOR_TAP * injectedPhotons * photonEnergyJ * rate,
    infoPerUnknownBit,
    details,
  };
}
