/**
 * The ETSI GS QKD 014 V1.1.1 REST API as a Fastify plugin (clause 5: "Get status", "Get key", "Get key
 * with key IDs", each at `/api/v1/keys/{SAE_ID}/…`, GET and POST forms), plus the KME-to-KME routes,
 * `/openapi.json` and `/metrics`. The caller comes from its TLS client certificate (§4.2: "the SAE is
 * authenticated by the KME through its certificate"), never from the request: ./identity.ts binds it to
 * a configured SAE, peer KME or metrics scraper by role, name, pin and CRL. Every route declares who may
 * call it and that is checked in `onRequest`, before the body is read or parsed, so a caller of the
 * wrong role gets 401 and learns no schema. Requests are validated strictly (./wire-validation.ts) with
 * the schemas `/openapi.json` publishes; every non-200 answer is the spec's Error object (./http-errors.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { QkdnetError } from '../common/index.ts';
import type { KmeCore, KmeStatus } from './core.ts';
import type { Etsi020Endpoint } from './etsi-gs-qkd-020-endpoint.ts';
import { etsi020Routes } from './etsi-gs-qkd-020-routes.ts';
import { installSpecErrors } from './http-errors.ts';
import type { Caller } from './identity.ts';
import type { KmeMetrics } from './metrics.ts';
import { buildOpenApi } from './openapi.ts';
import * as S from './schema.ts';
import { reservationFromWire, reservationToWire } from './peer.ts';
import { registerRelayRoute, type RelayHandler } from './relay-route.ts';
import type { FormedKey } from './store.ts';
import { strictValidatorCompiler } from './wire-validation.ts';
import { registerEtsi004Routes } from './etsi-gs-qkd-004-routes.ts';
import type { Etsi004Service } from './etsi-gs-qkd-004-service.ts';

/** Who a TLS client certificate belongs to (null: nobody this KME knows). */
export type CallerIdentity = Caller | null;

/**
 * Who may call a route: an SAE, the peer KME named in the path, any configured peer KME (`peer`: the
 * ETSI 020 routes), a QKD device (`device`: the ETSI 004 push profile), a metrics scraper, or any of them.
 */
export type RouteAuth = 'sae' | 'kme' | 'peer' | 'metrics' | 'device' | 'known';

/** Route option `config` of every KME route. */
export interface KmeRouteConfig {
  readonly auth: RouteAuth;
}

/** Options of the plugin. */
export interface Etsi014PluginOptions {
  readonly core: KmeCore;
  readonly metrics: KmeMetrics;
  /** The caller a verified (`authorized`) client certificate proves (./identity.ts `IdentityBook`). */
  readonly identify: (cert: PeerCertificate | undefined, authorized: boolean) => CallerIdentity;
  /** Changes whenever identification rules change (a CRL reload): cached identities are recomputed. */
  readonly generation?: () => number;
  /** Bearer token that also admits a caller to `/metrics` (compared in constant time). */
  readonly metricsToken?: string;
  /** Largest accepted body in bytes (larger → 413). Default 1 MiB. */
  readonly bodyLimit?: number;
  /**
   * Replaces certificate-based identification — ONLY for `inject()` tests, which have no TLS socket.
   * startKme never sets it.
   */
  readonly callerOfRequest?: (req: FastifyRequest) => CallerIdentity;
  /** The relay handler registered by the composition, if any (./relay-route.ts). */
  readonly relay?: () => RelayHandler | undefined;
  /** The ETSI GS QKD 020 endpoint whose routes are served under `/kmapi` (./etsi-gs-qkd-020-routes.ts). */
  readonly etsi020?: Etsi020Endpoint;
  /** ETSI GS QKD 004 key streams (./etsi-gs-qkd-004-routes.ts), when this KME offers them. */
  readonly etsi004?: Etsi004Service;
}

const callers = new WeakMap<FastifyRequest, CallerIdentity>();

