/**
 * The ETSI GS QKD 015 RESTCONF endpoint of a KME/node as Fastify plugins: `/.well-known/host-meta`
 * (RFC 8040 §3.1, RFC 6415 XRD, plus the JRD form `host-meta.json`), `/restconf` and its data, and the
 * notification stream as server-sent events (RFC 8040 §6.3–6.4: `text/event-stream`, each event one
 * `ietf-restconf:notification` with `eventTime`). Answers come from ./etsi-gs-qkd-015-restconf.ts; the
 * data from ./etsi-gs-qkd-015.ts. Only a client certificate with the `sdn` role (./roles.ts) is admitted,
 * checked in `onRequest` before anything else; every refusal is an `ietf-restconf:errors` body (§7.1),
 * never a 5xx for bad input.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { linkNotifications, qkdNodeJson, SDN_NODE_MODULE, type SdnNodeState } from './etsi-gs-qkd-015.ts';
import {
  accepts,
  errorBody,
  getData,
  modulesState,
  negotiate,
  parseQuery,
  restconfState,
  STREAM_NAME,
  YANG_JSON,
  YANG_LIBRARY_VERSION,
  type RestconfError,
} from './etsi-gs-qkd-015-restconf.ts';
import type { Caller } from './identity.ts';

/** Options of the 015 endpoint. */
export interface RestconfNodeOptions {
  /** The node's 015 state now. */
  readonly state: () => SdnNodeState;
  /** The caller a verified client certificate proves (./identity.ts). */
  readonly identify: (cert: PeerCertificate | undefined, authorized: boolean) => Caller | null;
  /** Replaces certificate identification — ONLY for `inject()` tests. */
  readonly callerOfRequest?: (req: FastifyRequest) => Caller | null;
  /** Wall clock for `eventTime` (default Date.now). */
  readonly now?: () => number;
}

/** A node's 015 endpoint. */
export interface RestconfNode {
  /** Registers the routes on a KME's Fastify instance. */
  register(app: FastifyInstance): Promise<void>;
  /** Compares the state with the last one seen and sends the notifications it raises; returns their number. */
  refresh(): number;
  /** Open notification streams. */
  subscribers(): number;
  /** Ends every open stream. */
  close(): void;
}

const MODULES_STATE = modulesState();
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const ALLOW = 'GET, HEAD, OPTIONS';
const STREAM_PATH = `/restconf/streams/${STREAM_NAME}/json`;
const KNOWN =
  /^\/(?:restconf(?:\/(?:data(?:\/.*)?|operations|yang-library-version|streams\/NETCONF\/json)?)?\/?|\.well-known\/host-meta(?:\.json)?)$/;

class Refusal extends Error {
  readonly e: RestconfError;
  constructor(e: RestconfError) {
    super(e.message);
    this.e = e;
  }
}
const refuse = (status: number, tag: string, message: string) =>
  new Refusal({ status, type: 'protocol', tag, message });

function sendError(reply: FastifyReply, e: RestconfError): void {
  if (e.status === 405) void reply.header('allow', ALLOW);
  void reply
    .code(e.status)
    .type(YANG_JSON)
    .send(JSON.stringify(errorBody(e)));
}

/**
 * For Fastify's `frameworkErrors`: answers a request the router refused before any route ran (a path
 * with bad percent-encoding, FST_ERR_BAD_URL) with a RESTCONF error when it addressed `/restconf` or
 * `/.well-known`; returns false for other paths (the caller answers those in its own shape).
 */
export function restconfFrameworkError(err: Error, req: FastifyRequest, reply: FastifyReply): boolean {
  const url = req.raw.url ?? '';
  if (!url.startsWith('/restconf') && !url.startsWith('/.well-known')) return false;
  sendError(reply, {
    status: 400,
    type: 'protocol',
    tag: 'malformed-message',
    message: err.message.slice(0, 200),
  });
  return true;
}

