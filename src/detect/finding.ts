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
): Alert {
  return {
    id: at.id,
    timeNs: at.timeNs,
    severity: severityOf(f),
    ...(at.linkId !== undefined ? { linkId: at.linkId } : {}),
    ...(at.nodeId !== undefined ? { nodeId: at.nodeId } : {}),
    kind: f.kind,
    evidence: { statistic: f.statistic, value: f.value, threshold: f.threshold, window: f.window },
    action: f.action,
    message: f.message,
  };
}

/** Actions that stop key material of the block from reaching a store. */
export const BLOCKING_ACTIONS: ReadonlySet<AlertAction> = new Set([
  'abort-block',
  'quarantine-link',
  'pqc-only',
]);
