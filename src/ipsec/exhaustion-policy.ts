/**
 * What a PPK agent does for one SA, given its pool-exhaustion policy and whether the KME gave a QKD key:
 *  - `fail-closed`: a QKD key → PPK from QKD; none → no SA (the UE sees the refusal), critical alert;
 *  - `pqc`: a QKD key → PPK from QKD; none → PPK from ML-KEM-768 between the agents (FIPS 203), provenance
 *    `pqc`, a warning alert (a downgrade);
 *  - `hybrid`: a QKD key → PPK = QKD key ⊕ ML-KEM-derived key (./hybrid-ppk.ts), provenance `hybrid`;
 *    none → ML-KEM alone, provenance `pqc`, a warning alert (a downgrade).
 * Every plan either names a PPK source or refuses: there is no plan for an SA without a PPK (both ends set
 * `ppk_required`, RFC 8784 §3), and every plan that is not the policy's best case carries an alert.
 */
import type { AlertAction, Provenance, Severity } from '../common/index.ts';

/** Pool exhaustion policies, per connection. */
export const NO_KEY_POLICIES = ['fail-closed', 'pqc', 'hybrid'] as const;
/** What to do when the KME has no key. */
export type NoKeyPolicy = (typeof NO_KEY_POLICIES)[number];

/** The alert a plan raises (kind, severity, action). */
export interface PlanAlert {
  readonly kind: 'ipsec-no-qkd-key' | 'ipsec-pqc-fallback';
  readonly severity: Severity;
  readonly action: AlertAction;
}

/** How the next SA's PPK is made, or that there is none. */
export type PpkPlan =
  | { readonly source: 'qkd'; readonly provenance: 'qkd' }
  | { readonly source: 'hybrid'; readonly provenance: 'hybrid' }
  | { readonly source: 'pqc'; readonly provenance: 'pqc'; readonly alert: PlanAlert }
  | { readonly source: 'refuse'; readonly alert: PlanAlert };

/** True for a known policy name. */
export function isNoKeyPolicy(p: string): p is NoKeyPolicy {
  return (NO_KEY_POLICIES as readonly string[]).includes(p);
}

/** The plan for one SA. `pqcAvailable`: the agents can run ML-KEM (the responder allows it). */
export function planPpk(policy: NoKeyPolicy, qkdKey: boolean, pqcAvailable: boolean): PpkPlan {
  const refuse: PpkPlan = {
    source: 'refuse',
    alert: { kind: 'ipsec-no-qkd-key', severity: 'critical', action: 'notify' },
  };
  if (policy === 'hybrid') {
    if (!pqcAvailable) return refuse; // hybrid never silently becomes QKD-only or nothing-only
    return qkdKey
      ? { source: 'hybrid', provenance: 'hybrid' }
      : {
          source: 'pqc',
          provenance: 'pqc',
          alert: { kind: 'ipsec-pqc-fallback', severity: 'warning', action: 'pqc-only' },
        };
  }
  if (qkdKey) return { source: 'qkd', provenance: 'qkd' };
  if (policy === 'pqc' && pqcAvailable)
    return {
      source: 'pqc',
      provenance: 'pqc',
      alert: { kind: 'ipsec-pqc-fallback', severity: 'warning', action: 'pqc-only' },
    };
  return refuse;
}

/** Provenance a plan gives the SA, `undefined` when it refuses. */
export function planProvenance(p: PpkPlan): Provenance | undefined {
  return p.source === 'refuse' ? undefined : p.provenance;
}
