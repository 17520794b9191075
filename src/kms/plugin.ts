/**
 * The ETSI GS QKD 014 V1.1.1 REST API as a Fastify plugin (clause 5: "Get status", "Get key", "Get key
 * with key IDs", each at `/api/v1/keys/{SAE_ID}/…`, GET and POST forms), plus the KME-to-KME reservation
 * route, `/openapi.json` and `/metrics`. The caller's SAE ID comes from its TLS client certificate (§4.2:
 * "the SAE is authenticated by the KME through its certificate"), never from the request. Every error is
 * the spec's Error object (§6.5) with 400, 401 or 503 where §5 puts them; framework errors (bad JSON,
 * wrong content type, schema violations, oversize bodies) are mapped to 400 — never a 5xx for bad input.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { QkdnetError } from '../common/index.ts';
import type { KmeCore, KmeStatus } from './core.ts';
import type { KmeMetrics } from './metrics.ts';
import { buildOpenApi } from './openapi.ts';
import * as S from './schema.ts';
import { reservationFromWire, reservationToWire } from './peer.ts';
import { registerRelayRoute, type RelayHandler } from './relay-route.ts';
import type { FormedKey } from './store.ts';

/** Who a TLS client certificate belongs to. */
export type CallerIdentity = { readonly kind: 'sae' | 'kme'; readonly id: string } | null;

/** Options of the plugin. */
export interface Etsi014PluginOptions {
  readonly core: KmeCore;
  readonly metrics: KmeMetrics;
  /** Maps a certificate subject CN to an SAE or peer KME (null: unknown). */
  readonly identify: (subjectCn: string) => CallerIdentity;
  /**
   * Replaces certificate-based identification — ONLY for `inject()` tests, which have no TLS socket.
   * startKme never sets it.
   */
  readonly callerOfRequest?: (req: FastifyRequest) => CallerIdentity;
  /** The relay handler registered by the composition, if any (./relay-route.ts). */
  readonly relay?: () => RelayHandler | undefined;
}

const ids = new WeakMap<object, CallerIdentity>();
const overrides = new WeakMap<object, (req: FastifyRequest) => CallerIdentity>();

function callerOf(req: FastifyRequest, identify: Etsi014PluginOptions['identify']): CallerIdentity {
  const override = overrides.get(req.server);
  if (override) return override(req);
  const sock = req.raw.socket as TLSSocket;
  let who = ids.get(sock);
  if (who !== undefined) return who;
  const cert = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : undefined;
  const cn = cert?.subject?.CN;
  who = sock.authorized && typeof cn === 'string' ? identify(cn) : null;
  ids.set(sock, who);
  return who;
}

const unauthorized = () =>
  new QkdnetError('KMS_UNAUTHORIZED', 'The client certificate names no SAE served by this KME');

function saeOf(req: FastifyRequest, identify: Etsi014PluginOptions['identify']): string {
  const who = callerOf(req, identify);
  if (!who || who.kind !== 'sae') throw unauthorized();
  return who.id;
}

function statusWire(s: KmeStatus): S.StatusWire {
  return {
    source_KME_ID: s.sourceKmeId,
    target_KME_ID: s.targetKmeId,
    master_SAE_ID: s.masterSaeId,
    slave_SAE_ID: s.slaveSaeId,
    key_size: s.keySizeBits,
    stored_key_count: s.storedKeyCount,
    max_key_count: s.maxKeyCount,
    max_key_per_request: s.maxKeyPerRequest,
    max_key_size: s.maxKeySizeBits,
    min_key_size: s.minKeySizeBits,
    max_SAE_ID_count: s.maxSaeIdCount,
    status_extension: { qkdnet_pool_bits: s.poolBits },
  };
}

function containerWire(keys: readonly FormedKey[]): S.KeyContainerWire {
  return {
    keys: keys.map((k) => ({
      key_ID: k.keyId,
      key: Buffer.from(k.key.buffer, k.key.byteOffset, k.key.byteLength).toString('base64'),
      key_extension: {
        qkdnet_provenance: k.meta.provenance,
        qkdnet_path: k.meta.path,
        qkdnet_exposed_to: k.meta.exposedTo,
        qkdnet_block_IDs: k.meta.blockIds,
      },
    })),
  };
}

type Req<T = unknown, Q = unknown> = FastifyRequest<{ Params: { sae: string }; Body: T; Querystring: Q }>;
const errors = { 400: S.ErrorSchema, 401: S.ErrorSchema, 503: S.ErrorSchema };

