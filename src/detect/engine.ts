/**
 * DetectionEngine: the security-operations core the link pipeline, the live network and the dashboard feed
 * with telemetry. Per sample it runs the quantum detectors of the sample's link (when the link has a
 * calibrated model), the KME/network detectors and the anomaly model, turns findings into Alerts
 * (contracts.ts), tells subscribers, and carries out the recommended actions through hooks:
 *
 *  - `abort-block`: the block's key is discarded — `observe()` returns `abortBlock: true` and calls
 *    `hooks.abortBlock`; the pipeline must not store key from that block;
 *  - `quarantine-link`: the link is marked quarantined (`hooks.quarantineLink`: the controller reroutes);
 *    every later block of the link is aborted until `restoreLink()`;
 *  - `pqc-only`: `hooks.pqcOnly` switches the applications on that link or node to a PQC-only policy.
 *
 * Within one sample the engine emits at most one alert per kind (the most significant finding), so a
 * single event does not flood the SIEM. Deterministic: alert ids are per-engine counters.
 */
import type { Alert, TelemetrySample } from './deps.ts';
import { BLOCKING_ACTIONS, toAlert, type Finding } from './finding.ts';
import { attribute, type Attribution } from './attribution.ts';
import type { CalibratedModel } from './model.ts';
import { QuantumDetectors, type QuantumDetectorConfig } from './quantum-detectors.ts';
import { KmeDetectors, type KmeDetectorConfig } from './kme-detectors.ts';
import type { AnomalyDetector } from './anomaly.ts';

/** Where the engine's actions land (all optional; alerts carry the same information). */
export interface ActionHooks {
  /** `alert` is the alert that aborted the block; undefined when the link was already quarantined. */
  abortBlock?(linkId: string, blockId: number | undefined, alert: Alert | undefined): void;
  quarantineLink?(linkId: string, alert: Alert): void;
  pqcOnly?(target: { linkId?: string; nodeId?: string }, alert: Alert): void;
}

/** Engine options. */
export interface DetectionEngineOptions {
  readonly quantum?: Partial<QuantumDetectorConfig>;
  readonly kme?: Partial<KmeDetectorConfig>;
  readonly hooks?: ActionHooks;
  /** Node id to put on alerts from samples about a KME rather than a link. */
  readonly nodeId?: string;
  /**
   * Escalation policy: a `quarantine-link` finding quarantines only when it is the n-th alarmed block of
   * the link within `escalationWindowBlocks`; before that it aborts the block (`abort-block`). Default 1:
   * quarantine on the first alarm. 2 trades one more attacked block (aborted, so no key) for false
   * quarantines ~1/α times rarer.
   */
  readonly quarantineAfter?: number;
  readonly escalationWindowBlocks?: number;
}

/** What the engine decided about one sample. */
export interface Verdict {
  readonly alerts: readonly Alert[];
  /** True when no key from this sample's block may reach a store. */
  readonly abortBlock: boolean;
  readonly quarantined: boolean;
  /** The attack the quantum detectors that fired point to (src/detect/attribution.ts), if any fired. */
  readonly attribution?: Attribution;
}

/** Alert listener; returns nothing, errors in a listener are isolated from the others. */
export type AlertListener = (alert: Alert) => void;

/** Listener of every verdict (metrics, dashboards). */
export type VerdictListener = (sample: TelemetrySample, verdict: Verdict) => void;

interface LinkState {
  quantum?: QuantumDetectors;
  anomaly?: AnomalyDetector;
  kme: KmeDetectors;
  quarantined: boolean;
  /** Block ids (or sample counters) of recent alarmed blocks, for escalation. */
  alarmed: number[];
  samples: number;
}

/** Feed telemetry, subscribe to alerts, act through hooks. */
export class DetectionEngine {
  readonly #opts: DetectionEngineOptions;
  readonly #links = new Map<string, LinkState>();
  readonly #listeners = new Set<AlertListener>();
  readonly #verdictListeners = new Set<VerdictListener>();
  #seq = 0;
  /** Listener failures (kept, never thrown into the telemetry path). */
  readonly listenerErrors: unknown[] = [];

  constructor(opts: DetectionEngineOptions = {}) {
    const n = opts.quarantineAfter ?? 1;
    if (!(Number.isInteger(n) && n >= 1))
      throw new RangeError(`quarantineAfter must be an integer ≥ 1, got ${n}`);
    this.#opts = opts;
  }

