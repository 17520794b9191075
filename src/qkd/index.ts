/**
 * src/qkd: the event-level decoy-state BB84 link engine — detections sampled directly (cost follows
 * detections, not pulses), attacks on the quantum signals, sifting and parameter estimation.
 * See docs/link-engine.md.
 */
export * from './types.ts';
export {
  simulateBlock,
  sampleDetections,
  MAX_BLOCK_DETECTIONS,
  type DetectionStream,
  type SimulateOptions,
} from './engine.ts';
export { sift, countsByClass, countsFromTally, sentByClassBasis, type Tally } from './sift.ts';
export { telemetryFromCounts, withCountermeasureReadings, type BlockCounts } from './telemetry.ts';
export * from './bright-light-watchdog.ts';
export * from './detector-randomisation.ts';
export { sampleBlockCounts, countLevelExact, type CountBlock } from './count-sampler.ts';
export { insecureKeyBits, countBlockKey, type CountBlockKey, type DistilledFigures } from './insecure-key.ts';
export {
  estimate,
  estimateFromTally,
  siftedOfTally,
  asymptoticDecoy,
  type EstimateOptions,
} from './estimate.ts';
export { parseAttack, formatAttack, ATTACK_DEFAULTS, trojanLeak } from './attacks.ts';
export {
  buildModel,
  blockTransmittance,
  DEFAULT_INTENSITIES,
  MONITOR_FLOOR_W,
  ALICE_ISOLATION_DB,
  MONITOR_TAP,
  type BlockModel,
} from './model.ts';
export { FIELD, packCell } from './cells.ts';
