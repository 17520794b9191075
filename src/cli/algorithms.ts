/**
 * The error-correction algorithms the CLI offers, taken from the post-processing registry so that a new
 * algorithm appears in every command (`reconcile`, `link simulate --postprocess`, `pp-peer`) at once.
 */
import { RECONCILE_ALGORITHM_NAMES, type ReconcileAlgorithmName } from '../postprocess/index.ts';
import { UsageError } from './util.ts';

/** Names accepted by `--algorithm`, in help order. */
export function algorithmNames(): readonly string[] {
  return RECONCILE_ALGORITHM_NAMES;
}

/** Checks an `--algorithm` value (one line, exit 2 on anything unknown). */
export function parseAlgorithm(text: string): ReconcileAlgorithmName {
  if (!(RECONCILE_ALGORITHM_NAMES as readonly string[]).includes(text))
    throw new UsageError(`--algorithm: "${text}" is not one of ${RECONCILE_ALGORITHM_NAMES.join(', ')}`);
  return text as ReconcileAlgorithmName;
}
