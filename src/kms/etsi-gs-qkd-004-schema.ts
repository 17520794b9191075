/**
 * Wire schemas of qkdnet's HTTPS + JSON binding of ETSI GS QKD 004 V2.1.1 (the spec fixes no transport,
 * Annex C), of the KME-to-KME messages that keep the two ends of a key stream in step, and of the
 * southbound `key-material` push of AIT's 004 push-mode profile. Field names follow AIT's JSON binding
 * (ait-crypto/etsi-gs-qkd-004-push-mode-API-specification: `key_stream_id`, `qos.key_chunk_size`, …,
 * `key_buffer` in base64, `metadata {size, buffer}`), the QoS set of Table 2 in the same lowercase form
 * (QKDNetSim writes `TTL`; AIT and qkdnet `ttl`). Every number is a uint32 (Table 2). This is the only file
 * where these wire names appear; requests are checked strictly (./wire-validation.ts): no unknown field,
 * no coercion.
 */
import { Type, type Static } from '@sinclair/typebox';
import { UUID_PATTERN } from './schema.ts';
import type { Qos, QosRequest } from './etsi-gs-qkd-004.ts';

const U32 = (o: { minimum?: number; description?: string } = {}) =>
  Type.Integer({ minimum: 0, maximum: 4294967295, ...o });
const Nullable = <T extends ReturnType<typeof U32>>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const Ksid = Type.String({ pattern: UUID_PATTERN, description: 'Key_stream_ID, a UUID (Table 2)' });
/** An application reference (Table 2 source/destination: a URI; an SAE ID is accepted too). */
const AppRef = Type.String({ minLength: 1, maxLength: 256 });

