/**
 * src/detect: threat detection on link and KME telemetry — calibrated models, per-block and sequential
 * detectors, the isolation-forest second opinion, the DetectionEngine with its actions, alert sinks
 * (syslog RFC 5424 over UDP/TCP, CEF, JSON lines, webhook), Prometheus metrics, and the evaluation harness
 * behind `qkdnet detect evaluate`. See docs/detection.md.
 */
export * from './stats.ts';
export * from './model.ts';
export * from './sequential.ts';
export * from './binomial-test.ts';
export * from './finding.ts';
export * from './attribution.ts';
export * from './quantum-detectors.ts';
export * from './kme-detectors.ts';
export * from './isolation-forest.ts';
export * from './anomaly.ts';
export * from './engine.ts';
export * from './syslog-format.ts';
export * from './cef-format.ts';
export * from './sinks.ts';
export * from './metrics.ts';
export * from './synthetic.ts';
export * from './evaluate.ts';
export * from './link-telemetry.ts';
