/**
 * qkdnet's HTTPS + JSON binding of ETSI GS QKD 004 V2.1.1 (clause 6.1 calls; the spec leaves the
 * transport open, Annex C), registered inside the KME's ETSI 014 plugin so it shares its hardening: the
 * caller is the SAE its mutual-TLS client certificate proves (./identity.ts), authorised in `onRequest`
 * before the body is read; bodies are validated strictly (./wire-validation.ts); bad requests get 400,
 * 401, 404, 405 or 413 with the Error object of ./http-errors.ts. A well-formed, authorised call always
 * answers 200 with the 004 `status` in the body (as ETSI's reference and QUBIP carry it in the payload),
 * so no outcome of the key manager is ever a 5xx.
 *
 * | route                                   | caller   | call                 |
 * |-----------------------------------------|----------|----------------------|
 * | `POST /api/v1/etsi004/open-connect`     | SAE      | OPEN_CONNECT         |
 * | `POST /api/v1/etsi004/get-key`          | SAE      | GET_KEY              |
 * | `POST /api/v1/etsi004/close`            | SAE      | CLOSE                |
 * | `POST /api/v1/kme/{kme}/etsi004`        | peer KME | stream coordination  |
 * | `POST /api/v1/qkd/etsi004/key-material` | device   | AIT push profile     |
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TSchema, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { QkdnetError } from '../common/index.ts';
import type { CallerIdentity } from './plugin.ts';
import * as S from './schema.ts';
import * as W from './etsi-gs-qkd-004-schema.ts';
import type { Etsi004Service } from './etsi-gs-qkd-004-service.ts';

/** Registers the 004 routes on the 014 plugin's context. */
export function registerEtsi004Routes(
  plain: FastifyInstance,
  service: Etsi004Service,
  callerOf: (req: FastifyRequest) => CallerIdentity,
): void {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const errors = { 400: S.ErrorSchema, 401: S.ErrorSchema, 503: S.ErrorSchema };
  const sae = (req: FastifyRequest) => {
    const who = callerOf(req);
    if (who?.kind !== 'sae') throw new QkdnetError('KMS_UNAUTHORIZED', 'The caller is not an SAE');
    return who.id;
  };
  const asSae = { auth: 'sae' as const };
  const noQuery = S.NoQuerySchema;

  /** Route options of an SAE's call (clause 6.1): SAE callers, no query, a strict body, its answer. */
  const saeCall = <B extends TSchema, A extends TSchema>(body: B, answer: A) => ({
    config: asSae,
    schema: { querystring: noQuery, body, response: { 200: answer, ...errors } },
  });

  app.post(
    '/api/v1/etsi004/open-connect',
    saeCall(W.OpenConnectSchema, W.OpenConnectAnswerSchema),
    async (req) => service.openConnect(sae(req), req.body),
  );
  app.post('/api/v1/etsi004/get-key', saeCall(W.GetKeySchema, W.GetKeyAnswerSchema), async (req) =>
    service.getKey(sae(req), req.body),
  );
  app.post('/api/v1/etsi004/close', saeCall(W.CloseSchema, W.StatusAnswerSchema), async (req) =>
    service.close(sae(req), req.body.key_stream_id),
  );

  // AIT push profile (./etsi-gs-qkd-004-push.ts): 201 as its kms server yaml answers.
  app.post(
    '/api/v1/qkd/etsi004/key-material',
    {
      config: { auth: 'device' as const },
      schema: {
        querystring: noQuery,
        body: W.KeyMaterialSchema,
        response: { 201: W.KeyMaterialAnswerSchema, ...errors },
      },
    },
    async (req, reply) => {
      const who = callerOf(req);
      if (who?.kind !== 'device') throw new QkdnetError('KMS_UNAUTHORIZED', 'The caller is not a QKD device');
      const r = service.push.keyMaterial(who.id, req.body);
      return reply.code(201).send(r);
    },
  );

  app.post(
    '/api/v1/kme/:sae/etsi004',
    {
      config: { auth: 'kme' as const }, // the peer KME named in the path (./plugin.ts onRequest)
      schema: {
        params: S.SaePathSchema,
        querystring: noQuery,
        body: W.PeerMessageSchema,
        response: { 200: W.PeerAnswerSchema, ...errors },
      },
    },
    async (req) => {
      const who = callerOf(req);
      if (who?.kind !== 'kme' || who.id !== req.params.sae)
        throw new QkdnetError('KMS_UNAUTHORIZED', 'Only the named peer KME may coordinate key streams');
      return service.fromPeer(who.id, req.body);
    },
  );
}