/** Registers the 014 routes, reservation route, `/openapi.json` and `/metrics` on `app`. */
export async function etsi014Plugin(app: FastifyInstance, opts: Etsi014PluginOptions): Promise<void> {
  const { core, metrics, identify } = opts;
  if (opts.callerOfRequest) overrides.set(app, opts.callerOfRequest);
  const params = S.SaePathSchema;
  const container = { 200: S.KeyContainerSchema, ...errors };

  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: 1 << 20 },
    (_req, text, done) => {
      const s = String(text);
      if (s.trim() === '') return done(null, {});
      try {
        done(null, JSON.parse(s));
      } catch {
        done(new QkdnetError('KMS_BAD_REQUEST', 'The request body is not valid JSON'), undefined);
      }
    },
  );

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    let status: number;
    let message: string;
    if (err instanceof QkdnetError) {
      status = err.status;
      message = err.message;
    } else if (
      err.validation ||
      (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
    ) {
      status = err.statusCode === 404 ? 404 : 400;
      message = `Bad request format: ${err.message.slice(0, 300)}`;
    } else {
      status = 500;
      message = 'Internal error';
      req.log.error({ err: { message: err.message, stack: err.stack } }, 'unexpected failure');
    }
    void reply.code(status).send({ message });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ message: `No route ${req.method} ${req.url.slice(0, 200)}` });
  });

  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, status: reply.statusCode });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  const delivered = (role: 'master' | 'slave', keys: readonly FormedKey[]) => {
    metrics.delivered.inc({ role }, keys.length);
    const wire = containerWire(keys);
    for (const k of keys) k.key.fill(0); // the base64 copy is all that leaves; erase the bytes
    return wire;
  };

  app.get(
    '/api/v1/keys/:sae/status',
    { schema: { params, response: { 200: S.StatusSchema, ...errors } } },
    async (req: Req) => statusWire(core.status(saeOf(req, identify), req.params.sae)),
  );

  app.get(
    '/api/v1/keys/:sae/enc_keys',
    { schema: { params, querystring: S.EncKeysQuerySchema, response: container } },
    async (req: Req<unknown, { number?: number; size?: number }>) =>
      delivered(
        'master',
        await core.encKeys(saeOf(req, identify), req.params.sae, {
          number: req.query.number,
          sizeBits: req.query.size,
        }),
      ),
  );

  app.post(
    '/api/v1/keys/:sae/enc_keys',
    { schema: { params, body: S.KeyRequestSchema, response: container } },
    async (req: Req<S.KeyRequestWire>) => {
      const b = req.body ?? {};
      return delivered(
        'master',
        await core.encKeys(saeOf(req, identify), req.params.sae, {
          number: b.number,
          sizeBits: b.size,
          additionalSlaves: b.additional_slave_SAE_IDs,
          extensionMandatory: b.extension_mandatory as Record<string, unknown>[] | undefined,
          extensionOptional: b.extension_optional as Record<string, unknown>[] | undefined,
        }),
      );
    },
  );

  app.get(
    '/api/v1/keys/:sae/dec_keys',
    { schema: { params, querystring: S.DecKeysQuerySchema, response: container } },
    async (req: Req<unknown, { key_ID: string }>) =>
      delivered('slave', await core.decKeys(saeOf(req, identify), req.params.sae, [req.query.key_ID])),
  );

  app.post(
    '/api/v1/keys/:sae/dec_keys',
    { schema: { params, body: S.KeyIdsSchema, response: container } },
    async (req: Req<S.KeyIdsWire>) => {
      const caller = saeOf(req, identify);
      if (req.body.key_IDs.some((k) => k.key_ID_extension && Object.keys(k.key_ID_extension).length > 0))
        throw new QkdnetError('KMS_BAD_REQUEST', 'key_ID_extension is not supported by this KME');
      const keyIds = req.body.key_IDs.map((k) => k.key_ID);
      return delivered('slave', await core.decKeys(caller, req.params.sae, keyIds));
    },
  );

  app.post(
    '/api/v1/kme/:sae/reserve',
    {
      schema: {
        params,
        body: S.ReservationSchema,
        response: { 200: S.ReservationAnswerSchema, ...errors },
      },
    },
    async (req: Req<S.ReservationWire>) => {
      const who = callerOf(req, identify);
      if (!who || who.kind !== 'kme' || who.id !== req.params.sae)
        throw new QkdnetError('KMS_UNAUTHORIZED', 'Only the named peer KME may reserve keys here');
      const rs = req.body.reservations.map(reservationFromWire);
      const refused = await core.receiveReservations(who.id, rs);
      return { accepted: rs.length - refused.length, refused_key_IDs: refused };
    },
  );

  app.post(
    '/api/v1/kme/:sae/lookup',
    { schema: { params, body: S.LookupSchema, response: { 200: S.ReservationSchema, ...errors } } },
    async (req: Req<S.LookupWire>) => {
      const who = callerOf(req, identify);
      if (!who || who.kind !== 'kme' || who.id !== req.params.sae)
        throw new QkdnetError('KMS_UNAUTHORIZED', 'Only the named peer KME may look up reservations here');
      const ids = req.body.key_IDs.map((k) => k.toLowerCase());
      return { reservations: core.store.outbox(who.id, ids.length, ids).map(reservationToWire) };
    },
  );

  registerRelayRoute(app, core, (req) => callerOf(req, identify), opts.relay ?? (() => undefined));

  const openapi = buildOpenApi(core.id);
  app.get('/openapi.json', async () => openapi);
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