/** The caller `onRequest` established for `req` (null when the route admits any known caller). */
export function callerOf(req: FastifyRequest): CallerIdentity {
  return callers.get(req) ?? null;
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

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Registers the 014 routes, KME-to-KME routes, `/openapi.json` and `/metrics` on `app`. */
export async function etsi014Plugin(plain: FastifyInstance, opts: Etsi014PluginOptions): Promise<void> {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const { core, metrics } = opts;
  const bodyLimit = opts.bodyLimit ?? 1 << 20;
  app.setValidatorCompiler(strictValidatorCompiler);
  installSpecErrors(app, bodyLimit);

  const cache = new WeakMap<object, { gen: number; who: CallerIdentity }>();
  const identifyRequest = (req: FastifyRequest): CallerIdentity => {
    if (opts.callerOfRequest) return opts.callerOfRequest(req);
    const sock = req.raw.socket as TLSSocket;
    const gen = opts.generation?.() ?? 0;
    const hit = cache.get(sock);
    if (hit && hit.gen === gen) return hit.who;
    const cert = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : undefined;
    const who = opts.identify(
      cert && Object.keys(cert).length > 0 ? cert : undefined,
      sock.authorized === true,
    );
    cache.set(sock, { gen, who });
    return who;
  };
  const token = opts.metricsToken ? digest(opts.metricsToken) : undefined;
  const bearerOk = (req: FastifyRequest) => {
    const h = req.headers.authorization;
    if (!token || typeof h !== 'string' || !h.startsWith('Bearer ')) return false;
    return timingSafeEqual(digest(h.slice(7).trim()), token);
  };

  // Authorise first: before the body is read, parsed or validated.
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const need = (req.routeOptions.config as Partial<KmeRouteConfig> | undefined)?.auth ?? 'known';
    const who = identifyRequest(req);
    callers.set(req, who);
    const ok =
      need === 'known'
        ? who !== null || bearerOk(req)
        : need === 'metrics'
          ? who?.kind === 'metrics' || bearerOk(req)
          : need === 'kme'
            ? who?.kind === 'kme' && who.id === (req.params as { sae?: string }).sae
            : need === 'peer'
              ? who?.kind === 'kme'
              : need === 'device'
                ? who?.kind === 'device'
                : who?.kind === 'sae';
    if (!ok)
      throw new QkdnetError(
        'KMS_UNAUTHORIZED',
        need === 'kme'
          ? 'Only the peer KME named in the path may call this route'
          : need === 'peer'
            ? 'Only a configured peer KME may call this route'
            : need === 'metrics'
              ? 'Only a metrics certificate or the configured bearer token may read /metrics'
              : need === 'device'
                ? 'The client certificate names no QKD device of this KME'
                : 'The client certificate names no SAE served by this KME',
      );
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
  /**
   * Keys that reached this KME over ETSI GS QKD 020 for target SAE `caller` from initiator `initiator`
   * (020 figure 5, steps 11–12): handed out once and erased; undefined unless every ID names one.
   */
  const fromEtsi020 = (caller: string, initiator: string, ids: readonly string[]) => {
    const keys = opts.etsi020?.book.takeForSae(caller, initiator, ids);
    if (!keys) return undefined;
    metrics.delivered.inc({ role: 'slave' }, keys.length);
    const wire = {
      keys: keys.map((k) => ({ key_ID: k.keyId, key: Buffer.from(k.value).toString('base64') })),
    };
    for (const k of keys) k.value.fill(0);
    return wire;
  };
  const sae = (req: FastifyRequest) => {
    const who = callerOf(req);
    if (who?.kind !== 'sae') throw new QkdnetError('KMS_UNAUTHORIZED', 'The caller is not an SAE');
    return who.id;
  };

  const limits = core.limits;
  const params = S.SaePathSchema;
  const noQuery = S.NoQuerySchema;
  const errors = { 400: S.ErrorSchema, 401: S.ErrorSchema, 503: S.ErrorSchema };
  const container = { 200: S.KeyContainerSchema, ...errors };
  const asSae: KmeRouteConfig = { auth: 'sae' };
  const asKme: KmeRouteConfig = { auth: 'kme' };
  const keyRequest = S.keyRequestSchema(limits);
  const keyIds = S.keyIdsSchema(limits);
  const encQuery = S.encKeysQuerySchema(limits);

  app.get(
    '/api/v1/keys/:sae/status',
    {
      config: asSae,
      exposeHeadRoute: false,
      schema: { params, querystring: noQuery, response: { 200: S.StatusSchema, ...errors } },
    },
    async (req) => statusWire(core.status(sae(req), req.params.sae)),
  );

  // HEAD is not exposed on the key routes: a HEAD would consume keys whose body nobody receives.
  app.get(
    '/api/v1/keys/:sae/enc_keys',
    { config: asSae, exposeHeadRoute: false, schema: { params, querystring: encQuery, response: container } },
    async (req) =>
      delivered(
        'master',
        await core.encKeys(sae(req), req.params.sae, { number: req.query.number, sizeBits: req.query.size }),
      ),
  );

  app.post(
    '/api/v1/keys/:sae/enc_keys',
    { config: asSae, schema: { params, querystring: noQuery, body: keyRequest, response: container } },
    async (req) =>
      delivered(
        'master',
        await core.encKeys(sae(req), req.params.sae, {
          number: req.body.number,
          sizeBits: req.body.size,
          additionalSlaves: req.body.additional_slave_SAE_IDs,
          extensionMandatory: req.body.extension_mandatory,
          extensionOptional: req.body.extension_optional,
        }),
      ),
  );

  app.get(
    '/api/v1/keys/:sae/dec_keys',
    {
      config: asSae,
      exposeHeadRoute: false,
      schema: { params, querystring: S.DecKeysQuerySchema, response: container },
    },
    async (req) =>
      fromEtsi020(sae(req), req.params.sae, [req.query.key_ID]) ??
      delivered('slave', await core.decKeys(sae(req), req.params.sae, [req.query.key_ID])),
  );

  app.post(
    '/api/v1/keys/:sae/dec_keys',
    { config: asSae, schema: { params, querystring: noQuery, body: keyIds, response: container } },
    async (req) => {
      const caller = sae(req);
      if (req.body.key_IDs_extension && Object.keys(req.body.key_IDs_extension).length > 0)
        throw new QkdnetError('KMS_BAD_REQUEST', 'key_IDs_extension is not supported by this KME');
      if (req.body.key_IDs.some((k) => k.key_ID_extension && Object.keys(k.key_ID_extension).length > 0))
        throw new QkdnetError('KMS_BAD_REQUEST', 'key_ID_extension is not supported by this KME');
      const ids = req.body.key_IDs.map((k) => k.key_ID);
      return (
        fromEtsi020(caller, req.params.sae, ids) ??
        delivered('slave', await core.decKeys(caller, req.params.sae, ids))
      );
    },
  );

  app.post(
    '/api/v1/kme/:sae/reserve',
    {
      config: asKme,
      schema: {
        params,
        querystring: noQuery,
        body: S.ReservationSchema,
        response: { 200: S.ReservationAnswerSchema, ...errors },
      },
    },
    async (req) => {
      const rs = req.body.reservations.map(reservationFromWire);
      const refused = await core.receiveReservations(req.params.sae, rs);
      return { accepted: rs.length - refused.length, refused_key_IDs: refused };
    },
  );

  app.post(
    '/api/v1/kme/:sae/lookup',
    {
      config: asKme,
      schema: {
        params,
        querystring: noQuery,
        body: S.LookupSchema,
        response: { 200: S.ReservationSchema, ...errors },
      },
    },
    async (req) => {
      const ids = req.body.key_IDs.map((k) => k.toLowerCase());
      const rs = await core.lookup(req.params.sae, ids);
      return { reservations: rs.map(reservationToWire) };
    },
  );

  registerRelayRoute(plain, core, callerOf, opts.relay ?? (() => undefined));
  if (opts.etsi020)
    await plain.register(etsi020Routes, { prefix: '/kmapi', endpoint: opts.etsi020, callerOf });
  if (opts.etsi004) registerEtsi004Routes(plain, opts.etsi004, callerOf);

  const openapi = buildOpenApi(core.id, limits, { bodyLimit, metricsToken: token !== undefined });
  const bare = { exposeHeadRoute: false, schema: { querystring: noQuery } };
  app.get('/openapi.json', { ...bare, config: { auth: 'known' } }, async () => openapi);
  app.get('/metrics', { ...bare, config: { auth: 'metrics' } }, async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
