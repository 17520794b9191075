/**
 * The SIEM feed of `qkdnet up --siem URL`: the live network's alerts and the audit trail's records, both as
 * `Alert`s, through the detection folder's sinks (src/detect/sinks.ts). URL forms:
 * `syslog+udp://host:514`, `syslog+tcp://host:601`, `syslog+tls://host:6514` (RFC 5425, certificate
 * verified against the system CAs or `--siem-ca`), `file:///var/log/qkdnet.jsonl`, `https://…` (webhook).
 * Every message carries wall-clock time (an alert's simulated time is in `/api/state`).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Alert } from '../common/index.ts';
import {
  attachSinks,
  FileSink,
  SyslogTcpSink,
  SyslogUdpSink,
  WebhookSink,
  type AlertFormat,
  type AlertSink,
} from '../detect/index.ts';
import { auditAlert, type AuditLog } from './audit.ts';
import type { LiveNetwork } from './types.ts';

/** The sink a `--siem` URL names; RangeError with the reason for a URL it cannot use. */
export function sinkFromUrl(text: string, format?: AlertFormat, caFile?: string): AlertSink {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new RangeError(`--siem: "${text}" is not a URL (syslog+udp://host:514, file:///path, https://…)`);
  }
  const opts = { ...(format ? { format } : {}), hostname: hostname(), appName: 'qkdnet' };
  const target = () => {
    const port = Number(u.port);
    if (!u.hostname || !(port > 0)) throw new RangeError(`--siem: "${text}" needs a host and a port`);
    return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
  };
  switch (u.protocol) {
    case 'syslog+udp:':
      return new SyslogUdpSink(target(), opts);
    case 'syslog+tcp:':
      return new SyslogTcpSink(target(), opts);
    case 'syslog+tls:':
      return new SyslogTcpSink({ ...target(), tls: caFile ? { ca: readFileSync(caFile) } : {} }, opts);
    case 'file:':
      return new FileSink(fileURLToPath(u), { ...opts, format: format ?? 'json' });
    case 'http:':
    case 'https:':
      return new WebhookSink(u.href);
    default:
      throw new RangeError(
        `--siem: "${u.protocol}" is not syslog+udp, syslog+tcp, syslog+tls, file, http or https`,
      );
  }
}

/**
 * Sends the network's alerts and every audit record to `sinks`; failures go to `onError` (one line each)
 * and never reach the network. Returns `close()`, which flushes pending sends and closes the sinks.
 */
export function feedSiem(
  live: LiveNetwork,
  audit: AuditLog,
  sinks: readonly AlertSink[],
  onError: (message: string) => void,
): { close(): Promise<void> } {
  const source = {
    subscribe(listener: (a: Alert) => void): () => void {
      const offLive = live.subscribe((e) => {
        if (e.type === 'alert') listener({ ...e.alert, timeNs: Date.now() * 1e6 });
      });
      const offAudit = audit.subscribe((r) => listener(auditAlert(r)));
      return () => {
        offLive();
        offAudit();
      };
    },
  };
  const feed = attachSinks(source, sinks, (sink, alert, e) =>
    onError(`SIEM sink ${sink.name} failed on ${alert.id}: ${(e as Error).message}`),
  );
  return {
    async close() {
      feed.detach();
      await feed.flush();
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}
