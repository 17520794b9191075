// @edge: serves the SA ledger's metrics over HTTP for a Prometheus scraper (`--metrics HOST:PORT`)
/**
 * The provenance of the PPKs behind IPsec SAs as Prometheus metrics (prom-client; text exposition format
 * 0.0.4), read from SA ledgers (./sa-ledger.ts) at every scrape:
 * - `qkdnet_ipsec_sa_up{provenance}` (gauge): SAs up by the provenance of their RFC 8784 PPK;
 * - `qkdnet_ipsec_ppk_total{provenance}` (counter): PPKs installed for new SAs since start;
 * - `qkdnet_ipsec_alerts_total{kind}` (counter): the agents' alerts by kind — `ipsec-pqc-fallback` counts
 *   downgrades (an SA keyed without QKD under policy pqc or hybrid), `ipsec-no-qkd-key` refusals under
 *   fail-closed, `ipsec-ppk-reused` refused key_IDs.
 * `serveMetrics` answers `GET /metrics` on a plain HTTP listener (loopback by default). What it exposes are
 * counts by provenance and alert kind: no key, no key_ID, no identity.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from '../common/index.ts';
import type { LedgerFile, SaLedger } from './sa-ledger.ts';

/** A registry whose metrics are computed from `read()`'s ledgers (summed) at every scrape. */
export function ledgerRegistry(read: () => readonly LedgerFile[]): Registry {
  const registry = new Registry();
  const count = (f: (l: LedgerFile, add: (label: string, n?: number) => void) => void) => {
    const m = new Map<string, number>();
    for (const l of read()) f(l, (k, n = 1) => m.set(k, (m.get(k) ?? 0) + n));
    return m;
  };
  new Gauge({
    name: 'qkdnet_ipsec_sa_up',
    help: 'IKE SAs up, by the provenance of their RFC 8784 PPK.',
    labelNames: ['provenance'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const up = count((l, add) => l.sas.forEach((s) => !s.retiredAt && add(s.provenance)));
      for (const [provenance, n] of up) this.set({ provenance }, n);
    },
  });
  new Counter({
    name: 'qkdnet_ipsec_ppk_total',
    help: 'PPKs installed for new SAs since start, by provenance.',
    labelNames: ['provenance'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [provenance, n] of count((l, add) => l.sas.forEach((s) => add(s.provenance))))
        this.inc({ provenance }, n);
    },
  });
  new Counter({
    name: 'qkdnet_ipsec_alerts_total',
    help: 'Alerts of the PPK agents since start, by kind (downgrades: ipsec-pqc-fallback).',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const by = count((l, add) => Object.entries(l.alerts).forEach(([k, n]) => add(k, n)));
      for (const [kind, n] of by) this.inc({ kind }, n);
    },
  });
  return registry;
}

/** The ledger's metrics as Prometheus text (what `qkdnet ipsec status --format prometheus` prints). */
export function ledgerMetrics(l: LedgerFile): Promise<string> {
  return ledgerRegistry(() => [l]).metrics();
}

/** A running metrics endpoint. */
export interface MetricsServer {
  readonly port: number;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `registry` on `GET /metrics` (404 elsewhere, 405 for other methods). */
export async function serveMetrics(
  registry: Registry,
  listen: { readonly host: string; readonly port: number },
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return void res.writeHead(404).end('not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => (server.off('error', reject), resolve()));
  });
  const port = (server.address() as AddressInfo).port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    port,
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Serves one ledger's metrics when `listen` is given (the `--metrics HOST:PORT` of agent, up and bench). */
export async function serveLedgerMetrics(
  ledger: SaLedger,
  listen: { readonly host: string; readonly port: number } | undefined,
): Promise<MetricsServer | undefined> {
  return listen
    ? serveMetrics(
        ledgerRegistry(() => [ledger.value]),
        listen,
      )
    : undefined;
}
