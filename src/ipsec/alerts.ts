/**
 * Alerts and logs of the PPK agents. Whenever no QKD key protects an SA — the KME is out of keys or
 * unreachable, the peer agent refused, or authentication failed — the agent emits an `Alert` (the contract
 * of src/common/contracts.ts) to a sink: the detection folder's sinks when wired, otherwise the agent's
 * pino logger. Log records name key_IDs and provenance, never key bytes; the logger is also created with
 * redaction of `key`-like fields as a second line of defence.
 */
import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import type { Alert, AlertAction, Severity } from '../common/index.ts';
import type { AlertSink as DetectSink } from '../detect/index.ts';

/** Receives every alert of an agent. */
export type AlertSink = (alert: Alert) => void;

/** The fields pino redacts in agent logs. */
export const AGENT_LOG_REDACT = ['key', '*.key', 'ppk', '*.ppk', 'data', '*.data', 'secret', '*.secret'];

/** A pino logger for agents (JSON on stderr unless a destination is given). */
export function agentLogger(
  name: string,
  level: pino.LevelWithSilent = 'info',
  destination: pino.DestinationStream = pino.destination(2),
): Logger {
  return pino({ name, level, redact: AGENT_LOG_REDACT, base: { component: name } }, destination);
}

/** An alert sink that writes alerts to a pino logger (`warn` or `error` by severity). */
export function loggerAlertSink(log: Logger): AlertSink {
  return (a) =>
    a.severity === 'critical' ? log.error({ alert: a }, a.message) : log.warn({ alert: a }, a.message);
}

/**
 * Sends every alert to the detection folder's sinks (syslog, file, webhook — src/detect/sinks.ts) and to
 * the logger. A failing sink is logged, never thrown into the agent.
 */
export function detectAlertSink(sinks: readonly DetectSink[], log: Logger): AlertSink {
  const logged = loggerAlertSink(log);
  return (a) => {
    logged(a);
    for (const s of sinks)
      s.send(a).catch((e: unknown) =>
        log.error({ sink: s.name, alertId: a.id }, `alert sink failed: ${(e as Error).message}`),
      );
  };
}

/** What an agent alerts about. */
export type AgentAlertKind =
  | 'ipsec-no-qkd-key'
  | 'ipsec-pqc-fallback'
  | 'ipsec-auth-failed'
  | 'ipsec-peer-refused'
  | 'ipsec-ppk-reused'
  | 'ipsec-unavailable';

/** Builds an alert of the agent at `nodeId`; `value`/`threshold` are the evidence (e.g. keys available 0 < 1). */
export function agentAlert(args: {
  kind: AgentAlertKind;
  nodeId: string;
  severity: Severity;
  action: AlertAction;
  statistic: string;
  value: number;
  threshold: number;
  message: string;
  timeNs?: number;
}): Alert {
  return {
    id: randomUUID(),
    timeNs: args.timeNs ?? Date.now() * 1e6,
    severity: args.severity,
    nodeId: args.nodeId,
    kind: args.kind,
    evidence: { statistic: args.statistic, value: args.value, threshold: args.threshold },
    action: args.action,
    message: args.message,
  };
}
