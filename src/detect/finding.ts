/**
 * Findings (what a detector concluded about one observation) and their conversion into the Alert contract
 * of src/common/contracts.ts. Alert ids are deterministic (`<link|node>:<counter>`), so a seeded
 * simulation produces the same alerts every run.
 */
import type { Alert, AlertAction, Severity } from './deps.ts';

/** One detector's conclusion about one observation, before it becomes an Alert. */
export interface Finding {
  /** Alert kind, e.g. `qber-cusum`, `decoy-inconsistent`, `trojan-horse`, `key-exhaustion`. */
  readonly kind: string;
  /** The statistic tested, e.g. `qber[signal,Z]`. */
  readonly statistic: string;
  readonly value: number;
  /** The critical value that was crossed. */
  readonly threshold: number;
  /**
   * Which side of the limit the value lies on: `above` an upper limit or `below` a lower one. Evidence reads
   * "value 6.10e-4 below the lower limit 6.61e-4", never a bare "≤" an operator can misread as "within".
   */
  readonly side?: 'above' | 'below';
  /** The observations the statistic covers, e.g. `block 17` or `blocks 15..17` or `60 s`. */
  readonly window: string;
  /** Significance of the finding under the calibrated model (per-test level when only bounded). */
  readonly pValue?: number;
  /** The recommended action. */
  readonly action: AlertAction;
  readonly severity?: Severity;
  readonly message: string;
}

/** Severity implied by an action unless the finding sets one: anything that stops key flow is critical. */
export function severityOf(f: Finding): Severity {
  if (f.severity) return f.severity;
  return f.action === 'notify' ? 'warning' : f.action === 'restore-link' ? 'info' : 'critical';
}

/** Builds the Alert for a finding. */
export function toAlert(
  f: Finding,
  at: { id: string; timeNs: number; linkId?: string; nodeId?: string },
  attribution?: Alert['attribution'],
): Alert {
  return {
    id: at.id,
    timeNs: at.timeNs,
    severity: severityOf(f),
    ...(at.linkId !== undefined ? { linkId: at.linkId } : {}),
    ...(at.nodeId !== undefined ? { nodeId: at.nodeId } : {}),
    kind: f.kind,
    evidence: {
      statistic: f.statistic,
      value: f.value,
      threshold: f.threshold,
      window: f.window,
      ...(f.side !== undefined ? { side: f.side } : {}),
      ...(f.pValue !== undefined ? { pValue: f.pValue } : {}),
    },
    action: f.action,
    message: f.message,
    ...(attribution !== undefined ? { attribution } : {}),
  };
}

/** Actions that stop key material of the block from reaching a store. */
export const BLOCKING_ACTIONS: ReadonlySet<AlertAction> = new Set([
  'abort-block',
  'quarantine-link',
  'pqc-only',
]);
