// @edge: alert sink — sockets, files and HTTP; the formatting itself lives in syslog-format.ts and cef-format.ts
/**
 * Alert sinks: syslog over UDP (RFC 5426: one message per datagram), TCP (RFC 6587 octet counting) and
 * TLS (RFC 5425), each carrying RFC 5424 or CEF messages; a JSON-lines file (one Alert object per line); a webhook (HTTP
 * POST of the Alert as JSON). `attachSinks` connects sinks to a DetectionEngine: a failing sink is counted
 * and reported through `onError`, never thrown into the telemetry path, and never blocks the others.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIP, isIPv6, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { open, type FileHandle } from 'node:fs/promises';
import type { Alert } from './deps.ts';
import { formatRfc5424, octetCountingFrame, type SyslogOptions } from './syslog-format.ts';
import { formatCef, type CefOptions } from './cef-format.ts';

/** Something that takes alerts. */
export interface AlertSink {
  readonly name: string;
  send(alert: Alert): Promise<void>;
  close(): Promise<void>;
}

/** Message format on a syslog transport or file. */
export type AlertFormat = 'rfc5424' | 'cef' | 'json';

/** Formatting options shared by the sinks. */
export interface FormatOptions extends SyslogOptions, CefOptions {
  readonly format?: AlertFormat;
}

/** One alert as one line of the chosen format; CEF on syslog travels as the MSG of an RFC 5424 message. */
export function formatAlert(alert: Alert, o: FormatOptions, onSyslog: boolean): string {
  const format = o.format ?? (onSyslog ? 'rfc5424' : 'json');
  if (format === 'json') return JSON.stringify(alert);
  if (format === 'cef') {
    const cef = formatCef(alert, o);
    return onSyslog ? formatRfc5424({ ...alert, message: cef }, o).replace('\ufeff', '') : cef;
  }
  return formatRfc5424(alert, o);
}

/** Syslog over UDP to host:port (RFC 5426). */
export class SyslogUdpSink implements AlertSink {
  readonly name: string;
  readonly #socket: UdpSocket;
  readonly #host: string;
  readonly #port: number;
  readonly #opts: FormatOptions;

  constructor(target: { host: string; port: number }, opts: FormatOptions = {}) {
    this.#host = target.host;
    this.#port = target.port;
    this.#opts = opts;
    this.name = `syslog+udp://${target.host}:${target.port}`;
    this.#socket = createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
    this.#socket.unref();
  }

  send(alert: Alert): Promise<void> {
    const msg = Buffer.from(formatAlert(alert, this.#opts, true), 'utf8');
    return new Promise((resolve, reject) =>
      this.#socket.send(msg, this.#port, this.#host, (err) => (err ? reject(err) : resolve())),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/**
 * Syslog over TCP with octet-counting framing (RFC 6587 §3.4.1), or over TLS when `tls` is given (RFC 5425:
 * same framing, port 6514 by convention; the certificate is verified unless the options say otherwise).
 * Reconnects on the next send after a failure.
 */
export class SyslogTcpSink implements AlertSink {
  readonly name: string;
  readonly #host: string;
  readonly #port: number;
  readonly #opts: FormatOptions;
  readonly #tls: ConnectionOptions | undefined;
  #socket: Promise<Socket> | undefined;

  constructor(target: { host: string; port: number; tls?: ConnectionOptions }, opts: FormatOptions = {}) {
    this.#host = target.host;
    this.#port = target.port;
    this.#tls = target.tls;
    this.#opts = opts;
    this.name = `syslog+${target.tls ? 'tls' : 'tcp'}://${target.host}:${target.port}`;
  }

  #connect(): Promise<Socket> {
    this.#socket ??= new Promise<Socket>((resolve, reject) => {
      const s = this.#tls
        ? connectTls({
            ...(isIP(this.#host) ? {} : { servername: this.#host }), // SNI takes names only (RFC 6066 §3)
            ...this.#tls,
            host: this.#host,
            port: this.#port,
          })
        : connect({ host: this.#host, port: this.#port });
      s.once(this.#tls ? 'secureConnect' : 'connect', () => {
        s.on('error', () => (this.#socket = undefined));
        s.on('close', () => (this.#socket = undefined));
        resolve(s);
      });
      s.once('error', (e) => {
        this.#socket = undefined;
        reject(new Error(`Cannot connect to syslog receiver ${this.#host}:${this.#port}: ${e.message}`));
      });
    });
    return this.#socket;
  }

  async send(alert: Alert): Promise<void> {
    const s = await this.#connect();
    const frame = octetCountingFrame(formatAlert(alert, this.#opts, true));
    await new Promise<void>((resolve, reject) => s.write(frame, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    const p = this.#socket;
    this.#socket = undefined;
    if (!p) return;
    const s = await p.catch(() => undefined);
    if (s) await new Promise<void>((resolve) => s.end(() => resolve()));
  }
}

/** Appends one alert per line to a file: JSON lines by default, or CEF / RFC 5424 lines. */
export class FileSink implements AlertSink {
  readonly name: string;
  readonly #path: string;
  readonly #opts: FormatOptions;
  #handle: Promise<FileHandle> | undefined;

  constructor(path: string, opts: FormatOptions = {}) {
    this.#path = path;
    this.#opts = opts;
    this.name = `file://${path}`;
  }

  async send(alert: Alert): Promise<void> {
    this.#handle ??= open(this.#path, 'a', 0o640);
    const h = await this.#handle;
    await h.appendFile(`${formatAlert(alert, this.#opts, false)}\n`, 'utf8');
  }

  async close(): Promise<void> {
    const h = this.#handle;
    this.#handle = undefined;
    if (h) await (await h).close();
  }
}

/** POSTs each alert as JSON to an http(s) URL; a non-2xx answer or a timeout is a failed send. */
export class WebhookSink implements AlertSink {
  readonly name: string;
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(url: string, opts: { headers?: Record<string, string>; timeoutMs?: number } = {}) {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new RangeError(`webhook URL must be http or https, got ${u.protocol}`);
    this.#url = u;
    this.#headers = opts.headers ?? {};
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.name = `webhook ${u.origin}${u.pathname}`; // no credentials or query in the name (it is logged)
  }

  async send(alert: Alert): Promise<void> {
    const res = await fetch(this.#url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.#headers },
      body: JSON.stringify(alert),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`Webhook ${this.name} refused alert ${alert.id}: HTTP ${res.status}`);
  }

  async close(): Promise<void> {}
}

/** Something alerts can be subscribed from (a DetectionEngine). */
export interface AlertSource {
  subscribe(listener: (alert: Alert) => void): () => void;
}

/**
 * Sends every alert of `source` to every sink. Returns `flush()` (waits for pending sends), `detach()`
 * and the failure count; failures go to `onError` (default: ignored after counting).
 */
export function attachSinks(
  source: AlertSource,
  sinks: readonly AlertSink[],
  onError: (sink: AlertSink, alert: Alert, error: unknown) => void = () => {},
): { flush(): Promise<void>; detach(): void; readonly failures: number } {
  const pending = new Set<Promise<void>>();
  let failures = 0;
  const unsubscribe = source.subscribe((alert) => {
    for (const sink of sinks) {
      const p = sink
        .send(alert)
        .catch((e: unknown) => {
          failures++;
          onError(sink, alert, e);
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    }
  });
  return {
    async flush() {
      while (pending.size) await Promise.all([...pending]);
    },
    detach: unsubscribe,
    get failures() {
      return failures;
    },
  };
}
