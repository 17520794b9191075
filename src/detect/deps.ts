/**
 * The one place src/detect reaches into other folders (the layer rule: through their index.ts only), so the
 * detectors' dependencies are visible at a glance: contracts from common, the channel model from physics, the link engine from qkd.
 */
export type {
  Alert,
  AlertAction,
  BasisName,
  ClassBasisCounts,
  IntensityClass,
  Severity,
  TelemetrySample,
} from '../common/index.ts';
export { createRng, Rng } from '../common/index.ts';
export type { LinkParams } from '../physics/index.ts';
export { fiberTransmittance } from '../physics/index.ts';
export { sampleBinomial, sampleMultinomial } from '../common/index.ts';
export {
  buildModel,
  countBlockKey,
  sampleBlockCounts,
  simulateBlock,
  parseAttack,
  ATTACK_KINDS,
  ATTACK_DEFAULTS,
  DEFAULT_INTENSITIES as ENGINE_INTENSITIES,
  FIELD as CELL_FIELD,
  WATCHDOG_FALSE_TRIP,
  GATE_EDGE_PROBABILITY,
} from '../qkd/index.ts';
export type { AttackSpec, AttackKind, LinkBlockConfig } from '../qkd/index.ts';
