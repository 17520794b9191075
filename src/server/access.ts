/**
 * Access control of the dashboard and live API (docs/dashboard.md "Security"). One `onRequest` hook, in
 * this order, on every route:
 * 1. Host must be one the server was started for (else 421): defeats DNS rebinding.
 * 2. Caller: a bearer token (`Authorization: Bearer`), a session cookie, a client certificate whose role
 *    (src/kms/roles.ts) is operator/viewer/metrics, or — only when no authentication is configured on a
 *    loopback bind — the local operator. A wrong bearer token is refused at once (403).
 * 3. Route class: public (page, assets, /healthz, session and login), read (viewer or operator), metrics
 *    (also the metrics role), control (operator). A read without a caller is 401; a control, 403.
 * 4. Every state-changing request (any method but GET/HEAD) must come from a served Origin (or Referer) —
 *    and, unless it carries a bearer token (a custom header, so a cross-origin page would need a CORS
 *    preflight that this server never grants), the session's anti-CSRF token in `X-CSRF-Token`.
 * No CORS header is ever sent; every answer forbids framing (clickjacking) and MIME sniffing.
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { normSerial, roleOfCertificate } from '../kms/index.ts';
import { QkdnetError } from '../common/index.ts';
import {
  defaultPort,
  hostAllowed,
  originAllowed,
  parseHostHeader,
  requestOrigin,
  type HostEntry,
} from './hosts.ts';
import {
  constantTimeEqual,
  LoginLimiter,
  matchToken,
  SessionStore,
  type AccessRole,
  type Principal,
  type Session,
  type TokenEntry,
} from './sessions.ts';

/** How the server decides who may do what. */
export interface AccessConfig {
  /** Hosts the server answers to (hosts.ts `hostsFor`). */
  readonly hosts: readonly HostEntry[];
  /** Extra origins accepted on state-changing requests (a reverse proxy's public origin). */
  readonly origins?: readonly string[];
  /** Served over TLS: Secure cookies, https origins. */
  readonly secure: boolean;
  /** Tokens for login and `Authorization: Bearer` (operator, viewer and metrics roles). */
  readonly tokens?: readonly TokenEntry[];
  /** Accept client certificates (the TLS server verifies them against its CA). */
  readonly clientCertificates?: boolean;
  /**
   * Revocation check of a client certificate's serial (src/kms/crl.ts `revocationCheck`: listed in the
   * CRL, or the CRL lapsed under policy `refuse`); a refused certificate logs no one in.
   */
  readonly revoked?: (serial: string) => boolean;
  /**
   * Require a caller on reads and controls. False (loopback without configured credentials): any
   * caller is the local operator, still bound by Host, Origin and the anti-CSRF token.
   */
  readonly requireAuth: boolean;
  /** Session lifetime in seconds (default 12 h). */
  readonly sessionTtlS?: number;
}

/** What a route needs. */
export type RouteClass = 'public' | 'read' | 'metrics' | 'control';

/** What the dashboard's routes declare in Fastify's `config`. */
export interface DashboardRouteConfig {
  /** The access class of the route (default: `read` for GET under /api/, `control` for other methods there, else `public`). */
  readonly access?: RouteClass;
  /** The audit action of a control route (access-routes.ts records it). */
  readonly control?: string;
}

/** The dashboard part of a request's route config. */
export const routeConfig = (request: FastifyRequest): DashboardRouteConfig =>
  (request.routeOptions.config ?? {}) as DashboardRouteConfig;

/** Cookie that carries the session id. */
export const SESSION_COOKIE = 'qkdnet_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, when there is one. */
    principal?: Principal;
    /** The caller's session, when it presented a live session cookie. */
    session?: Session;
  }
}

const READ_ROLES: readonly AccessRole[] = ['operator', 'viewer'];
const ALLOWED: Readonly<Record<RouteClass, readonly AccessRole[]>> = {
  public: ['operator', 'viewer', 'metrics'],
  read: READ_ROLES,
  metrics: ['operator', 'viewer', 'metrics'],
  control: ['operator'],
};

const forbidden = (message: string) => new QkdnetError('DASHBOARD_FORBIDDEN', message);

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The route class of a request. */
export function routeClass(request: FastifyRequest): RouteClass {
  const declared = routeConfig(request).access;
  if (declared) return declared;
  const path = request.url.split('?')[0] ?? '';
  if (path === '/metrics') return 'metrics';
  if (path.startsWith('/api/'))
    return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'control';
  return 'public';
}

/** The access-control state of one server: sessions, login limiter and the checks. */
export class AccessControl {
  readonly config: AccessConfig;
  readonly sessions: SessionStore;
  readonly limiter = new LoginLimiter();

  constructor(config: AccessConfig) {
    this.config = config;
    this.sessions = new SessionStore(config.sessionTtlS === undefined ? {} : { ttlS: config.sessionTtlS });
  }

