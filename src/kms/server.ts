/**
 * `startKme(config)`: one KME as an HTTPS server with mutual TLS (Node's TLS: `requestCert` +
 * `rejectUnauthorized`, so a client without a certificate from the configured CA is refused in the
 * handshake), its durable store, the ETSI 014 plugin, the peer link for reservations and the southbound
 * supply. Logs are pino JSON with key material redacted (and none is ever passed to the logger).
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { resolve } from 'node:path';
import pino from 'pino';
import { KmeCore } from './core.ts';
import { readPem, validateKmeConfig, type KmeConfig } from './config.ts';
import { createKmeMetrics, type KmeMetrics } from './metrics.ts';
import { createPeerLink } from './peer.ts';
import { etsi014Plugin, type CallerIdentity } from './plugin.ts';
import type { RelayHandler } from './relay-route.ts';
import { KeyStore, type PoolLevel, type ReservationRecord } from './store.ts';
import type { SupplyItem } from './supply.ts';
import { supplyFromFile } from './supply-stream.ts';

/** A running KME. */
export interface KmeHandle {
  readonly id: string;
  /** Base URL, e.g. `https://127.0.0.1:8443` (the API lives under `/api/v1/keys/`). */
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly core: KmeCore;
  readonly store: KeyStore;
  readonly metrics: KmeMetrics;
  /**
   * Southbound: adds key material shared with KME `peerId`; returns chunks stored now (0 when the item was
   * queued: large items and items arriving while others are queued are stored in slices off the hot path).
   */
  supply(peerId: string, item: SupplyItem): number;
  /** Resolves when everything supplied so far is stored and durable. */
  settled(): Promise<void>;
  /** Pool level of the link to `peerId`. */
  level(peerId: string): PoolLevel;
  /** Registers the handler of relay messages from peer KMEs (replaces any previous one). */
  onRelay(handler: RelayHandler): void;
  /**
   * Sends a relay message, with the reservations of the link keys it uses, to peer KME `peerId` over
   * mutual TLS; resolves with the peer handler's result (rejects with KMS_PEER_UNAVAILABLE).
   */
  sendRelay(
    peerId: string,
    rs: readonly ReservationRecord[],
    message: Record<string, unknown>,
  ): Promise<unknown>;
  /** Stops accepting, finishes open requests, checkpoints and closes the store. Idempotent. */
  close(): Promise<void>;
}

/** Options that are not part of the file configuration. */
export interface StartKmeOptions {
  /** A pino logger to use (default: pino at `config.logLevel`, JSON on stdout). */
  readonly logger?: pino.Logger;
}

/** pino redaction: key material must never reach a log even by accident. */
export const LOG_REDACT = [
  'key',
  '*.key',
  'keys[*].key',
  'material',
  '*.material',
  'req.headers.authorization',
];

/** Chunks queued for storage beyond which device files are not read further (about 32 Mbit). */
const SUPPLY_BACKLOG_CHUNKS = 131_072;

/** Starts a KME; resolves when it listens. */
export async function startKme(config: KmeConfig, options: StartKmeOptions = {}): Promise<KmeHandle> {
  const c = validateKmeConfig(config);
  const tls = { cert: readPem(c.tls.cert), key: readPem(c.tls.key), ca: readPem(c.tls.ca) };
  const logger =
    options.logger ?? pino({ level: c.logLevel ?? 'info', redact: LOG_REDACT, base: { kme: c.id } });
  const store = KeyStore.open({
    path: c.store,
    maxChunksPerPeer: c.keys?.maxChunksPerPeer ?? 1_000_000,
    durability: c.durability ?? 'group',
  });
  const peers = createPeerLink(c.id, c.peers ?? [], tls);
  const core = new KmeCore(c, store, peers, logger);
  const metrics = createKmeMetrics(core);
  const who = new Map<string, CallerIdentity>();
  for (const s of c.saes) who.set(s.certSubject ?? s.id, { kind: 'sae', id: s.id });
  for (const p of c.peers ?? []) who.set(p.certSubject ?? p.id, { kind: 'kme', id: p.id });

  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: !(c.logRequests ?? false) }),
    routerOptions: { maxParamLength: 1024 },
    bodyLimit: 1 << 20,
    https: { ...tls, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    forceCloseConnections: true,
  });
  let relayHandler: RelayHandler | undefined;
  await app.register(etsi014Plugin, {
    core,
    metrics,
    identify: (cn) => who.get(cn) ?? null,
    relay: () => relayHandler,
  });
  const host = c.host ?? '127.0.0.1';
  try {
    await app.listen({ host, port: c.port ?? 0 });
  } catch (e) {
    store.close();
    peers.close();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (c.port ?? 0);
  for (const p of store.outboxPeers()) core.pushReservations(p); // left over from before a restart
  const checkpoint = setInterval(() => store.checkpoint(), 30_000);
  checkpoint.unref();
  // Device files are read in steps off the hot path, from where the store says the last run stopped.
  const stopSupply = (c.supply ?? []).map((s) =>
    supplyFromFile((item, mark) => core.supply(s.peer, item, mark), s.file, {
      follow: s.follow ?? false,
      self: c.id,
      peer: s.peer,
      resume: store.supplyOffset(resolve(s.file)),
      busy: () => core.pump.backlog > SUPPLY_BACKLOG_CHUNKS,
      onError: (e) => logger.error({ file: s.file, err: e.message }, 'southbound supply failed'),
    }),
  );
  let closing: Promise<void> | undefined;
  logger.info({ url: `https://${host}:${port}`, saes: c.saes.map((s) => s.id) }, 'KME listening');
  return {
    id: c.id,
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    app: app as unknown as FastifyInstance,
    core,
    store,
    metrics,
    supply: (peerId, item) => core.supply(peerId, item),
    settled: () => core.settled(),
    level: (peerId) => store.level(peerId),
    onRelay: (h) => {
      relayHandler = h;
    },
    sendRelay: (peerId, rs, message) => peers.relay(peerId, rs, message),
    close() {
      closing ??= (async () => {
        clearInterval(checkpoint);
        for (const stop of stopSupply) stop();
        core.stop();
        await app.close();
        peers.close();
        await core.settled();
        // Leased keys not served are erased now (a clean stop knows they were never delivered).
        const released = store.discardLeased(Date.now());
        if (released > 0)
          logger.info({ released }, `erased ${released} leased keys not served before the stop`);
        store.close();
      })();
      return closing;
    },
  };
}
