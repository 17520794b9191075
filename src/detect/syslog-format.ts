/**
 * Alerts as syslog messages: RFC 5424 ("The Syslog Protocol", 2009) with the alert's evidence as
 * STRUCTURED-DATA, and RFC 6587 §3.4.1 octet-counting framing (`MSG-LEN SP SYSLOG-MSG`) for TCP.
 *
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [qkdnet@32473 …] BOM MSG`. PRI = facility·8 + severity
 * (§6.2.1; alert severities map to 2 Critical, 4 Warning, 6 Informational). The SD-ID uses enterprise
 * number 32473, the number RFC 5612 reserves for documentation and examples — an operator with a
 * registered PEN passes its own. PARAM-VALUEs escape `"`, `\` and `]` (§6.3.3); header fields are
 * PRINTUSASCII without spaces, clipped to their maximum lengths (§6.2), or the NILVALUE `-`.
 */
import type { Alert, Severity } from './deps.ts';

/** Options of the RFC 5424 formatter. */
export interface SyslogOptions {
  /** Facility 0..23; default 10 (security/authorization messages, authpriv). */
  readonly facility?: number;
  readonly hostname?: string;
  readonly appName?: string;
  readonly procId?: string;
  /** SD-ID of the evidence element, `name@PEN`. */
  readonly sdId?: string;
  /** Added to alert.timeNs to get Unix-epoch ns (simulated time starts at 0). */
  readonly epochOffsetNs?: number;
}

/** RFC 5424 severity of an alert severity. */
export const SYSLOG_SEVERITY: Readonly<Record<Severity, number>> = { critical: 2, warning: 4, info: 6 };

/** Unix-epoch nanoseconds → RFC 5424 TIMESTAMP with microseconds, UTC (`2026-11-23T12:00:00.123456Z`). */
export function rfc3339Micro(epochNs: number): string {
  const ms = Math.floor(epochNs / 1e6);
  const micros = Math.floor((epochNs - ms * 1e6) / 1e3);
  const iso = new Date(ms).toISOString(); // …T12:00:00.123Z
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

function headerField(s: string | undefined, max: number): string {
  const clean = (s ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

function paramValue(v: string): string {
  return v.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/** Formats one alert as an RFC 5424 message (no trailing newline). */
export function formatRfc5424(alert: Alert, o: SyslogOptions = {}): string {
  const facility = o.facility ?? 10;
  if (!(Number.isInteger(facility) && facility >= 0 && facility <= 23))
    throw new RangeError(`syslog facility must be an integer 0..23, got ${facility}`);
  const pri = facility * 8 + SYSLOG_SEVERITY[alert.severity];
  const ts = rfc3339Micro(alert.timeNs + (o.epochOffsetNs ?? 0));
  const params: [string, string | number | undefined][] = [
    ['id', alert.id],
    ['kind', alert.kind],
    ['severity', alert.severity],
    ['link', alert.linkId],
    ['node', alert.nodeId],
    ['statistic', alert.evidence.statistic],
    ['value', alert.evidence.value],
    ['threshold', alert.evidence.threshold],
    ['window', alert.evidence.window],
    ['side', alert.evidence.side],
    ['attributed', alert.attribution?.attack],
    ['action', alert.action],
  ];
  const sd = params
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}="${paramValue(String(v))}"`)
    .join(' ');
  const header = [
    `<${pri}>1`,
    ts,
    headerField(o.hostname, 255),
    headerField(o.appName ?? 'qkdnet', 48),
    headerField(o.procId, 128),
    headerField(alert.kind, 32),
  ].join(' ');
  return `${header} [${o.sdId ?? 'qkdnet@32473'} ${sd}] \ufeff${alert.message}`;
}

/** RFC 6587 octet-counting frame: the message's length in octets, a space, the message. */
export function octetCountingFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