  /** Methods a caller can use to authenticate (shown by the login page). */
  methods(): string[] {
    return [
      ...(this.config.tokens?.some((t) => t.role !== 'metrics') ? ['token'] : []),
      ...(this.config.clientCertificates ? ['certificate'] : []),
    ];
  }

  /** Throws 421 unless the Host header names a host this server answers to. */
  checkHost(request: FastifyRequest): void {
    const raw = request.headers.host;
    const parsed = raw === undefined ? null : parseHostHeader(raw);
    const local = request.raw.socket?.localPort;
    if (
      !parsed ||
      !hostAllowed(
        this.config.hosts,
        parsed.hostname,
        parsed.port ?? defaultPort(this.config.secure),
        typeof local === 'number' ? local : undefined,
      )
    )
      throw new QkdnetError(
        'DASHBOARD_MISDIRECTED',
        `Host "${raw ?? ''}" is not a host this dashboard serves (start it with --allowed-host to add one)`,
      );
  }

  /** Who is calling; throws 403 for a wrong bearer token. */
  identify(request: FastifyRequest): { principal?: Principal; session?: Session; bearer: boolean } {
    const auth = request.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      const entry = m ? matchToken(this.config.tokens ?? [], m[1]!) : undefined;
      if (!entry) throw forbidden('The bearer token is not valid for this dashboard');
      return { principal: { name: entry.name, role: entry.role, via: 'token' }, bearer: true };
    }
    const session = this.sessions.get(cookieValue(request.headers.cookie, SESSION_COOKIE));
    if (session) return { principal: session.principal, session, bearer: false };
    const cert = this.certificatePrincipal(request);
    if (cert) return { principal: cert, bearer: false };
    if (!this.config.requireAuth)
      return { principal: { name: 'local', role: 'operator', via: 'loopback' }, bearer: false };
    return { bearer: false };
  }

  /** The principal of a verified client certificate with a dashboard role. */
  certificatePrincipal(request: FastifyRequest): Principal | undefined {
    if (!this.config.clientCertificates) return undefined;
    const socket = request.raw.socket as TLSSocket;
    if (!socket.encrypted || !socket.authorized) return undefined;
    const cert = socket.getPeerCertificate();
    if (this.config.revoked?.(normSerial(cert.serialNumber ?? ''))) return undefined;
    const role = roleOfCertificate(cert);
    if (role !== 'operator' && role !== 'viewer' && role !== 'metrics') return undefined;
    const cn = cert.subject?.CN;
    return { name: Array.isArray(cn) ? cn.join(',') : (cn ?? role), role, via: 'certificate' };
  }

  /** The whole check of one request (file header); sets `request.principal`/`session`. */
  check(request: FastifyRequest): void {
    this.checkHost(request);
    const { principal, session, bearer } = this.identify(request);
    if (principal) request.principal = principal;
    if (session) request.session = session;
    const cls = routeClass(request);
    const changing = request.method !== 'GET' && request.method !== 'HEAD';
    if (changing) {
      const origin = requestOrigin(request.headers);
      const local = request.raw.socket?.localPort;
      if (
        !origin ||
        !originAllowed(origin, {
          secure: this.config.secure,
          hosts: this.config.hosts,
          origins: this.config.origins ?? [],
          localPort: typeof local === 'number' ? local : undefined,
        })
      )
        throw forbidden(
          `${request.method} refused: it must come from this dashboard's own page (Origin ${origin?.origin ?? 'missing'})`,
        );
    }
    if (cls === 'public') return;
    if (!principal) {
      if (cls === 'control') throw forbidden('Controls need an operator login, bearer token or certificate');
      throw new QkdnetError('DASHBOARD_UNAUTHENTICATED', 'Log in (token or client certificate) first');
    }
    if (!ALLOWED[cls].includes(principal.role))
      throw forbidden(
        `The ${principal.role} role may not ${cls === 'control' ? 'use the controls' : 'read this'}`,
      );
    if (changing && !bearer) {
      const presented = request.headers['x-csrf-token'];
      if (!session || typeof presented !== 'string' || !constantTimeEqual(session.csrf, presented))
        throw forbidden(
          'Missing or wrong anti-CSRF token: send X-CSRF-Token from GET /api/session with the session cookie',
        );
    }
  }

  /** Set-Cookie value opening `session`. */
  cookie(session: Session): string {
    return `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${this.sessions.ttlS}${this.config.secure ? '; Secure' : ''}`;
  }

  /** Set-Cookie value clearing the session. */
  clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${this.config.secure ? '; Secure' : ''}`;
  }
}

/** Installs the hook and the security headers on `app`. */
export function registerAccess(app: FastifyInstance, access: AccessControl): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "frame-ancestors 'none'");
    reply.header('referrer-policy', 'same-origin');
    if (access.config.secure) reply.header('strict-transport-security', 'max-age=31536000');
    access.check(request);
  });
}
