/**
 * The routes of access control and the audit trail: `GET /api/session` (who am I, my anti-CSRF token;
 * opens a session for a caller already known by certificate or loopback), `POST /api/login` (token →
 * session cookie), `POST /api/logout`, `GET /api/audit`, and the `onResponse` hook that records every
 * route declaring `config.control` (accepted, refused or failed) in the `AuditLog`.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { QkdnetError } from '../common/index.ts';
import { routeConfig, type AccessControl } from './access.ts';
import type { AuditLog } from './audit.ts';
import { matchToken } from './sessions.ts';
import type { AuditRecord, LiveNetwork } from './types.ts';

const LoginBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);
const AuditQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) });

declare module 'fastify' {
  interface FastifyRequest {
    /** Error code of the answer, set by the error handler, for the audit trail. */
    auditReason?: string;
  }
}

function outcome(status: number): AuditRecord['outcome'] {
  if (status < 400) return 'accepted';
  return [401, 403, 421, 429].includes(status) ? 'refused' : 'failed';
}

function detailOf(request: FastifyRequest): string | null {
  const b = request.body as { kind?: unknown; speed?: unknown } | undefined;
  if (b && typeof b === 'object') {
    if (typeof b.kind === 'string') return b.kind.slice(0, 64);
    if (typeof b.speed === 'number') return String(b.speed);
  }
  return null;
}

/** Registers the routes and the audit hook. */
export function registerAccessRoutes(
  plain: FastifyInstance,
  live: LiveNetwork,
  access: AccessControl,
  audit: AuditLog,
): void {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onResponse', async (request, reply) => {
    const action = routeConfig(request).control;
    if (!action) return;
    const p = request.principal;
    const id = (request.params as { id?: unknown } | undefined)?.id;
    audit.record({
      timeS: live.state().timeS,
      actor: p?.name ?? 'anonymous',
      role: p?.role ?? null,
      via: p?.via ?? 'none',
      action,
      target: typeof id === 'string' ? id.slice(0, 128) : null,
      detail: reply.statusCode < 400 ? detailOf(request) : null,
      from: request.ip,
      outcome: outcome(reply.statusCode),
      status: reply.statusCode,
      reason: reply.statusCode < 400 ? null : (request.auditReason ?? null),
    });
  });

  app.get('/api/session', { config: { access: 'public' } }, async (request, reply) => {
    let session = request.session;
    if (!session && request.principal && request.principal.role !== 'metrics') {
      session = access.sessions.create(request.principal);
      reply.header('set-cookie', access.cookie(session));
    }
    return {
      authenticated: session !== undefined,
      methods: access.methods(),
      ...(session
        ? {
            name: session.principal.name,
            role: session.principal.role,
            via: session.principal.via,
            csrf: session.csrf,
          }
        : {}),
    };
  });

  app.post(
    '/api/login',
    { config: { access: 'public', control: 'login' }, schema: { body: LoginBody } },
    async (request, reply) => {
      if (access.limiter.blocked(request.ip))
        throw new QkdnetError(
          'DASHBOARD_LOGIN_THROTTLED',
          'Too many failed logins from this address; wait a minute',
        );
      const entry = matchToken(
        (access.config.tokens ?? []).filter((t) => t.role !== 'metrics'),
        request.body.token,
      );
      if (!entry) {
        access.limiter.fail(request.ip);
        delete request.principal;
        throw new QkdnetError('DASHBOARD_FORBIDDEN', 'That token is not valid for this dashboard');
      }
      if (request.session) access.sessions.delete(request.session.id);
      const principal = { name: entry.name, role: entry.role, via: 'token' as const };
      request.principal = principal;
      const session = access.sessions.create(principal);
      reply.header('set-cookie', access.cookie(session));
      return { authenticated: true, methods: access.methods(), ...principal, csrf: session.csrf };
    },
  );

  app.post('/api/logout', { config: { access: 'public', control: 'logout' } }, async (request, reply) => {
    if (request.session) access.sessions.delete(request.session.id);
    reply.header('set-cookie', access.clearCookie());
    return { authenticated: false };
  });

  app.get('/api/audit', { schema: { querystring: AuditQuery } }, async (request) => ({
    records: audit.list(request.query.limit),
  }));
}
