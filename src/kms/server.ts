/**
 * `startKme(config)`: one KME as an HTTPS server with mutual TLS 1.3 (no renegotiation exists in 1.3),
 * its durable store, the ETSI 014 plugin, the peer link for reservations and the southbound supply.
 * Callers are admitted by ./identity.ts (CA chain, role, configured name, pin, CRL); everyone else gets
 * 401 before any route runs. The CRL (`tls.crl`) is reloaded when the file changes and on SIGHUP; once
 * it lapses (nextUpdate passed) `tls.crlExpiry` decides (./crl.ts): refuse everyone (default) or alert only.
 * Logs are pino JSON with key material redacted (and none is ever passed to the logger).
 */
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pino from 'pino';
import { QkdnetError } from '../common/index.ts';
import { KmeCore } from './core.ts';
import { readPem, validateKmeConfig, type KmeConfig } from './config.ts';
import { certificatesOf, revocationCheck, watchCrl, type CrlWatch, type RevocationList } from './crl.ts';
import { specClientError, specError } from './http-errors.ts';
import { IdentityBook } from './identity.ts';
import { createKmeMetrics, type KmeMetrics } from './metrics.ts';
import { Etsi020Endpoint } from './etsi-gs-qkd-020-endpoint.ts';
import { createPeerLink } from './peer.ts';
import { etsi014Plugin } from './plugin.ts';
import { strictValidatorCompiler } from './wire-validation.ts';
import type { SdnNodeState } from './etsi-gs-qkd-015.ts';
import { configSdnState } from './etsi-gs-qkd-015-node.ts';
import { createRestconfNode, restconfFrameworkError, type RestconfNode } from './etsi-gs-qkd-015-server.ts';
import { Etsi004Service } from './etsi-gs-qkd-004-service.ts';
import { KME_TLS } from './https-json.ts';
import type { RelayHandler } from './relay-route.ts';
import { KeyStore, type PoolLevel, type ReservationRecord } from './store.ts';
import type { KeyBackend } from './store-backend.ts';
import { isPostgresUrl, PgKeyStore } from './store-pg.ts';
import type { SupplyItem } from './supply.ts';
import { supplyFromFile } from './supply-stream.ts';
import { startSupplyThread } from './supply-thread.ts';
import { makePrivateDir } from './private-fs.ts';
import { loadKeyring, storeKeySource, type StoreKeySource } from './store-key.ts';
import { sqliteRotatable, startStoreKeyRotation } from './store-rotation.ts';
import { dirname, join } from 'node:path';

/** A running KME. */
export interface KmeHandle {
  readonly id: string;
  /** Base URL, e.g. `https://127.0.0.1:8443` (the API lives under `/api/v1/keys/`). */
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly core: KmeCore;
  /** The SQLite store (throws for a KME on PostgreSQL: use `core.backend`). */
  readonly store: KeyStore;
  readonly metrics: KmeMetrics;
  /** The ETSI GS QKD 015 RESTCONF endpoint (`refresh()` sends link notifications now). */
  readonly sdn: RestconfNode;
  /**
   * Southbound: adds key material shared with KME `peerId`; returns chunks stored now (0 when the item was
   * queued: large items and items arriving while others are queued are stored in slices off the hot path).
   */
  supply(peerId: string, item: SupplyItem): number;
  /** Resolves when everything supplied so far is stored and durable. */
  settled(): Promise<void>;
  /** Pool level of the link to `peerId`. */
  level(peerId: string): PoolLevel;
  /** Its ETSI GS QKD 020 interface (KME-to-KME key exchange between domains or vendors, `/kmapi`). */
  readonly etsi020: Etsi020Endpoint;
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
  /** Re-reads the CRL now (what SIGHUP does); false when none is configured or the new file was refused. */
  reloadCrl(): boolean;
  /** TLS handshakes completed on this KME's port so far (keep-alive clients add one per connection). */
  tlsHandshakes(): number;
  /** ETSI GS QKD 004 key streams of this KME (./etsi-gs-qkd-004-service.ts). */
  readonly etsi004: Etsi004Service;
  /** Stops accepting, finishes open requests, checkpoints and closes the store. Idempotent. */
  close(): Promise<void>;
}

