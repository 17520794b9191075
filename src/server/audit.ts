/**
 * The audit trail of the live network: every control action (inject/stop an attack, cut/restore a link,
 * compromise a node, change the pace) and every login, accepted or refused, with who (principal and how
 * it proved itself), what (action, target, detail), when (wall clock and simulated time), from where (the
 * client address; behind a trusted proxy, the forwarded one) and the outcome with its HTTP status. Kept in
 * memory (newest 1000), served on `GET /api/audit`, pushed as SSE `audit` events, and turned into
 * `Alert`s for the SIEM sinks (src/detect/sinks.ts) by `auditAlert`. Never holds a token or key.
 */
import type { Alert } from '../common/index.ts';
import type { AuditRecord } from './types.ts';

/** Records kept in memory. */
const KEEP = 1000;

/** What a route reports to the log (the rest is filled in by `AuditLog.record`). */
export type AuditEntry = Omit<AuditRecord, 'id' | 'time'>;

/** The in-memory trail and its subscribers. */
export class AuditLog {
  readonly #records: AuditRecord[] = [];
  readonly #listeners = new Set<(r: AuditRecord) => void>();
  #next = 1;
  readonly #prefix: string;

  constructor(opts: { idPrefix?: string } = {}) {
    // A per-run prefix keeps ids unique across restarts in a SIEM that collects them all.
    this.#prefix = opts.idPrefix ?? `audit-${Date.now().toString(36)}`;
  }

  /** Appends a record (wall-clock time now) and tells every subscriber. */
  record(entry: AuditEntry, nowMs = Date.now()): AuditRecord {
    const r: AuditRecord = {
      id: `${this.#prefix}-${this.#next++}`,
      time: new Date(nowMs).toISOString(),
      ...entry,
    };
    this.#records.push(r);
    if (this.#records.length > KEEP) this.#records.shift();
    for (const l of [...this.#listeners]) l(r);
    return r;
  }

  /** Records, oldest first; the newest `limit` when given. */
  list(limit?: number): readonly AuditRecord[] {
    return limit === undefined || limit >= this.#records.length
      ? [...this.#records]
      : this.#records.slice(this.#records.length - limit);
  }

  subscribe(listener: (r: AuditRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** One line a person reads: `alice (operator, certificate) from 192.0.2.7: link-fail hq-dcn — accepted`. */
export function describeAudit(r: AuditRecord): string {
  const who = r.role ? `${r.actor} (${r.role}, ${r.via})` : `${r.actor} (${r.via})`;
  const what = [r.action, r.target, r.detail].filter((x) => x !== null && x !== '').join(' ');
  const why = r.reason ? `: ${r.reason}` : '';
  return `${who} from ${r.from}: ${what} — ${r.outcome} (${r.status})${why}`;
}

/**
 * The record as an `Alert` for the SIEM sinks: kind `audit-<action>`, severity `info` when accepted and
 * `warning` when refused or failed, `timeNs` = wall-clock Unix ns, evidence = the HTTP status.
 */
export function auditAlert(r: AuditRecord): Alert {
  const target = r.target ?? undefined;
  return {
    id: r.id,
    timeNs: Date.parse(r.time) * 1e6,
    severity: r.outcome === 'accepted' ? 'info' : 'warning',
    ...(target !== undefined && r.action.startsWith('link') ? { linkId: target } : {}),
    ...(target !== undefined && r.action.startsWith('attack') ? { linkId: target } : {}),
    ...(target !== undefined && r.action.startsWith('node') ? { nodeId: target } : {}),
    kind: `audit-${r.action}`,
    evidence: { statistic: 'http-status', value: r.status, threshold: 400 },
    action: 'notify',
    message: describeAudit(r),
  };
}
