/**
 * Prometheus metrics of the detection layer (prom-client), all named `qkdnet_detect_*` so they sit beside
 * the server's `qkdnet_*` metrics without clashing. Kept in their own Registry unless one is passed; the
 * server merges registries for /metrics.
 */
import { Counter, Gauge, Registry } from '../common/index.ts';
import type { DetectionEngine } from './engine.ts';

/** The detection metrics and the registry holding them. */
export interface DetectionMetrics {
  readonly registry: Registry;
  /** Starts counting an engine's verdicts and alerts; returns the detach function. */
  instrument(engine: DetectionEngine): () => void;
}

/** Creates the metrics (in `registry`, or a new one). */
export function createDetectionMetrics(registry: Registry = new Registry()): DetectionMetrics {
  const alerts = new Counter({
    name: 'qkdnet_detect_alerts_total',
    help: 'Alerts raised by the detectors, by kind, severity and recommended action.',
    labelNames: ['link', 'kind', 'severity', 'action'] as const,
    registers: [registry],
  });
  const observed = new Counter({
    name: 'qkdnet_detect_samples_total',
    help: 'Telemetry samples (blocks, KME readings) the detectors examined.',
    labelNames: ['link'] as const,
    registers: [registry],
  });
  const aborted = new Counter({
    name: 'qkdnet_detect_blocks_aborted_total',
    help: 'Blocks whose key was discarded on a detector alarm or because the link was quarantined.',
    labelNames: ['link'] as const,
    registers: [registry],
  });
  const quarantined = new Gauge({
    name: 'qkdnet_detect_link_quarantined',
    help: '1 while the link is quarantined by the detectors, else 0.',
    labelNames: ['link'] as const,
    registers: [registry],
  });
  const qber = new Gauge({
    name: 'qkdnet_detect_qber',
    help: 'QBER of the latest block per basis (fraction), as the detectors saw it.',
    labelNames: ['link', 'basis'] as const,
    registers: [registry],
  });
  const budget = new Gauge({
    name: 'qkdnet_detect_false_alarm_budget_per_block',
    help: 'Operator-set false-alarm probability per attack-free block shared by the quantum detectors.',
    labelNames: ['link'] as const,
    registers: [registry],
  });
  return {
    registry,
    instrument(engine) {
      const offAlerts = engine.subscribe((a) =>
        alerts.inc({
          link: a.linkId ?? a.nodeId ?? '',
          kind: a.kind,
          severity: a.severity,
          action: a.action,
        }),
      );
      const offVerdicts = engine.subscribeVerdicts((s, v) => {
        const link = s.linkId;
        observed.inc({ link });
        if (v.abortBlock) aborted.inc({ link });
        quarantined.set({ link }, v.quarantined ? 1 : 0);
        if (s.qberZ !== undefined) qber.set({ link, basis: 'Z' }, s.qberZ);
        if (s.qberX !== undefined) qber.set({ link, basis: 'X' }, s.qberX);
        const d = engine.detectorsOf(link);
        if (d) budget.set({ link }, d.config.falseAlarmPerBlock);
      });
      return () => {
        offAlerts();
        offVerdicts();
      };
    },
  };
}
