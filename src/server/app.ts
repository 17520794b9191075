/**
 * The Fastify application of `qkdnet up`: the dashboard (static web/dist), its JSON API, live updates
 * over SSE and Prometheus `/metrics`, all over one `LiveNetwork`. Errors leave as
 * `{ code, message }` with the catalogue's HTTP status (docs/errors.md); a schema failure is
 * `DASHBOARD_BAD_CONTROL` (400). Nothing here touches key material: the state carries only metadata.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { isQkdnetError } from '../common/index.ts';
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
}

/** Builds (does not start) the server; call `.listen({ host, port })` or use `.inject()` in tests. */
export function buildServer(live: LiveNetwork, opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false, forceCloseConnections: true });
  app.setErrorHandler((error, _request, reply) => {
    if (isQkdnetError(error))
      return reply.code(error.status).send({ code: error.code, message: error.message });
    const e = error as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation !== undefined || e.statusCode === 400)
      return reply.code(400).send({ code: 'DASHBOARD_BAD_CONTROL', message: e.message });
    if (e.statusCode === 415 || e.statusCode === 413)
      return reply.code(e.statusCode).send({ code: 'DASHBOARD_BAD_CONTROL', message: e.message });
    reply.log.error(error);
    return reply.code(500).send({ code: 'INTERNAL', message: 'Internal error; see the server log.' });
  });
  const metrics = buildMetrics(live, opts.registries);
  app.addHook('onClose', async () => metrics.stop());
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
  app.get('/healthz', async () => ({ ok: true, timeS: live.state().timeS }));
  registerApi(app, live);
  registerSse(app, live, opts.stateIntervalMs === undefined ? {} : { stateIntervalMs: opts.stateIntervalMs });
  registerStatic(app, opts.webRoot ?? 'web/dist');
  return app;
}