/** Table 2 QoS as asked: every field optional or null (the KM chooses). */
export const QosRequestSchema = Type.Object(
  {
    key_chunk_size: Nullable(U32({ description: 'bytes per GET_KEY chunk' })),
    max_bps: Nullable(U32({ description: 'bit/s, peak demand' })),
    min_bps: Nullable(U32({ description: 'bit/s, minimum needed' })),
    jitter: Nullable(U32({ description: 'bit/s, allowed deviation' })),
    priority: Nullable(U32()),
    timeout: Nullable(U32({ description: 'ms' })),
    ttl: Nullable(U32({ description: 's' })),
    metadata_mimetype: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type QosRequestWire = Static<typeof QosRequestSchema>;

/** Table 2 QoS as the KM answers it (every field set). */
export const QosSchema = Type.Object({
  key_chunk_size: U32(),
  max_bps: U32(),
  min_bps: U32(),
  jitter: U32(),
  priority: U32(),
  timeout: U32(),
  ttl: U32(),
  metadata_mimetype: Type.String(),
});
export type QosWire = Static<typeof QosSchema>;

/** OPEN_CONNECT request (clause 6.1): `key_stream_id` absent or null → the KM creates one. */
export const OpenConnectSchema = Type.Object(
  {
    source: AppRef,
    destination: AppRef,
    qos: Type.Optional(QosRequestSchema),
    key_stream_id: Type.Optional(Type.Union([Ksid, Type.Null()])),
  },
  { additionalProperties: false },
);
export type OpenConnectWire = Static<typeof OpenConnectSchema>;

/** OPEN_CONNECT answer. */
export const OpenConnectAnswerSchema = Type.Object({
  status: U32(),
  key_stream_id: Type.Optional(Type.String()),
  qos: Type.Optional(QosSchema),
});

/** GET_KEY request (clause 6.1): `index` absent or null → the next index; `metadata.size` in characters. */
export const GetKeySchema = Type.Object(
  {
    key_stream_id: Ksid,
    index: Nullable(U32()),
    metadata: Type.Optional(Type.Object({ size: U32() }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type GetKeyWire = Static<typeof GetKeySchema>;

/** Metadata of a chunk: `buffer` is the JSON object (Table 3 `age`, `hops`), `size` its length in characters. */
const MetadataAnswer = Type.Object({
  size: U32(),
  buffer: Type.Optional(Type.Object({ age: U32(), hops: U32() })),
});

/** GET_KEY answer: on status 0 `index` and `key_buffer` (base64); on status 8 `metadata.size` needed. */
export const GetKeyAnswerSchema = Type.Object({
  status: U32(),
  index: Type.Optional(U32()),
  key_buffer: Type.Optional(Type.String()),
  metadata: Type.Optional(MetadataAnswer),
});

/** CLOSE request and answer (clause 6.1). */
export const CloseSchema = Type.Object({ key_stream_id: Ksid }, { additionalProperties: false });
export const StatusAnswerSchema = Type.Object({ status: U32() });

/** KME-to-KME: one end opened (clause 6.2 case 5: the far key server learns KSID and QoS). */
const PeerOpen = Type.Object(
  {
    op: Type.Literal('open'),
    key_stream_id: Ksid,
    sae: AppRef,
    peer_sae: AppRef,
    qos: QosSchema,
  },
  { additionalProperties: false },
);
/** KME-to-KME: the follower asks the leader which 014 key forms chunk `index`. */
const PeerForm = Type.Object(
  {
    op: Type.Literal('form'),
    key_stream_id: Ksid,
    index: U32(),
    /** How long the leader may wait for key (ms): the rest of the follower's QoS.Timeout. */
    wait_ms: Type.Optional(U32()),
  },
  { additionalProperties: false },
);
/** KME-to-KME: one end closed. */
const PeerClose = Type.Object(
  { op: Type.Literal('close'), key_stream_id: Ksid },
  { additionalProperties: false },
);
/** KME-to-KME: erase the unused copies reserved for `follower_sae` (TTL expiry, both ends closed). */
const PeerErase = Type.Object(
  {
    op: Type.Literal('erase'),
    key_stream_id: Ksid,
    leader_sae: AppRef,
    follower_sae: AppRef,
    key_ids: Type.Array(Type.String({ pattern: UUID_PATTERN }), { maxItems: 100_000 }),
  },
  { additionalProperties: false },
);
/** Body of `POST /api/v1/kme/{kme}/etsi004`. */
export const PeerMessageSchema = Type.Union([PeerOpen, PeerForm, PeerClose, PeerErase]);
export type PeerMessageWire = Static<typeof PeerMessageSchema>;

/** Answer of the KME-to-KME route (fields by op). */
export const PeerAnswerSchema = Type.Object({
  status: U32(),
  connected: Type.Optional(Type.Boolean()),
  qos: Type.Optional(QosSchema),
  key_id: Type.Optional(Type.String()),
  age_ms: Type.Optional(U32()),
  erased: Type.Optional(U32()),
});
export type PeerAnswerWire = Static<typeof PeerAnswerSchema>;

/**
 * AIT push profile, `POST /api/v1/qkd/etsi004/key-material` (kms server yaml): one chunk pushed by a QKD
 * module. `metadata.buffer.key_stream_id` names the stream; `index` rises (wraps at UINT_MAX).
 */
export const KeyMaterialSchema = Type.Object(
  {
    status: U32(),
    index: U32(),
    key_buffer: Type.String({ minLength: 4, maxLength: 16_384, pattern: '^[A-Za-z0-9+/]+={0,2}$' }),
    metadata: Type.Optional(
      Type.Object(
        {
          size: Type.Optional(U32()),
          buffer: Type.Object({ key_stream_id: Ksid }, { additionalProperties: true }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type KeyMaterialWire = Static<typeof KeyMaterialSchema>;

/** Answer to a key-material push (201 in the profile). */
export const KeyMaterialAnswerSchema = Type.Object({
  status: U32(),
  metadata: Type.Optional(Type.Unknown()),
});

/** QoS from the wire. */
export function qosFromWire(w: QosRequestWire | undefined): QosRequest {
  return {
    keyChunkSize: w?.key_chunk_size,
    maxBps: w?.max_bps,
    minBps: w?.min_bps,
    jitter: w?.jitter,
    priority: w?.priority,
    timeoutMs: w?.timeout,
    ttlS: w?.ttl,
    metadataMimetype: w?.metadata_mimetype,
  };
}

/** QoS to the wire. */
export function qosToWire(q: Qos): QosWire {
  return {
    key_chunk_size: q.keyChunkSize,
    max_bps: q.maxBps,
    min_bps: q.minBps,
    jitter: q.jitter,
    priority: q.priority,
    timeout: q.timeoutMs,
    ttl: q.ttlS,
    metadata_mimetype: q.metadataMimetype,
  };
}

/** A full QoS from the wire (KME-to-KME, where every field is set). */
export function fullQosFromWire(w: QosWire): Qos {
  return {
    keyChunkSize: w.key_chunk_size,
    maxBps: w.max_bps,
    minBps: w.min_bps,
    jitter: w.jitter,
    priority: w.priority,
    timeoutMs: w.timeout,
    ttlS: w.ttl,
    metadataMimetype: w.metadata_mimetype,
  };
}
