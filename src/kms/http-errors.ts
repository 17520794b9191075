/**
 * Every answer the KME gives outside a 200 is ETSI GS QKD 014's Error object (§6.5, `{"message": …}`):
 * the spec's statuses (400 "Bad request format", 401 "Unauthorized", 503 "Error of server side", with
 * the spec's status wording leading each message), plus 404 for an unknown path, 405 (with `Allow`) for a
 * known path under another method, 413 for a body over the limit and 431 for oversize headers (RFC 9110
 * §15.5.6, §15.5.14; RFC 6585 §5) — also in the Error shape. Bad input never yields a 5xx; an unexpected
 * failure is a 500 "Internal error" logged without request data.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { QkdnetError } from '../common/index.ts';

/** The wording ETSI GS QKD 014 gives each status it uses, and the HTTP reason phrase for the others. */
export const STATUS_WORDING: Readonly<Record<number, string>> = {
  400: 'Bad request format',
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  413: 'Content too large',
  431: 'Request header fields too large',
  500: 'Internal error',
  503: 'Error of server side',
};

/** `message` led by the status wording (unless it already is). */
export function specMessage(status: number, detail: string): string {
  const w = STATUS_WORDING[status];
  if (!w || detail.startsWith(w)) return detail;
  return `${w}: ${detail}`;
}

/** The Error object for `status`. */
export function specError(status: number, detail: string): { message: string } {
  return { message: specMessage(status, detail) };
}

type FastifyError = Error & { statusCode?: number; validation?: unknown; code?: string };

/** Installs the error handler, 404/405 handler and JSON body parser on the plugin's context. */
export function installSpecErrors(app: FastifyInstance, bodyLimit: number): void {
  const routes: { re: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (r) => {
    const re = new RegExp(
      `^${r.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]+')}$`,
    );
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const known = routes.find((x) => x.re.source === re.source);
    if (known) for (const m of methods) known.methods.add(m);
    else routes.push({ re, methods: new Set(methods) });
  });

  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_req, text, done) => {
    const s = String(text);
    if (s.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(s));
    } catch {
      done(new QkdnetError('KMS_BAD_REQUEST', 'The request body is not valid JSON'), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    let status: number;
    let detail: string;
    if (err instanceof QkdnetError) {
      status = err.status;
      detail = err.message;
    } else if (err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      detail = `the request body exceeds ${bodyLimit} bytes`;
    } else if (
      err.validation ||
      (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
    ) {
      status = err.statusCode === 404 ? 404 : 400;
      detail = err.message.slice(0, 300);
    } else {
      status = 500;
      detail = 'Internal error';
      req.log.error({ err: { message: err.message, stack: err.stack } }, 'unexpected failure');
    }
    void reply.code(status).send(specError(status, detail));
  });

  app.setNotFoundHandler((req: FastifyRequest, reply) => {
    const path = req.url.split('?')[0]!;
    const known = routes.find((r) => r.re.test(path));
    if (known) {
      const allow = [...known.methods].sort().join(', ');
      void reply
        .code(405)
        .header('allow', allow)
        .send(specError(405, `${req.method} is not allowed here; use ${allow}`));
      return;
    }
    void reply.code(404).send(specError(404, `No route ${req.method} ${path.slice(0, 200)}`));
  });
}

/**
 * Fastify's `clientErrorHandler`: answers a request the HTTP parser refused (oversize headers → 431,
 * anything else → 400) with the Error object, then closes the connection.
 */
export function specClientError(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return void socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify(
    specError(status, status === 431 ? 'the request headers are too large' : 'the request is malformed'),
  );
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_WORDING[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
