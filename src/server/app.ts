/**
 * The Fastify application of `qkdnet up`: the dashboard (static web/dist), its JSON API, live updates
 * over SSE and Prometheus `/metrics`, all over one `LiveNetwork`, behind access control (access.ts:
 * Host, Origin, anti-CSRF token, roles) with an audit trail of every control (audit.ts). Over HTTPS
 * when `https` is given. Errors leave as `{ code, message }` with the catalogue's HTTP status
 * (docs/errors.md); a schema failure is `DASHBOARD_BAD_CONTROL` (400). Nothing here touches key
 * material: the state carries only metadata.
 */
import type { ServerOptions as HttpsOptions } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from '../common/index.ts';
import { isQkdnetError } from '../common/index.ts';
import { AccessControl, registerAccess, type AccessConfig } from './access.ts';
import { registerAccessRoutes } from './access-routes.ts';
import { AuditLog } from './audit.ts';
import { hostsFor } from './hosts.ts';
import { buildMetrics } from './metrics.ts';
import { registerApi } from './routes.ts';
import { registerSse } from './sse.ts';
import { registerStatic } from './static.ts';
import type { LiveNetwork } from './types.ts';

/** Options of `buildServer`. */
export interface ServerOptions {
  /** Directory of the built dashboard (default `web/dist`). */
  readonly webRoot?: string;
  /** Extra prom-client registries served on `/metrics` (e.g. the detection engine's). */
  readonly registries?: readonly Registry[];
  /** Real milliseconds between full `state` frames on SSE (default 1000). */
  readonly stateIntervalMs?: number;
  /** Fastify logger option (default off; `qkdnet up` passes a pino config). */
  readonly logger?: boolean | object;
  /**
   * Who may do what (access.ts). Default: a loopback server without credentials — Host limited to
   * localhost/127.0.0.1/[::1], state changes only from the page's own origin with its anti-CSRF token.
   */
  readonly access?: AccessConfig;
  /** The audit trail (default: a new one); pass it to attach SIEM sinks. */
  readonly audit?: AuditLog;
  /** TLS key, certificate and client-certificate settings: serve HTTPS (dashboard-tls.ts). */
  readonly https?: HttpsOptions;
  /** Proxies whose X-Forwarded-For is believed (Fastify `trustProxy`: addresses or CIDRs). */
  readonly trustProxy?: string | readonly string[];
}

/** The loopback default of `ServerOptions.access`. */
export const LOOPBACK_ACCESS: AccessConfig = {
  hosts: hostsFor('127.0.0.1'),
  secure: false,
  requireAuth: false,
};

/** Builds (does not start) the server; call `.listen({ host, port })` or use `.inject()` in tests. */
export function buildServer(live: LiveNetwork, opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: opts.logger ?? false,
    forceCloseConnections: true,
    ...(opts.https ? { https: opts.https } : {}),
    ...(opts.trustProxy === undefined
      ? {}
      : { trustProxy: typeof opts.trustProxy === 'string' ? opts.trustProxy : [...opts.trustProxy] }),
  }) as unknown as FastifyInstance;
  const access = new AccessControl(opts.access ?? LOOPBACK_ACCESS);
  const audit = opts.audit ?? new AuditLog();
  app.setErrorHandler((error, request, reply) => {
    if (isQkdnetError(error)) {
      request.auditReason = error.code;
      return reply.code(error.status).send({ code: error.code, message: error.message });
    }
    const e = error as { validation?: unknown; statusCode?: number; message: string };
    request.auditReason = 'DASHBOARD_BAD_CONTROL';
    if (e.validation !== undefined || e.statusCode === 400)
      return reply.code(400).send({ code: 'DASHBOARD_BAD_CONTROL', message: e.message });
    if (e.statusCode === 415 || e.statusCode === 413)
      return reply.code(e.statusCode).send({ code: 'DASHBOARD_BAD_CONTROL', message: e.message });
    request.auditReason = 'INTERNAL';
    reply.log.error(error);
    return reply.code(500).send({ code: 'INTERNAL', message: 'Internal error; see the server log.' });
  });
  registerAccess(app, access);
  registerAccessRoutes(app, live, access, audit);
  const metrics = buildMetrics(live, opts.registries);
  app.addHook('onClose', async () => metrics.stop());
  app.get('/metrics', { config: { access: 'metrics' } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
  app.get('/healthz', { config: { access: 'public' } }, async () => ({
    ok: true,
    timeS: live.state().timeS,
  }));
  registerApi(app, live);
  registerSse(app, live, {
    audit,
    ...(opts.stateIntervalMs === undefined ? {} : { stateIntervalMs: opts.stateIntervalMs }),
  });
  registerStatic(app, opts.webRoot ?? 'web/dist');
  return app;
}
