// @edge: runs one PPK agent against one's own strongSwan (`qkdnet ipsec agent`)
/**
 * A PPK agent as a service beside an existing strongSwan: the charon's VICI socket, this SAE's ETSI GS
 * QKD 014 client identity (KME URL, certificate, key, CA), the peer's SAE_ID, the channel key shared
 * with the peer agent, and for the initiator a `load-conn` template of the connection to protect (YAML or
 * JSON — the swanctl.conf `connections.<name>` section as VICI expects it; `ppk_id` and `ppk_required`
 * are set by the agent). The responder's own connection must have `ppk_required = yes` and no `ppk_id`
 * (docs/ipsec.md). Files are read here so the CLI stays a thin parser.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { QkdnetError } from '../common/index.ts';
import { Etsi014Client } from '../kms/index.ts';
import { loggerAlertSink, type AlertSink } from './alerts.ts';
import { etsi014KeySource } from './key-source.ts';
import { ML_KEM_768_PQC } from './kme-pair.ts';
import { ChannelClient } from './peer-channel.ts';
import { SaLedger } from './sa-ledger.ts';
import { serveLedgerMetrics, type MetricsServer } from './sa-metrics.ts';
import { InitiatorAgent, withPpk, type EstablishResult, type NoKeyPolicy } from './ppk-initiator.ts';
import { startResponderAgent } from './ppk-responder.ts';
import type { ViciMessageIn } from './vici-codec.ts';
import { ViciClient } from './vici-client.ts';

/** Options of `startAgentService`. */
export interface AgentServiceOptions {
  readonly role: 'initiator' | 'responder';
  /** charon's VICI socket path, e.g. /var/run/charon.vici. */
  readonly viciPath: string;
  /**
   * This SAE's KME: URL, TLS files and, to pin it, its id (a DNS SAN of its certificate) and/or SPKI
   * SHA-256 — any other KME's certificate is then refused.
   */
  readonly kme: {
    readonly url: string;
    /** Further URLs of the same KME (replicas), failed over in order (src/kms/failover.ts). */
    readonly urls?: readonly string[];
    readonly cert: string;
    readonly key: string;
    readonly ca: string;
    readonly kmeId?: string;
    readonly pinSpki?: readonly string[];
  };
  /** The other SAE: the slave for the initiator, the master for the responder. */
  readonly peerSaeId: string;
  readonly channelKey: Uint8Array;
  /** Initiator: the responder agent's address. */
  readonly peer?: { readonly host: string; readonly port: number };
  /** Responder: where to listen. */
  readonly listen?: { readonly host: string; readonly port: number };
  /** Initiator: the connection template (one connection). */
  readonly connTemplate?: ViciMessageIn;
  readonly lifetimeS?: number;
  readonly policy?: NoKeyPolicy;
  /** Responder: answer ML-KEM exchanges of initiators under policy pqc. */
  readonly allowPqc?: boolean;
  readonly log: Logger;
  readonly alert?: AlertSink;
  readonly onRound?: (r: EstablishResult) => void;
  /**
   * Serve the SA ledger's metrics (./sa-metrics.ts) on `http://host:port/metrics` for a Prometheus
   * scraper: SAs up and PPKs by provenance (initiator: each SA it set up; responder: each PPK it loaded,
   * one per SA), and the agent's alerts by kind — downgrades among them.
   */
  readonly metrics?: { readonly host: string; readonly port: number };
}

/** A running agent service. */
export interface AgentService {
  /** Responder: the port it listens on. */
  readonly port?: number;
  /** Initiator: the first round's outcome. */
  readonly first?: EstablishResult;
  /** The SAs (initiator) or PPKs (responder) this agent installed, with provenance, and its alerts. */
  readonly ledger: SaLedger;
  /** With `metrics`: the endpoint's URL. */
  readonly metricsUrl?: string;
  close(): Promise<void>;
}

/** Reads a channel key file: 64 hex digits (e.g. `openssl rand -hex 32`) or 32 raw bytes. */
export function readChannelKey(path: string): Uint8Array {
  const raw = readFileSync(path);
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Uint8Array.from(Buffer.from(text, 'hex'));
  if (raw.length === 32) return Uint8Array.from(raw);
  throw new QkdnetError(
    'CONFIG_INVALID',
    `Cannot use ${path} as channel key: need 64 hex digits or 32 bytes`,
  );
}

