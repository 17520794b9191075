/**
 * OpenAPI 3.1 document of one KME, served at `/openapi.json`, built from the very TypeBox schemas the
 * routes validate with (./schema.ts, instantiated with this KME's limits), so it states exactly what the
 * server accepts: sizes in min..max and a multiple of 8, at most `max_key_per_request` keys, at most
 * `max_SAE_ID_count` additional slaves, no unknown fields or query parameters, and every route with every
 * status it can answer. Paths, parameters and statuses follow ETSI GS QKD 014 V1.1.1 clause 5; the
 * KME-to-KME routes are qkdnet's own.
 */
import { PROVENANCE_ORDER } from '../common/index.ts';
import { RelayAnswerSchema, RelayRequestSchema } from './relay-route.ts';
import * as S from './schema.ts';

const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const err = (description: string) => ({ description, ...json({ $ref: '#/components/schemas/Error' }) });
const common = {
  '401': err(
    'Unauthorized: the client certificate is not a configured identity of the role this route needs',
  ),
  '404': err('Not found: no such path'),
  '405': err('Method not allowed (header Allow lists the methods of this path)'),
};
const withBody = {
  '400': err(
    'Bad request format: malformed, unknown field or query parameter, wrong JSON type, out of range',
  ),
  ...common,
  '413': err('Content too large'),
  '503': err('Error of server side: not enough key material, peer KME unreachable, store failure'),
};
const noBody = { '400': withBody['400'], ...common, '503': withBody['503'] };
const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: S.SaePathSchema.properties.sae,
});
const keys200 = { description: 'Key container', ...json({ $ref: '#/components/schemas/KeyContainer' }) };

/** Options of the document that are not key limits. */
export interface OpenApiOptions {
  /** Largest accepted request body, bytes. */
  readonly bodyLimit: number;
  /** True when a bearer token also admits `/metrics`. */
  readonly metricsToken: boolean;
}

/** The OpenAPI document of KME `kmeId` with limits `l`. */
export function buildOpenApi(kmeId: string, l: S.WireLimits, o: OpenApiOptions): Record<string, unknown> {
  const slave = pathParam('SAE_ID', 'URL-encoded SAE ID of the slave SAE');
  const master = pathParam('SAE_ID', 'URL-encoded SAE ID of the master SAE');
  const kme = pathParam('KME_ID', 'ID of the calling peer KME (must be the one its certificate proves)');
  const query = S.encKeysQuerySchema(l).properties;
  const body = (ref: string) => ({ required: false, ...json({ $ref: `#/components/schemas/${ref}` }) });
  const peerRoute = (summary: string, ref: unknown, answer: unknown) => ({
    post: {
      summary,
      security: [{ kmeCertificate: [] }],
      parameters: [kme],
      requestBody: { required: true, ...json(ref) },
      responses: { '200': { description: 'Applied', ...json(answer) }, ...withBody },
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: `qkdnet KME ${kmeId} — ETSI GS QKD 014 V1.1.1 key delivery API`,
      version: '1.1.1',
      description:
        'Mutual TLS 1.3: the caller is identified by its client certificate (qkdnet role EKU, subject CN, optional ' +
        'SPKI pin, CRL). Keys are base64; sizes in bits. Unknown JSON fields and query parameters are refused (400); ' +
        'JSON types are exact (no string numbers). key_extension carries qkdnet_provenance, qkdnet_path, ' +
        'qkdnet_exposed_to, qkdnet_block_IDs. Supported extension (mandatory or optional): ' +
        `{"qkdnet_min_provenance": ${PROVENANCE_ORDER.map((p) => `"${p}"`).join('|')}}; any other mandatory ` +
        `extension → 400. Bodies over ${o.bodyLimit} bytes → 413.`,
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        saeCertificate: { type: 'mutualTLS', description: 'certificate with the qkdnet sae role' },
        kmeCertificate: { type: 'mutualTLS', description: 'certificate with the qkdnet kme role' },
        metricsCertificate: { type: 'mutualTLS', description: 'certificate with the qkdnet metrics role' },
        ...(o.metricsToken ? { metricsToken: { type: 'http', scheme: 'bearer' } } : {}),
      },
      schemas: {
        Status: S.StatusSchema,
        KeyRequest: S.keyRequestSchema(l),
        KeyContainer: S.KeyContainerSchema,
        KeyIDs: S.keyIdsSchema(l),
        Error: S.ErrorSchema,
        Reservation: S.ReservationSchema,
        Lookup: S.LookupSchema,
        Relay: RelayRequestSchema,
      },
    },
    security: [{ saeCertificate: [] }],
    paths: {
      '/api/v1/keys/{SAE_ID}/status': {
        get: {
          summary: 'Get status (014 §5.1)',
          parameters: [slave],
          responses: {
            '200': { description: 'Status', ...json({ $ref: '#/components/schemas/Status' }) },
            ...noBody,
          },
        },
      },
      '/api/v1/keys/{SAE_ID}/enc_keys': {
        get: {
          summary: 'Get key, simple form (014 §5.2); no other query parameter is accepted',
          parameters: [
            slave,
            { name: 'number', in: 'query', required: false, schema: query.number },
            { name: 'size', in: 'query', required: false, schema: query.size },
          ],
          responses: { '200': keys200, ...noBody },
        },
        post: {
          summary: 'Get key (014 §5.2)',
          parameters: [slave],
          requestBody: body('KeyRequest'),
          responses: { '200': keys200, ...withBody },
        },
      },
      '/api/v1/keys/{SAE_ID}/dec_keys': {
        get: {
          summary: 'Get key with key IDs, simple form (014 §5.3); no other query parameter is accepted',
          parameters: [
            master,
            { name: 'key_ID', in: 'query', required: true, schema: S.DecKeysQuerySchema.properties.key_ID },
          ],
          responses: { '200': keys200, ...noBody },
        },
        post: {
          summary: 'Get key with key IDs (014 §5.3)',
          parameters: [master],
          requestBody: { ...body('KeyIDs'), required: true },
          responses: { '200': keys200, ...withBody },
        },
      },
      '/api/v1/kme/{KME_ID}/reserve': peerRoute(
        'KME-to-KME reservation push (qkdnet)',
        { $ref: '#/components/schemas/Reservation' },
        S.ReservationAnswerSchema,
      ),
      '/api/v1/kme/{KME_ID}/lookup': peerRoute(
        'KME-to-KME reservation pull (qkdnet)',
        { $ref: '#/components/schemas/Lookup' },
        { $ref: '#/components/schemas/Reservation' },
      ),
      '/api/v1/kme/{KME_ID}/relay': peerRoute(
        'KME-to-KME trusted-node relay message (qkdnet)',
        { $ref: '#/components/schemas/Relay' },
        RelayAnswerSchema,
      ),
      '/openapi.json': {
        get: {
          summary: 'This document (any configured SAE, peer KME or metrics identity)',
          responses: { '200': { description: 'OpenAPI 3.0.3 JSON' }, ...common },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (metrics role certificate only; SAE and KME certificates are refused)',
          security: [{ metricsCertificate: [] }, ...(o.metricsToken ? [{ metricsToken: [] }] : [])],
          responses: { '200': { description: 'text/plain; version=0.0.4' }, ...common },
        },
      },
    },
  };
}
