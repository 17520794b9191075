/**
 * Alerts the network raises itself (the statistical detectors live in src/detect): link down, link
 * quarantined or restored, key pool exhaustion, PQC fallback and refused demand, and a site's process
 * lost or back (`node-down`, `node-up`, raised by the live supervisor of `qkdnet up --sites`), a trusted node
 * known compromised or restored (`node-compromised`, `node-restored`; compromise.ts). Each is the common
 * `Alert` contract with its evidence (the statistic, its value and the threshold it crossed) and the
 * action the controller took. Ids are sequential per simulation, so the same seed gives the same alerts.
 */
import type { Alert, AlertAction, Severity } from '../common/index.ts';

/** What the network can alert about. */
export type NetworkAlertKind =
  | 'link-down'
  | 'link-quarantined'
  | 'link-restored'
  | 'key-exhaustion'
  | 'pqc-fallback'
  | 'policy-refused'
  | 'qkd-restored'
  | 'attack-suspected'
  | 'relay-share-forged'
  | 'relay-share-missing'
  | 'relay-confirmation-failed'
  | 'node-down'
  | 'node-up'
  | 'node-compromised'
  | 'node-restored';

const DEFAULTS: Readonly<Record<NetworkAlertKind, { severity: Severity; action: AlertAction }>> = {
  'link-down': { severity: 'critical', action: 'notify' },
  'link-quarantined': { severity: 'critical', action: 'quarantine-link' },
  'link-restored': { severity: 'info', action: 'restore-link' },
  'key-exhaustion': { severity: 'warning', action: 'notify' },
  'pqc-fallback': { severity: 'warning', action: 'pqc-only' },
  'policy-refused': { severity: 'critical', action: 'notify' },
  'qkd-restored': { severity: 'info', action: 'notify' },
  'attack-suspected': { severity: 'critical', action: 'quarantine-link' },
  'relay-share-forged': { severity: 'critical', action: 'notify' },
  'relay-share-missing': { severity: 'critical', action: 'notify' },
  'relay-confirmation-failed': { severity: 'critical', action: 'notify' },
  'node-down': { severity: 'critical', action: 'notify' },
  'node-up': { severity: 'info', action: 'restore-link' },
  'node-compromised': { severity: 'critical', action: 'notify' },
  'node-restored': { severity: 'info', action: 'notify' },
};

/** Builds sequentially numbered alerts. */
export class AlertFactory {
  #next = 1;
  readonly #prefix: string;

  /** `prefix` starts every id (default `net`; a live relay node uses its KME id). */
  constructor(prefix = 'net') {
    this.#prefix = prefix;
  }

  /** A new alert of `kind` at `timeNs`. */
  make(
    kind: NetworkAlertKind,
    timeNs: number,
    where: { linkId?: string; nodeId?: string },
    evidence: Alert['evidence'],
    message: string,
  ): Alert {
    const d = DEFAULTS[kind];
    return {
      id: `${this.#prefix}-${String(this.#next++).padStart(6, '0')}`,
      timeNs,
      severity: d.severity,
      ...(where.linkId !== undefined ? { linkId: where.linkId } : {}),
      ...(where.nodeId !== undefined ? { nodeId: where.nodeId } : {}),
      kind,
      evidence,
      action: d.action,
      message,
    };
  }
}