/** Builds the 015 endpoint of one node. */
export function createRestconfNode(opts: RestconfNodeOptions): RestconfNode {
  const now = opts.now ?? Date.now;
  const streams = new Set<ServerResponse>();
  let last: SdnNodeState | undefined;

  const identify = (req: FastifyRequest): Caller | null => {
    if (opts.callerOfRequest) return opts.callerOfRequest(req);
    const sock = req.raw.socket as TLSSocket;
    const cert = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : undefined;
    return opts.identify(cert && Object.keys(cert).length > 0 ? cert : undefined, sock.authorized === true);
  };

  const common = (app: FastifyInstance) => {
    app.addHook('onRequest', async (req) => {
      const who = identify(req);
      if (who === null) throw refuse(401, 'access-denied', 'the client certificate names no known principal');
      if (who.kind !== 'sdn')
        throw refuse(
          403,
          'access-denied',
          'only an SDN controller certificate (role sdn) may read this node',
        );
      if (!READ_METHODS.has(req.method))
        throw refuse(
          405,
          'operation-not-supported',
          `${req.method} is not supported: the 015 data are read-only`,
        );
    });
    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
      if (err instanceof Refusal) return sendError(reply, err.e);
      const status = err.statusCode ?? 500;
      if (status >= 400 && status < 500)
        return sendError(reply, {
          status,
          type: 'protocol',
          tag: status === 413 ? 'too-big' : 'malformed-message',
          message: err.message.slice(0, 200),
        });
      req.log.error({ err: { message: err.message } }, 'restconf: unexpected failure');
      sendError(reply, {
        status: 500,
        type: 'application',
        tag: 'operation-failed',
        message: 'internal error',
      });
    });
    app.setNotFoundHandler((req, reply) => {
      const path = (req.raw.url ?? '/').split('?')[0]!;
      if (KNOWN.test(path))
        return sendError(reply, {
          status: 405,
          type: 'protocol',
          tag: 'operation-not-supported',
          message: `${req.method.slice(0, 20)} is not supported here`,
        });
      sendError(reply, { status: 404, type: 'protocol', tag: 'invalid-value', message: 'no such resource' });
    });
  };

  const data = (host: string) => ({
    [`${SDN_NODE_MODULE}:qkd_node`]: qkdNodeJson(opts.state()),
    'ietf-yang-library:modules-state': MODULES_STATE,
    'ietf-restconf-monitoring:restconf-state': restconfState(`https://${host}${STREAM_PATH}`),
  });
  const hostOf = (req: FastifyRequest) => {
    const h = req.headers.host;
    return typeof h === 'string' && /^[A-Za-z0-9.:[\]-]{1,260}$/.test(h) ? h : 'localhost';
  };

  /** Answers a GET/HEAD/OPTIONS of a fixed resource or the data tree. */
  const answer = (req: FastifyRequest, reply: FastifyReply, resource: 'root' | 'data' | 'ops' | 'ylv') => {
    if (req.method === 'OPTIONS') return reply.code(200).header('allow', ALLOW).send();
    const form = negotiate(req.headers.accept);
    if (!form) throw refuse(406, 'invalid-value', `Accept must allow ${YANG_JSON} or application/json`);
    const [path, query = ''] = (req.raw.url ?? '').split(/\?(.*)/s) as [string, string?];
    if (resource !== 'data') {
      const q = parseQuery(query, []);
      if ('ok' in q) throw new Refusal(q.error);
    }
    const strict = form === 'strict';
    const name = (n: string) => (strict ? n : n.split(':')[1]!);
    const send = (body: unknown) =>
      reply
        .code(200)
        .type(strict ? YANG_JSON : 'application/json')
        .send(JSON.stringify(body));
    if (resource === 'root')
      return send({
        [name('ietf-restconf:restconf')]: {
          data: {},
          operations: {},
          'yang-library-version': YANG_LIBRARY_VERSION,
        },
      });
    if (resource === 'ops') return send({ [name('ietf-restconf:operations')]: {} });
    if (resource === 'ylv')
      return send({ [name('ietf-restconf:yang-library-version')]: YANG_LIBRARY_VERSION });
    const a = getData(path.replace(/^\/restconf\/data/, ''), query, form, data(hostOf(req)));
    if (!a.ok) throw new Refusal(a.error);
    return reply.code(200).type(a.type).send(JSON.stringify(a.body));
  };

  const openStream = (req: FastifyRequest, reply: FastifyReply) => {
    if (req.method === 'OPTIONS') return reply.code(200).header('allow', ALLOW).send();
    if (!accepts(req.headers.accept, 'text/event-stream'))
      throw refuse(406, 'invalid-value', 'the stream is served as text/event-stream only');
    const q = parseQuery((req.raw.url ?? '').split(/\?(.*)/s)[1] ?? '', []);
    if ('ok' in q) throw new Refusal(q.error);
    if (req.method === 'HEAD') return reply.code(200).type('text/event-stream').send();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': etsi-qkd-sdn-node notifications\n\n');
    streams.add(res);
    last ??= opts.state();
    res.on('close', () => streams.delete(res));
  };

  const methods = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
  const route = (app: FastifyInstance, url: string, h: (r: FastifyRequest, p: FastifyReply) => unknown) =>
    app.route({ method: [...methods], url, handler: async (r, p) => h(r, p) });

  return {
    async register(app) {
      await app.register(
        async (rc) => {
          common(rc);
          route(rc, '/', (r, p) => answer(r, p, 'root'));
          route(rc, '/data', (r, p) => answer(r, p, 'data'));
          route(rc, '/data/*', (r, p) => answer(r, p, 'data'));
          route(rc, '/operations', (r, p) => answer(r, p, 'ops'));
          route(rc, '/yang-library-version', (r, p) => answer(r, p, 'ylv'));
          route(rc, `/streams/${STREAM_NAME}/json`, openStream);
        },
        { prefix: '/restconf' },
      );
      await app.register(
        async (wk) => {
          common(wk);
          route(wk, '/host-meta', (r, p) => {
            if (r.method === 'OPTIONS') return p.code(200).header('allow', ALLOW).send();
            if (!accepts(r.headers.accept, 'application/xrd+xml'))
              throw refuse(406, 'invalid-value', 'host-meta is served as application/xrd+xml');
            return p
              .code(200)
              .type('application/xrd+xml')
              .send(
                "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n  <Link rel='restconf' href='/restconf'/>\n</XRD>\n",
              );
          });
          route(wk, '/host-meta.json', (r, p) => {
            if (r.method === 'OPTIONS') return p.code(200).header('allow', ALLOW).send();
            if (!accepts(r.headers.accept, 'application/json'))
              throw refuse(406, 'invalid-value', 'host-meta.json is served as application/json');
            return p
              .code(200)
              .type('application/json')
              .send(JSON.stringify({ links: [{ rel: 'restconf', href: '/restconf' }] }));
          });
        },
        { prefix: '/.well-known' },
      );
    },
    refresh() {
      const next = opts.state();
      const prev = last;
      last = next;
      if (!prev || streams.size === 0) return 0;
      const ns = linkNotifications(prev, next);
      const eventTime = new Date(now()).toISOString();
      for (const n of ns) {
        const line = `data: ${JSON.stringify({ 'ietf-restconf:notification': { eventTime, [n.name]: n.content } })}\n\n`;
        for (const s of streams) s.write(line);
      }
      return ns.length;
    },
    subscribers: () => streams.size,
    close() {
      for (const s of streams) s.end();
      streams.clear();
    },
  };
}
