// @edge: starts one HTTPS KME per node, writes the PKI and SQLite stores under the data directory.
/**
 * The key managers of a live network: one ETSI GS QKD 014 KME per node (src/kms `startKme`: HTTPS with
 * mutual TLS on 127.0.0.1, SQLite store `<dataDir>/kme-<node>.db`), each serving one SAE `sae-<node>`,
 * peered with the KMEs at the other end of its QKD links. The PKI (CA, one certificate per KME and SAE)
 * lives in `<dataDir>/pki` and is reused across runs. Ports are reserved first (bind to port 0, read,
 * release) because each KME's configuration names its peers' URLs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import {
  certificatesOf,
  createPki,
  crlPath,
  loadCrl,
  issueCertificate,
  withDataDirLock,
  LOG_REDACT,
  makePrivateDir,
  spkiSha256,
  startKme,
  writeCrl,
  type KmeHandle,
  type ProcessLock,
  type SdnNodeState,
} from '../kms/index.ts';

/** A node's place in the fleet. */
export interface FleetNode {
  readonly id: string;
  /** Ids of the nodes whose KMEs peer with this one: QKD-link neighbours and relayed-application ends. */
  readonly neighbours: readonly string[];
  /** The node's ETSI GS QKD 015 state, served by its KME over RESTCONF (default: from the KME config). */
  readonly sdn?: () => SdnNodeState;
}

/** The running KMEs. */
export interface KmeFleet {
  /** KME per node id. */
  readonly kmes: ReadonlyMap<string, KmeHandle>;
  /** The PKI directory (ca.pem, kme-<node>.pem/.key, sae-<node>.pem/.key). */
  readonly pkiDir: string;
  /** Closes every KME (each checkpoints and closes its store). */
  close(): Promise<void>;
}

/** KME and SAE names of a node. */
export const kmeName = (nodeId: string): string => `kme-${nodeId}`;
export const saeName = (nodeId: string): string => `sae-${nodeId}`;

/** Name of the certificate an SDN controller presents to read the KMEs' ETSI GS QKD 015 data. */
export const SDN_CONTROLLER = 'sdn-controller';

/** Reserves `n` free TCP ports on 127.0.0.1. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Creates the CA and any missing certificate (a KME and an SAE certificate per node, one for metrics). */
export async function ensurePki(dir: string, nodes: readonly FleetNode[]): Promise<void> {
  makePrivateDir(dir);
  if (!existsSync(join(dir, 'ca.pem'))) await createPki(dir, { commonName: 'qkdnet live CA' });
  const wanted = [
    ...nodes.flatMap((n) => [[kmeName(n.id), 'kme'] as const, [saeName(n.id), 'sae'] as const]),
    ['metrics', 'metrics'] as const, // the certificate a Prometheus scraper presents to any KME's /metrics
    [SDN_CONTROLLER, 'sdn'] as const, // the controller's, for the KMEs' ETSI GS QKD 015 RESTCONF data
  ];
  await Promise.all(
    wanted
      .filter(([name]) => !existsSync(join(dir, `${name}.pem`)))
      .map(([name, kind]) => issueCertificate(dir, name, kind)),
  );
  await refreshCrl(dir);
}

/** The fleet's CA re-signs its CRL when this close to nextUpdate (the KMEs refuse everyone once it lapses). */
const CRL_REFRESH_MS = 7 * 86_400_000;

/** Writes the CRL of the fleet's CA when it is missing, unreadable or lapses within CRL_REFRESH_MS. */
async function refreshCrl(dir: string): Promise<void> {
  const file = crlPath(dir);
  let next: number | undefined;
  try {
    next = loadCrl(file, certificatesOf(readFileSync(join(dir, 'ca.pem')))).nextUpdateMs;
  } catch {
    next = 0; // missing or unreadable: write a fresh one
  }
  if (next !== undefined && next - Date.now() < CRL_REFRESH_MS) await writeCrl(dir);
}

/** The SPKI SHA-256 pin of certificate `<pkiDir>/<name>.pem` (the fleet issued it, so its key is known). */
export function pinOf(pkiDir: string, name: string): { spkiSha256: string[] } {
  return { spkiSha256: [spkiSha256(readFileSync(join(pkiDir, `${name}.pem`)))] };
}

/** Starts one KME per node; on any failure, closes those already started and rethrows. */
export async function startKmeFleet(
  nodes: readonly FleetNode[],
  dataDir: string,
  logLevel: 'silent' | 'error' | 'warn' | 'info' = 'warn',
  perms: { strictPermissions?: boolean; warn?: (line: string) => void } = {},
  /** Configure every node's SAE `test: true` (for `simulated-deterministic` keys). */
  testSaes = false,
): Promise<KmeFleet> {
  // Checked, created private and locked before anything inside is touched (one process per data dir).
  return withDataDirLock(dataDir, perms, (lock) => startFleet(nodes, dataDir, logLevel, lock, testSaes));
}

async function startFleet(
  nodes: readonly FleetNode[],
  dataDir: string,
  logLevel: 'silent' | 'error' | 'warn' | 'info',
  lock: ProcessLock,
  testSaes: boolean,
): Promise<KmeFleet> {
  const pkiDir = join(dataDir, 'pki');
  await ensurePki(pkiDir, nodes);
  const storeKey = { file: join(pkiDir, 'store.key') }; // beside the PKI, created 0600 on first start
  const ports = await freePorts(nodes.length);
  const url = new Map(nodes.map((n, i) => [n.id, `https://127.0.0.1:${ports[i]}`]));
  const logger = pino({ level: logLevel, redact: LOG_REDACT });
  // The fleet issued every certificate, so each identity is pinned by its key (SPKI SHA-256): a new key
  // pair under a known name is refused; revocations in <pki>/crl.pem apply within a second.
  const pin = (name: string) => pinOf(pkiDir, name);
  const kmes = new Map<string, KmeHandle>();
  // A long-running fleet keeps its CRL current (checked twice a day).
  const crlTimer = setInterval(
    () => void refreshCrl(pkiDir).catch((e: Error) => logger.error({ err: e.message }, 'CRL refresh failed')),
    12 * 3_600_000,
  );
  crlTimer.unref();
  const closeAll = async () => {
    clearInterval(crlTimer);
    await Promise.all([...kmes.values()].map((k) => k.close()));
    lock.release();
  };
  try {
    for (const [i, n] of nodes.entries()) {
      const tls = (name: string) => ({
        cert: join(pkiDir, `${name}.pem`),
        key: join(pkiDir, `${name}.key`),
        ca: join(pkiDir, 'ca.pem'),
        crl: crlPath(pkiDir),
      });
      const kme = await startKme(
        {
          id: kmeName(n.id),
          host: '127.0.0.1',
          port: ports[i]!,
          tls: tls(kmeName(n.id)),
          store: join(dataDir, `${kmeName(n.id)}.db`),
          storeKey,
          saes: [{ id: saeName(n.id), pin: pin(saeName(n.id)), ...(testSaes ? { test: true } : {}) }],
          peers: n.neighbours.map((m) => ({
            id: kmeName(m),
            url: url.get(m)!,
            saes: [saeName(m)],
            pin: pin(kmeName(m)),
          })),
        },
        { logger: logger.child({ kme: kmeName(n.id) }), ...(n.sdn ? { sdnState: n.sdn } : {}) },
      );
      kmes.set(n.id, kme);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    kmes,
    pkiDir,
    close: () => (closing ??= closeAll()),
  };
}
