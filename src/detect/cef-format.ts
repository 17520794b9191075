/**
 * Alerts in ArcSight Common Event Format (Micro Focus, "Implementing ArcSight CEF", revision 25):
 * `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension`. Header fields escape `\` and `|`;
 * extension values escape `\`, `=` and line breaks (as `\n`, `\r`). Severity is 0..10 (critical → 10,
 * warning → 6, info → 3). Evidence goes to the custom string/float fields with their labels, the action to
 * `act`, the alert time to `rt` (ms since epoch), the alert id to `externalId`.
 */
import type { Alert, Severity } from './deps.ts';

/** CEF severity of an alert severity. */
export const CEF_SEVERITY: Readonly<Record<Severity, number>> = { critical: 10, warning: 6, info: 3 };

/** Options of the CEF formatter. */
export interface CefOptions {
  readonly vendor?: string;
  readonly product?: string;
  readonly version?: string;
  /** Added to alert.timeNs to get Unix-epoch ns. */
  readonly epochOffsetNs?: number;
  readonly hostname?: string;
}

function header(s: string): string {
  return s.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
}

function ext(s: string): string {
  return s
    .replace(/[\\=]/g, (c) => `\\${c}`)
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n');
}

/** Formats one alert as a CEF line (no trailing newline). */
export function formatCef(alert: Alert, o: CefOptions = {}): string {
  const e = alert.evidence;
  const fields: [string, string | number | undefined][] = [
    ['rt', Math.floor((alert.timeNs + (o.epochOffsetNs ?? 0)) / 1e6)],
    ['externalId', alert.id],
    ['dvchost', o.hostname],
    ['cat', alert.kind],
    ['act', alert.action],
    ['cs1Label', 'link'],
    ['cs1', alert.linkId],
    ['cs2Label', 'node'],
    ['cs2', alert.nodeId],
    ['cs3Label', 'statistic'],
    ['cs3', e.statistic],
    ['cs4Label', 'window'],
    ['cs4', e.window],
    ['cfp1Label', 'value'],
    ['cfp1', e.value],
    ['cfp2Label', 'threshold'],
    ['cfp2', e.threshold],
    ['cs5Label', 'side'],
    ['cs5', e.side],
    ['cs6Label', 'attributed'],
    ['cs6', alert.attribution?.attack],
    ['msg', alert.message],
  ];
  const extension = fields
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${ext(String(v))}`)
    .join(' ');
  return [
    'CEF:0',
    header(o.vendor ?? 'qkdnet'),
    header(o.product ?? 'qkdnet-detect'),
    header(o.version ?? '0.1.0'),
    header(alert.kind),
    header(alert.message.split(':')[0] ?? alert.kind),
    String(CEF_SEVERITY[alert.severity]),
    extension,
  ].join('|');
}
