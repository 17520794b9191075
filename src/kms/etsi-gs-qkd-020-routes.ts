/**
 * The HTTP routes of ETSI GS QKD 020 V1.1.1 under `/kmapi` (registered by the 014 plugin, ./plugin.ts,
 * whose `onRequest` hook authorises every call from the TLS client certificate before the body is read):
 *
 * | route                          | who may call          | answers                                   |
 * |--------------------------------|-----------------------|-------------------------------------------|
 * | `GET /kmapi/versions`          | any known caller      | 200 `version_container`; 401              |
 * | `POST /kmapi/v1/ext_keys`      | a configured peer KME | 202 (async) / 200 `ack_containers` (sync); 400; 401; 503 |
 * | `POST /kmapi/v1/ext_keys/ack`  | a configured peer KME | 200 (empty); 400; 401                     |
 * | `POST /kmapi/v1/ext_keys/void` | a configured peer KME | 202 (async) / 200 `ack_containers` (sync); 400; 401 |
 *
 * Every answer other than 200/202 is an RFC 9457 problem details object (schema `problem_details`,
 * `application/json` as the specification's responses declare it), including the 401 of the
 * authorisation hook, a malformed or oversize body (400 — 020 lists no 413/415) and an unknown path or
 * method under /kmapi (404/405, type `about:blank`, RFC 9457 §4.2.1). The 408 of the specification is
 * the server's own request timeout and is not produced by these routes.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { QkdnetError } from '../common/index.ts';
import type { Etsi020Endpoint } from './etsi-gs-qkd-020-endpoint.ts';
import { ackContainers, Etsi020Problem, isHttpsUrl, problem, type Problem } from './etsi-gs-qkd-020.ts';
import * as S from './etsi-gs-qkd-020-schema.ts';
import type { CallerIdentity } from './plugin.ts';

/** Options of the routes. */
export interface Etsi020RoutesOptions {
  readonly endpoint: Etsi020Endpoint;
  readonly callerOf: (req: FastifyRequest) => CallerIdentity;
}

const ROUTES: Readonly<Record<string, string>> = {
  '/kmapi/versions': 'GET',
  '/kmapi/v1/ext_keys': 'POST',
  '/kmapi/v1/ext_keys/ack': 'POST',
  '/kmapi/v1/ext_keys/void': 'POST',
};

const PHRASE: Readonly<Record<number, string>> = { 404: 'Not Found', 405: 'Method Not Allowed' };

/** The problem a refused request of `path` gets for a malformed body (`text`: what was wrong). */
function formatProblem(path: string, text: string): Etsi020Problem {
  const t = text.slice(0, 300);
  if (path.endsWith('/ext_keys/ack')) return problem('ack-not-understood', 400, 'ack_not_understood', t);
  if (path.endsWith('/ext_keys/void'))
    return problem('void-request-not-understood', 400, 'key_voiding_error', t);
  if (/required property/i.test(t)) return problem('missing-parameters', 400, 'missing_parameters', t);
  return problem('invalid-parameter', 400, 'malformed_property', t);
}

/** Any error thrown while serving a 020 route, as problem details (unexpected ones: 503, logged). */
function toProblem(err: FastifyError | Error, req: FastifyRequest): Problem {
  if (err instanceof Etsi020Problem) return err.problem;
  const path = req.url.split('?')[0]!;
  if (err instanceof QkdnetError) {
    if (err.status === 401) return problem('unauthorized', 401, 'unauthorized', err.message).problem;
    if (err.status === 400) return formatProblem(path, err.message).problem;
  }
  const e = err as FastifyError;
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return problem('invalid-parameter', 400, 'request_too_large', 'The request body is too large.').problem;
  if (e.validation || (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500))
    return formatProblem(path, e.message).problem;
  req.log.error(
    { err: { message: err.message, stack: err.stack } },
    'unexpected failure in an ETSI 020 route',
  );
  return problem(
    'server-side-general-error',
    503,
    'server_side_general_error',
    'The server encountered a general failure and cannot respond.',
  ).problem;
}