/** Reads a connection template (YAML or JSON): `{ <name>: { version, local_addrs, …, children } }`. */
export function readConnTemplate(path: string): ViciMessageIn {
  let v: unknown;
  try {
    v = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new QkdnetError(
      'CONFIG_INVALID',
      `Cannot read connection template ${path}: ${(e as Error).message}`,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length !== 1)
    throw new QkdnetError('CONFIG_INVALID', `Connection template ${path} must hold exactly one connection`);
  return v as ViciMessageIn;
}

/** How often an idle agent touches its KME connection (below the KME's 72 s keep-alive timeout). */
export const KME_KEEPALIVE_MS = 30_000;

/** Starts the agent; the initiator establishes its first SA before this resolves. */
export async function startAgentService(o: AgentServiceOptions): Promise<AgentService> {
  const client = Etsi014Client.fromFiles(
    [o.kme.url, ...(o.kme.urls ?? [])],
    { cert: o.kme.cert, key: o.kme.key, ca: o.kme.ca },
    { ...(o.kme.kmeId ? { kmeId: o.kme.kmeId } : {}), ...(o.kme.pinSpki ? { pinSpki: o.kme.pinSpki } : {}) },
  );
  const keys = etsi014KeySource(client, o.peerSaeId);
  // Keep the mutual-TLS connection to the KME open between rekeys (a KME closes idle connections after
  // 72 s): a Get status every KME_KEEPALIVE_MS, so a rekey's fetch finds it open (no handshake in the
  // IKE window). Failures are ignored here; the next fetch reports them.
  const warm = setInterval(() => void client.status(o.peerSaeId).catch(() => undefined), KME_KEEPALIVE_MS);
  warm.unref();
  let vici: ViciClient;
  try {
    vici = await ViciClient.connect(o.viciPath);
  } catch (e) {
    clearInterval(warm);
    client.close();
    throw e;
  }
  const ledger = new SaLedger(o.policy ?? 'fail-closed');
  const sink = o.alert ?? loggerAlertSink(o.log);
  const alert: AlertSink = (a) => (ledger.alert(a), sink(a));
  let metrics: MetricsServer | undefined;
  const stopAll = async () => {
    clearInterval(warm);
    await metrics?.close();
    vici.close();
    client.close();
  };
  try {
    metrics = await serveLedgerMetrics(ledger, o.metrics);
    const served = metrics ? { metricsUrl: metrics.url } : {};
    if (o.role === 'responder') {
      const r = await startResponderAgent({
        vici,
        keys,
        channelKey: o.channelKey,
        log: o.log,
        ...(o.listen ? { host: o.listen.host, port: o.listen.port } : {}),
        ...(o.allowPqc ? { pqc: ML_KEM_768_PQC } : {}),
        // the responder knows PPKs, not IKE SAs: one ledger entry per PPK loaded, retired when released
        onPpk: (e) =>
          e.provenance ? ledger.up(o.peerSaeId, '', e.keyId, e.provenance) : ledger.retired(e.keyId),
      });
      return { port: r.port, ledger, ...served, close: async () => (await r.close(), await stopAll()) };
    }
    if (!o.peer || !o.connTemplate) throw new RangeError('the initiator needs peer and connTemplate');
    const name = Object.keys(o.connTemplate)[0]!;
    const children = (o.connTemplate[name] as Record<string, unknown>).children;
    const childName = children && typeof children === 'object' ? Object.keys(children)[0] : undefined;
    if (!childName)
      throw new QkdnetError('CONFIG_INVALID', `Connection ${name} in the template has no children section`);
    const channel = new ChannelClient(o.channelKey, o.peer.host, o.peer.port);
    const agent = new InitiatorAgent({
      vici,
      keys,
      channel,
      conn: { name, auth: 'psk' },
      connFor: withPpk(o.connTemplate),
      childName,
      policy: o.policy ?? 'fail-closed',
      ...(o.policy !== undefined && o.policy !== 'fail-closed' ? { pqc: ML_KEM_768_PQC } : {}),
      lifetimeS: o.lifetimeS ?? 3600,
      log: o.log,
      alert,
      onRound: (r) => {
        if (r.ok) {
          if (live) ledger.retired(live);
          live = r.value.keyId;
          ledger.up(name, r.value.ikeUniqueId, r.value.keyId, r.value.provenance);
        } else if (live && agent.current?.keyId !== live) (ledger.retired(live), (live = undefined));
        o.onRound?.(r);
      },
    });
    let live: string | undefined; // PPK_ID of the SA up
    const first = await agent.start();
    return {
      first,
      ledger,
      ...served,
      close: async () => {
        await agent.stop();
        if (live) ledger.retired(live);
        channel.close();
        await stopAll();
      },
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