/** Options that are not part of the file configuration. */
export interface StartKmeOptions {
  /** A pino logger to use (default: pino at `config.logLevel`, JSON on stdout). */
  readonly logger?: pino.Logger;
  /** Refuse a store-key file open to other users instead of warning (`--strict-permissions`). */
  readonly strictPermissions?: boolean;
  /** Where one-line permission warnings go (default: stderr). */
  readonly warn?: (line: string) => void;
  /**
   * The node's ETSI GS QKD 015 state (default: what the configuration and store tell,
   * ./etsi-gs-qkd-015-node.ts); the live network passes its links' state.
   */
  readonly sdnState?: () => SdnNodeState;
  /** Clock of the ETSI 004 streams in ms (tests move it to expire TTLs; default Date.now). */
  readonly clock?: () => number;
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
  const cas = certificatesOf(tls.ca);
  if (cas.length === 0) throw new QkdnetError('CONFIG_INVALID', 'KME config: tls.ca holds no certificate');
  let crlGeneration = 0;
  // An expired CRL (nextUpdate passed) raises a `crl-expired` alert once the core exists (below).
  let crlLapsed: ((l: RevocationList) => void) | undefined;
  const crl: CrlWatch | undefined = c.tls.crl
    ? watchCrl(
        c.tls.crl,
        cas,
        {
          info: (o, m) => (crlGeneration++, logger.info(o, m)),
          error: (o, m) => logger.error(o, m),
        },
        { onExpired: (l) => crlLapsed?.(l) },
      )
    : undefined;
  const crlPolicy = c.tls.crlExpiry ?? 'refuse';
  const revoked = revocationCheck(crl, crlPolicy);
  let metricsToken: string | undefined;
  if (c.metrics?.bearerTokenFile) {
    try {
      metricsToken = readFileSync(c.metrics.bearerTokenFile, 'utf8').trim();
    } catch (e) {
      crl?.stop();
      throw new QkdnetError(
        'CONFIG_INVALID',
        `Cannot read metrics.bearerTokenFile: ${(e as NodeJS.ErrnoException).code}`,
      );
    }
    if (metricsToken.length < 16) {
      crl?.stop();
      throw new QkdnetError('CONFIG_INVALID', 'KME config: the metrics bearer token needs ≥ 16 characters');
    }
  }
  const pgUrl = isPostgresUrl(c.store) ? c.store : undefined;
  const memory = c.store === ':memory:';
  let backend: KeyStore | KeyBackend;
  let keySource: StoreKeySource;
  try {
    if (!memory && !pgUrl) makePrivateDir(dirname(c.store));
    keySource = storeKeySource(c.storeKey, memory || pgUrl ? null : join(dirname(c.store), 'store.key'));
    if (pgUrl && keySource.kind === 'ephemeral')
      throw new QkdnetError(
        'CONFIG_INVALID',
        'KME config: a PostgreSQL store needs a store key that outlives the process and is the same at every replica (storeKey: file, env or credential)',
      );
    const keyring = loadKeyring(keySource, {
      strict: options.strictPermissions ?? false,
      ...(options.warn ? { warn: options.warn } : {}),
    });
    const maxChunksPerPeer = c.keys?.maxChunksPerPeer ?? 1_000_000;
    backend = pgUrl
      ? await PgKeyStore.open({ url: pgUrl, keyring, maxChunksPerPeer, log: logger })
      : KeyStore.open({ path: c.store, maxChunksPerPeer, durability: c.durability ?? 'group', keyring });
  } catch (e) {
    crl?.stop();
    throw e;
  }
  const peers = createPeerLink(c.id, c.peers ?? [], tls, revoked);
  const core = new KmeCore(c, backend, peers, logger);
  const store = backend instanceof KeyStore ? backend : undefined;
  crlLapsed = (l) =>
    core.raise({
      severity: 'critical',
      kind: 'crl-expired',
      evidence: { statistic: 'crl-next-update-ms', value: l.nextUpdateMs ?? 0, threshold: Date.now() },
      action: 'notify',
      message:
        crlPolicy === 'refuse'
          ? `KME "${c.id}": the CRL ${c.tls.crl} expired at ${new Date(l.nextUpdateMs ?? 0).toISOString()}; every certificate is refused until a fresh CRL is written (qkdnet pki crl)`
          : `KME "${c.id}": the CRL ${c.tls.crl} expired at ${new Date(l.nextUpdateMs ?? 0).toISOString()}; still judging by it (tls.crlExpiry: alert) — write a fresh CRL (qkdnet pki crl)`,
    });
  if (crl?.expired()) crlLapsed(crl.current());
  const metrics = createKmeMetrics(core);
  const book = new IdentityBook(
    [
      ...c.saes.map((s) => ({ kind: 'sae' as const, ...s })),
      ...(c.peers ?? []).map((p) => ({ kind: 'kme' as const, ...p })),
      ...(c.devices ?? []).map((d) => ({ kind: 'device' as const, ...d })),
    ],
    cas,
  );

  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: !(c.logRequests ?? false) }),
    routerOptions: { maxParamLength: 1024 },
    bodyLimit: 1 << 20,
    // The handshake asks for a client certificate but lets the request through to `onRequest`, which
    // answers 401 (the spec's status) to anyone the identity book does not admit — no route runs first.
    https: { ...tls, ...KME_TLS, requestCert: true, rejectUnauthorized: false },
    forceCloseConnections: true,
    clientErrorHandler: specClientError,
    // Every route validates with the strict TypeBox compiler (./wire-validation.ts): naming it here keeps
    // Fastify from loading and setting up Ajv, which no route uses (≈ 0.1 s of CPU at every start).
    schemaController: { compilersFactory: { buildValidator: (() => strictValidatorCompiler) as never } },
    // A URL the router cannot decode: RESTCONF's error shape under /restconf, ETSI 014's elsewhere.
    frameworkErrors: (err, req, reply) => {
      const r = reply as unknown as FastifyReply;
      if (!restconfFrameworkError(err, req as unknown as FastifyRequest, r))
        void r.code(400).send(specError(400, 'the request URL is not valid'));
    },
  });
  let relayHandler: RelayHandler | undefined;
  const etsi020 = new Etsi020Endpoint({
    identity: tls,
    peers: c.peers ?? [],
    revoked,
    isLocalSae: (s) => core.isLocal(s),
    ...(c.etsi020?.pen !== undefined ? { pen: c.etsi020.pen } : {}),
    log: logger,
  });
  const etsi004 = new Etsi004Service({
    core,
    send: peers.etsi004,
    devices: new Map((c.devices ?? []).map((d) => [d.id, d.peer])),
    log: logger,
    ...(options.clock ? { now: options.clock } : {}),
  });
  await app.register(etsi014Plugin, {
    etsi004,
    etsi020,
    core,
    metrics,
    identify: (cert, authorized) => book.identify(cert, authorized, revoked),
    // A cached identity is judged again after a CRL reload and when the CRL lapses.
    generation: () => crlGeneration * 2 + (crl?.expired() ? 1 : 0),
    ...(metricsToken ? { metricsToken } : {}),
    relay: () => relayHandler,
  });
  // ETSI GS QKD 015 over RESTCONF, for callers with the sdn role; link changes are checked every second.
  const sdn = createRestconfNode({
    state: options.sdnState ?? (() => configSdnState(c, (p) => core.backend.level(p))),
    identify: (cert, authorized) => book.identify(cert, authorized, revoked),
  });
  await sdn.register(app as unknown as FastifyInstance);
  const host = c.host ?? '127.0.0.1';
  try {
    await app.listen({ host, port: c.port ?? 0 });
  } catch (e) {
    etsi004.stop();
    await core.backend.close(Date.now());
    peers.close();
    crl?.stop();
    throw e;
  }
  let handshakes = 0;
  app.server.on('secureConnection', () => handshakes++);
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (c.port ?? 0);
  etsi020.listening(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const kb = core.backend;
  for (const p of await kb.outboxPeers()) core.pushReservations(p); // left over from before a restart
  // Relays this KME was the source of when it last stopped: their destinations erase their copies.
  if (store) core.reconcileRelays();
  const checkpoint = setInterval(() => {
    void kb.maintain(Date.now()).catch((e: Error) => logger.error({ err: e.message }, 'store upkeep'));
    core.reclaimOrphans(Date.now()).catch((e: Error) => logger.error({ err: e.message }, 'orphan reclaim'));
    if (store) core.reconcileRelays();
  }, 30_000);
  checkpoint.unref();
  const sdnTimer = setInterval(() => sdn.refresh(), 1000);
  sdnTimer.unref();
  // A new store key (`qkdnet kme rekey-store`) is taken while serving and old rows re-sealed in place.
  const rotatable = store ? sqliteRotatable(store, core.committer) : kb instanceof PgKeyStore ? kb : null;
  const stopRotation = rotatable
    ? startStoreKeyRotation({ store: rotatable, source: keySource, log: logger })
    : () => undefined;
  // Device files are read in steps off the hot path, from where the store says the last run stopped.
  const resumeAt = await Promise.all((c.supply ?? []).map((s) => kb.supplyOffset(resolve(s.file))));
  const supplyFailed = (file: string, e: Error) =>
    logger.error({ file, err: e.message }, 'southbound supply failed');
  // SQLite: a worker thread with its own connection reads, cuts, seals and stores (./supply-thread.ts).
  const supplyThread =
    store && !memory && (c.supply ?? []).length > 0
      ? startSupplyThread({
          store,
          path: store.path,
          files: (c.supply ?? []).map((s, i) => ({
            path: s.file,
            self: c.id,
            peer: s.peer,
            follow: s.follow ?? false,
            resume: resumeAt[i],
          })),
          onNote: (peer, note) => core.noteSupply(peer, note),
          onError: (e) => supplyFailed('southbound supply', e),
        })
      : undefined;
  const stopSupply = supplyThread
    ? []
    : (c.supply ?? []).map((s, i) =>
        supplyFromFile((item, mark) => core.supply(s.peer, item, mark), s.file, {
          follow: s.follow ?? false,
          self: c.id,
          peer: s.peer,
          resume: resumeAt[i],
          busy: () => kb.backlog > SUPPLY_BACKLOG_CHUNKS,
          onError: (e) => supplyFailed(s.file, e),
        }),
      );
  let closing: Promise<void> | undefined;
  if (store?.recoveredLock)
    logger.warn(
      { pid: store.recoveredLock.pid, host: store.recoveredLock.host },
      'recovered the store lock of a process that died holding it',
    );
  logger.info({ url: `https://${host}:${port}`, saes: c.saes.map((s) => s.id) }, 'KME listening');
  return {
    id: c.id,
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    app: app as unknown as FastifyInstance,
    core,
    get store(): KeyStore {
      return core.store;
    },
    metrics,
    sdn,
    etsi020,
    supply: (peerId, item) => core.supply(peerId, item),
    settled: () => core.settled(),
    level: (peerId) => kb.level(peerId),
    onRelay: (h) => {
      relayHandler = h;
    },
    sendRelay: (peerId, rs, message) => peers.relay(peerId, rs, message),
    reloadCrl: () => (crl ? crl.reload() : false),
    tlsHandshakes: () => handshakes,
    etsi004,
    close() {
      closing ??= (async () => {
        clearInterval(checkpoint);
        clearInterval(sdnTimer);
        sdn.close();
        etsi004.stop();
        stopRotation();
        for (const stop of stopSupply) stop();
        await supplyThread?.stop();
        core.stop();
        crl?.stop();
        etsi020.close();
        await app.close();
        peers.close();
        await core.settled();
        // Leased keys not served are erased now (a clean stop knows they were never delivered).
        const released = await kb.close(Date.now());
        if (released > 0)
          logger.info({ released }, `erased ${released} leased keys not served before the stop`);
      })();
      return closing;
    },
  };
}
