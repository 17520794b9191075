/**
 * The honest link as the engine sees one pulse: a decoy-state weak coherent source (intensity μ_k chosen
 * with probability p_k, basis Z with probability q_Z, a uniform bit), a lossy channel of transmittance
 * η_ch, and Bob's receiver (efficiency η_Bob, misalignment e_d, dark counts Y0, basis Z with q_Z). Photons
 * reaching Bob are Poisson with mean η_ch·η_Bob·μ_k — the model of H.-K. Lo, X. Ma, K. Chen, PRL 94,
 * 230504 (2005) and Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005) whose gains the tests reproduce.
 */
import type { IntensityClass } from '../common/index.ts';
import type { CellTable } from './cells.ts';
import { darkPerDetector, poissonClicks, routeTo0, type Receiver } from './detector.ts';

/** Everything a cell builder needs about the link of one block. */
export interface ModelContext {
  readonly intensities: readonly IntensityClass[];
  /** Probability of the Z basis (Alice and Bob alike). */
  readonly pZ: number;
  /** Channel transmittance η_ch (0 after a fiber cut). */
  readonly etaChannel: number;
  /** Bob's detection efficiency η_Bob. */
  readonly etaBob: number;
  readonly misalignment: number;
  /** Dark/background count probability per gate of each of Bob's detectors (jamming included). */
  readonly dark: number;
  readonly repetitionRateHz: number;
}

/** Probability of basis `basis` (0 = Z, 1 = X). */
export function basisProbability(ctx: ModelContext, basis: number): number {
  return basis === 0 ? ctx.pZ : 1 - ctx.pZ;
}

/** Bob's receiver with equal detector efficiencies. */
export function honestReceiver(ctx: ModelContext): Receiver {
  return { eff0: ctx.etaBob, eff1: ctx.etaBob, dark: ctx.dark };
}

/** Context from link parameters, transmittance and extra background (jamming) in counts per second. */
export function makeContext(
  intensities: readonly IntensityClass[],
  p: {
    basisBiasZ: number;
    detectorEfficiency: number;
    misalignmentError: number;
    darkCountProbability: number;
    repetitionRateHz: number;
  },
  etaChannel: number,
  extraBackgroundHz: number,
): ModelContext {
  const intrinsic = darkPerDetector(p.darkCountProbability);
  const jam = Math.min(1, extraBackgroundHz / (2 * p.repetitionRateHz)); // per detector per gate
  return {
    intensities,
    pZ: p.basisBiasZ,
    etaChannel,
    etaBob: p.detectorEfficiency,
    misalignment: p.misalignmentError,
    dark: 1 - (1 - intrinsic) * (1 - jam),
    repetitionRateHz: p.repetitionRateHz,
  };
}

/**
 * Adds the honest link's cells with total weight `share` (the fraction of pulses no attack touches).
 * `leak` is the probability that Eve nonetheless knows a pulse's bit without disturbing it (Trojan horse).
 * `rx` lets a time-shift attack pass unequal detector efficiencies.
 */
export function addHonestShare(
  table: CellTable,
  ctx: ModelContext,
  share: number,
  leak = 0,
  rx: Receiver = honestReceiver(ctx),
): void {
  if (!(share > 0)) return;
  ctx.intensities.forEach((cls, k) => {
    const photons = cls.mu * ctx.etaChannel;
    for (let a = 0; a < 2; a++) {
      for (let b = 0; b < 2; b++) {
        const wBases = share * cls.probability * basisProbability(ctx, a) * basisProbability(ctx, b);
        for (let x = 0; x < 2; x++) {
          const o = poissonClicks(photons, routeTo0(a, x, b, ctx.misalignment), rx);
          table.addClicks(wBases * 0.5 * (1 - leak), k, a, x, b, o, 0);
          table.addClicks(wBases * 0.5 * leak, k, a, x, b, o, 1);
        }
      }
    }
  });
}
