/**
 * The error-correction algorithms the CLI offers, taken from the post-processing registry so that a new
 * algorithm appears in every command (`reconcile`, `link simulate --postprocess`, `pp-peer`) at once.
 */
import { errorCorrection } from '../postprocess/index.ts';
import { UsageError } from './util.ts';

const KNOWN = ['cascade-improved', 'cascade-original'] as const;

/** Names accepted by `--algorithm`, in help order. */
export function algorithmNames(): string[] {
  return KNOWN.filter((n) => {
    try {
      return errorCorrection(n).name === n;
    } catch {
      return false;
    }
  });
}

/** Checks an `--algorithm` value (one line, exit 2 on anything unknown). */
export function parseAlgorithm(text: string): string {
  const names = algorithmNames();
  if (!names.includes(text)) throw new UsageError(`--algorithm: "${text}" is not one of ${names.join(', ')}`);
  return text;
}
