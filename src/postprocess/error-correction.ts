/**
 * The registry of error-correction algorithms: every name `qkdnet reconcile --algorithm`, the pipeline and
 * the two-party runtime accept, and the algorithm behind it. Each passes the conformance suite of
 * reconciliation-conformance.fixture.ts.
 */
import { cascadeImproved, cascadeOriginal } from './cascade.ts';
import { ldpc } from './ldpc-blind-reconciliation.ts';
import type { ErrorCorrection, ReconcileAlgorithmName } from './reconciliation.ts';

/** Every algorithm qkdnet ships, by name (the order help texts list them in). */
export const ERROR_CORRECTION_ALGORITHMS: Readonly<Record<ReconcileAlgorithmName, ErrorCorrection>> = {
  'cascade-improved': cascadeImproved,
  'cascade-original': cascadeOriginal,
  ldpc,
};

/** The names, for help texts and validation. */
export const RECONCILE_ALGORITHM_NAMES = Object.keys(ERROR_CORRECTION_ALGORITHMS) as ReconcileAlgorithmName[];

/** Whether `name` is a shipped algorithm. */
export function isReconcileAlgorithm(name: string): name is ReconcileAlgorithmName {
  return Object.hasOwn(ERROR_CORRECTION_ALGORITHMS, name);
}

/** The algorithm with this name; RangeError for any other. */
export function errorCorrection(name: string): ErrorCorrection {
  if (!isReconcileAlgorithm(name))
    throw new RangeError(
      `Unknown reconciliation algorithm "${name}" (${RECONCILE_ALGORITHM_NAMES.join(', ')})`,
    );
  return ERROR_CORRECTION_ALGORITHMS[name];
}