function sendProblem(reply: FastifyReply, p: Problem, headers: Record<string, string> = {}): void {
  void reply
    .code(p.status)
    .headers({ 'content-type': 'application/json; charset=utf-8', ...headers })
    .send(JSON.stringify(p));
}

/** Registers the 020 routes (use with `prefix: '/kmapi'`). */
export async function etsi020Routes(app: FastifyInstance, opts: Etsi020RoutesOptions): Promise<void> {
  const { endpoint } = opts;
  const peer = (req: FastifyRequest): string => {
    const who = opts.callerOf(req);
    if (who?.kind !== 'kme')
      throw new QkdnetError('KMS_UNAUTHORIZED', 'Only a configured peer KME may call this route');
    return who.id;
  };
  app.setErrorHandler((err: FastifyError, req, reply) => sendProblem(reply, toProblem(err, req)));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const allow = ROUTES[path];
    const status = allow ? 405 : 404;
    sendProblem(
      reply,
      {
        type: 'about:blank',
        status,
        title: PHRASE[status]!,
        details: {
          [allow ? 'method_not_allowed' : 'not_found']: allow
            ? `use ${allow}`
            : `no route ${path.slice(0, 200)}`,
        },
      },
      allow ? { allow } : {},
    );
  });
  const asPeer = { auth: 'peer' } as const;
  const noQuery = S.NoQuery020Schema;

  app.get(
    '/versions',
    { config: { auth: 'known' }, exposeHeadRoute: false, schema: { querystring: noQuery } },
    async () => endpoint.versions(),
  );

  app.post<{ Body: S.ExtKeyContainerWire }>(
    '/v1/ext_keys',
    { config: asPeer, schema: { querystring: noQuery, body: S.ExtKeyContainerSchema } },
    async (req, reply) => {
      const from = peer(req);
      const batch = endpoint.receive(from, req.body);
      if (batch.callbackUrl === undefined) {
        const outcomes = await endpoint.deliver(batch);
        return ackContainers(outcomes, batch.initiator, batch.targets);
      }
      const url = batch.callbackUrl;
      // 202 now; the work and the acknowledgements follow (clause "Operation of the API", figure 3).
      reply.raw.once('finish', () => {
        void endpoint
          .deliver(batch)
          .then((o) =>
            o.length > 0 ? endpoint.acknowledge(from, url, batch.initiator, batch.targets, o) : false,
          );
      });
      return reply.code(202).send();
    },
  );

  app.post<{ Body: AckContainers }>(
    '/v1/ext_keys/ack',
    { config: asPeer, schema: { querystring: noQuery, body: S.AckContainersSchema } },
    async (req, reply) => {
      endpoint.book.ack(peer(req), req.body);
      return reply.code(200).send();
    },
  );

  app.post<{ Body: S.VoidContainerWire }>(
    '/v1/ext_keys/void',
    { config: asPeer, schema: { querystring: noQuery, body: S.VoidContainerSchema } },
    async (req, reply) => {
      const from = peer(req);
      const w = req.body;
      if (w.ack_callback_url !== undefined && !isHttpsUrl(w.ack_callback_url))
        throw problem(
          'void-request-not-understood',
          400,
          'key_voiding_error',
          'ack_callback_url is not a complete https:// URL',
        );
      const outcomes = endpoint.book.void(from, w); // takes effect at once; 400 before anything when refused
      if (w.ack_callback_url === undefined)
        return ackContainers(outcomes, w.initiator_sae_id, w.target_sae_ids);
      const url = w.ack_callback_url;
      reply.raw.once('finish', () => {
        if (outcomes.length > 0)
          void endpoint.acknowledge(from, url, w.initiator_sae_id, w.target_sae_ids, outcomes);
      });
      return reply.code(202).send();
    },
  );
}

type AckContainers = S.AckContainerWire[];
