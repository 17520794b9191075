/**
 * Countermeasure against the time-shift attack: a random detector-bit mapping at Bob, with a gate-timing
 * monitor — a model of the countermeasures the attack's papers propose, not a claim about any product.
 *
 * The time-shift attack (B. Qi, C.-H. F. Fung, H.-K. Lo, X. Ma, "Time-shift attack in practical quantum
 * cryptosystems", Quantum Inf. Comput. 7, 73, 2007; demonstrated on a commercial system by Y. Zhao,
 * C.-H. F. Fung, B. Qi, C. Chen, H.-K. Lo, "Quantum hacking: experimental demonstration of time-shift attack
 * against practical quantum-key-distribution systems", PRA 78, 042333, 2008) shifts each pulse to where one of
 * Bob's two detectors is less efficient than the other; a click then more likely came from the favoured
 * detector, and the detector names the bit. Two countermeasures from those papers, modelled together:
 *  - random detector-bit mapping: Bob adds a random 0/π phase (a four-state phase modulator; Qi et al. 2007)
 *    per gate, so which detector stands for 0 is known only to him. Eve's choice of detector then says
 *    nothing about the bit: her information per bit is 0 (the attack still costs clicks, which the gain
 *    tests see);
 *  - gate-timing monitor: the efficiency mismatch exists only away from the centre of the detection gate,
 *    where the two detectors' efficiency curves differ (Zhao et al. 2008 measured it at the gate edges), so
 *    shifted pulses arrive off-centre. Bob counts detections outside the central part of the gate (time-tagged
 *    detections; real-time monitoring of the detection-time statistics as in T. Ferreira da Silva et al.,
 *    "Real-time monitoring of single-photon detectors against eavesdropping in QKD systems", Opt. Express 20,
 *    18911, 2012). Assumptions: an attack-free detection is off-centre with probability GATE_EDGE_PROBABILITY
 *    (timing jitter tails); a shift large enough for mismatch m puts a pulse off-centre with probability
 *    min(1, m / MISMATCH_AT_EDGE). The detection engine tests the off-centre count against its calibrated rate
 *    (alert `gate-timing`).
 */
import { sampleBinomial, type Rng } from '../common/index.ts';
import type { LinkBlockConfig } from './types.ts';

/** P(an attack-free detection falls outside the gate's central part) — assumption: 1%. */
export const GATE_EDGE_PROBABILITY = 0.01;
/** Efficiency mismatch at the border of the central part (assumption: 20%). */
export const MISMATCH_AT_EDGE = 0.2;

/** True when the link has the countermeasure. */
export function hasDetectorRandomisation(cfg: LinkBlockConfig): boolean {
  return (cfg.params.detectorRandomisation ?? 0) >= 0.5;
}

/** P(a detection is off-centre in the gate) on this block. */
export function gateEdgeProbability(cfg: LinkBlockConfig): number {
  const m = cfg.attack?.kind === 'time-shift' ? cfg.attack.param : 0;
  return GATE_EDGE_PROBABILITY + (1 - GATE_EDGE_PROBABILITY) * Math.min(1, m / MISMATCH_AT_EDGE);
}

/** Detections of the block that the gate-timing monitor sees off-centre. */
export function gateEdgeDetections(cfg: LinkBlockConfig, detections: number, rng: Rng): number {
  return sampleBinomial(detections, gateEdgeProbability(cfg), rng);
}