  /** Registers a link's calibrated model (and optionally its trained anomaly detector). */
  addLink(linkId: string, model: CalibratedModel, anomaly?: AnomalyDetector): void {
    const st = this.#state(linkId);
    st.quantum = new QuantumDetectors(model, this.#opts.quantum);
    if (anomaly) st.anomaly = anomaly;
  }

  /** The quantum detectors of a link (for their budget and thresholds), if calibrated. */
  detectorsOf(linkId: string): QuantumDetectors | undefined {
    return this.#links.get(linkId)?.quantum;
  }

  /** Subscribes to every alert; returns the unsubscribe function. */
  subscribe(listener: AlertListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Subscribes to the verdict on every sample; returns the unsubscribe function. */
  subscribeVerdicts(listener: VerdictListener): () => void {
    this.#verdictListeners.add(listener);
    return () => this.#verdictListeners.delete(listener);
  }

  isQuarantined(linkId: string): boolean {
    return this.#links.get(linkId)?.quarantined ?? false;
  }

  /** Lifts a quarantine (after the operator's investigation) and restarts the sequential tests. */
  restoreLink(linkId: string, timeNs: number): Alert | undefined {
    const st = this.#links.get(linkId);
    if (!st?.quarantined) return undefined;
    st.quarantined = false;
    st.alarmed = [];
    st.quantum?.reset();
    const alert = this.#alert(
      {
        kind: 'link-restored',
        statistic: 'operator',
        value: 1,
        threshold: 1,
        window: 'now',
        action: 'restore-link',
        message: `Link ${linkId} restored to service by the operator`,
      },
      linkId,
      timeNs,
    );
    this.#emit(alert);
    return alert;
  }

  /** Runs every detector on one telemetry sample and carries out the actions. */
  observe(s: TelemetrySample): Verdict {
    const st = this.#state(s.linkId);
    const findings: Finding[] = [];
    const quantum = st.quantum && s.counts ? st.quantum.observe(s) : [];
    findings.push(...quantum);
    findings.push(...st.kme.observe(s));
    const anomalies = st.anomaly && s.counts ? st.anomaly.observe(s) : [];
    findings.push(...anomalies);
    st.samples++;
    const attribution = attribute(
      [...quantum, ...anomalies],
      quantum.length > 0 ? st.quantum?.shape() : undefined,
    );
    const wire = attribution && {
      attack: attribution.attack,
      evidence: attribution.evidence,
    };
    const alerts = this.#escalate(st, s, strongestPerKind(findings)).map((f) =>
      this.#alert(f, s.linkId, s.timeNs, quantum.includes(f) || anomalies.includes(f) ? wire : undefined),
    );
    let abort = st.quarantined && s.blockId !== undefined;
    const hooks = this.#opts.hooks ?? {};
    for (const a of alerts) {
      this.#emit(a);
      if (BLOCKING_ACTIONS.has(a.action) && a.action !== 'pqc-only') abort = true;
      if (a.action === 'quarantine-link' && !st.quarantined) {
        st.quarantined = true;
        hooks.quarantineLink?.(s.linkId, a);
      }
      if (a.action === 'pqc-only')
        hooks.pqcOnly?.({ linkId: s.linkId, ...(this.#opts.nodeId ? { nodeId: this.#opts.nodeId } : {}) }, a);
    }
    const first = alerts.find((a) => BLOCKING_ACTIONS.has(a.action) && a.action !== 'pqc-only');
    if (abort) hooks.abortBlock?.(s.linkId, s.blockId, first);
    const verdict: Verdict = {
      alerts,
      abortBlock: abort,
      quarantined: st.quarantined,
      ...(attribution ? { attribution } : {}),
    };
    for (const l of this.#verdictListeners) {
      try {
        l(s, verdict);
      } catch (e) {
        this.listenerErrors.push(e);
      }
    }
    return verdict;
  }

  /** Applies the escalation policy: quarantine only on the n-th alarmed block within the window. */
  #escalate(st: LinkState, s: TelemetrySample, findings: Finding[]): Finding[] {
    const need = this.#opts.quarantineAfter ?? 1;
    if (need === 1 || st.quarantined || !findings.some((f) => f.action === 'quarantine-link'))
      return findings;
    const at = s.blockId ?? st.samples;
    const window = this.#opts.escalationWindowBlocks ?? 10;
    st.alarmed = st.alarmed.filter((b) => b > at - window);
    st.alarmed.push(at);
    if (st.alarmed.length >= need) return findings;
    return findings.map((f) =>
      f.action === 'quarantine-link'
        ? {
            ...f,
            action: 'abort-block',
            message: `${f.message} — block aborted (${st.alarmed.length}/${need} alarms before quarantine)`,
          }
        : f,
    );
  }

  #state(linkId: string): LinkState {
    let st = this.#links.get(linkId);
    if (!st) {
      st = { kme: new KmeDetectors(this.#opts.kme), quarantined: false, alarmed: [], samples: 0 };
      this.#links.set(linkId, st);
    }
    return st;
  }

  #alert(f: Finding, linkId: string, timeNs: number, attribution?: Alert['attribution']): Alert {
    this.#seq += 1;
    return toAlert(
      f,
      {
        id: `${linkId}:${this.#seq}`,
        timeNs,
        linkId,
        ...(this.#opts.nodeId !== undefined ? { nodeId: this.#opts.nodeId } : {}),
      },
      attribution,
    );
  }

  #emit(a: Alert): void {
    for (const l of this.#listeners) {
      try {
        l(a);
      } catch (e) {
        this.listenerErrors.push(e);
      }
    }
  }
}

/** Keeps the most significant finding of each kind (smallest p-value; first one on ties). */
function strongestPerKind(findings: readonly Finding[]): Finding[] {
  const best = new Map<string, Finding>();
  for (const f of findings) {
    const prev = best.get(f.kind);
    if (!prev || (f.pValue ?? 1) < (prev.pValue ?? 1)) best.set(f.kind, f);
  }
  return [...best.values()];
}
