/**
 * OpenAPI 3.0 document of the KME, served at `/openapi.json`, built from the same TypeBox schemas the
 * routes validate with (./schema.ts), so the document cannot drift from the code. Paths, parameters and
 * status codes follow ETSI GS QKD 014 V1.1.1 clause 5; the reservation route is qkdnet's own.
 */
import { PROVENANCE_ORDER } from '../common/index.ts';
import { RelayAnswerSchema, RelayRequestSchema } from './relay-route.ts';
import * as S from './schema.ts';

const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const err = (description: string) => ({ description, ...json({ $ref: '#/components/schemas/Error' }) });
const errors = {
  '400': err('Bad request format (malformed, size or number out of range, unsupported mandatory extension)'),
  '401': err('Unauthorized (certificate names no SAE here, or not a slave the master named)'),
  '503': err('Error on the server side (not enough key material, peer KME unreachable, store failure)'),
};
const sae = (description: string) => ({
  name: 'SAE_ID',
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
const keys = {
  '200': { description: 'Key container', ...json({ $ref: '#/components/schemas/KeyContainer' }) },
  ...errors,
};

/** The OpenAPI document of KME `kmeId`. */
export function buildOpenApi(kmeId: string): Record<string, unknown> {
  const slave = sae('URL-encoded SAE ID of the slave SAE');
  const master = sae('URL-encoded SAE ID of the master SAE');
  return {
    openapi: '3.0.3',
    info: {
      title: `qkdnet KME ${kmeId} — ETSI GS QKD 014 V1.1.1 key delivery API`,
      version: '1.1.1',
      description:
        'Mutual TLS: the caller SAE is identified by its client certificate (subject CN). Keys are base64; sizes in bits. ' +
        'key_extension carries qkdnet_provenance, qkdnet_path, qkdnet_exposed_to, qkdnet_block_IDs. ' +
        `Supported extension (mandatory or optional): {"qkdnet_min_provenance": ${PROVENANCE_ORDER.map((p) => `"${p}"`).join('|')}}.`,
    },
    servers: [{ url: '/' }],
    paths: {
      '/api/v1/keys/{SAE_ID}/status': {
        get: {
          summary: 'Get status (014 §5.1)',
          parameters: [slave],
          responses: {
            '200': { description: 'Status', ...json({ $ref: '#/components/schemas/Status' }) },
            ...errors,
          },
        },
      },
      '/api/v1/keys/{SAE_ID}/enc_keys': {
        get: {
          summary: 'Get key, simple form (014 §5.2)',
          parameters: [
            slave,
            { name: 'number', in: 'query', schema: { type: 'integer', minimum: 1 } },
            { name: 'size', in: 'query', schema: { type: 'integer', minimum: 1 } },
          ],
          responses: keys,
        },
        post: {
          summary: 'Get key (014 §5.2)',
          parameters: [slave],
          requestBody: json({ $ref: '#/components/schemas/KeyRequest' }),
          responses: keys,
        },
      },
      '/api/v1/keys/{SAE_ID}/dec_keys': {
        get: {
          summary: 'Get key with key IDs, simple form (014 §5.3)',
          parameters: [
            master,
            { name: 'key_ID', in: 'query', required: true, schema: { type: 'string', format: 'uuid' } },
          ],
          responses: keys,
        },
        post: {
          summary: 'Get key with key IDs (014 §5.3)',
          parameters: [master],
          requestBody: json({ $ref: '#/components/schemas/KeyIDs' }),
          responses: keys,
        },
      },
      '/api/v1/kme/{KME_ID}/reserve': {
        post: {
          summary: 'KME-to-KME reservation (qkdnet; caller certificate must name KME_ID)',
          parameters: [{ name: 'KME_ID', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: json({ $ref: '#/components/schemas/Reservation' }),
          responses: { '200': { description: 'Applied', ...json(S.ReservationAnswerSchema) }, ...errors },
        },
      },
      '/api/v1/kme/{KME_ID}/relay': {
        post: {
          summary: 'KME-to-KME trusted-node relay message (qkdnet; caller certificate must name KME_ID)',
          parameters: [{ name: 'KME_ID', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: json(RelayRequestSchema),
          responses: { '200': { description: 'Handled', ...json(RelayAnswerSchema) }, ...errors },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'text/plain; version=0.0.4' } },
        },
      },
    },
    components: {
      schemas: {
        Status: S.StatusSchema,
        KeyRequest: S.KeyRequestSchema,
        KeyContainer: S.KeyContainerSchema,
        KeyIDs: S.KeyIdsSchema,
        Error: S.ErrorSchema,
        Reservation: S.ReservationSchema,
      },
    },
  };
}
