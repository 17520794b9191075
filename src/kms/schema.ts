/**
 * Wire schemas of ETSI GS QKD 014 V1.1.1 ("Protocol and data format of REST-based key delivery API"),
 * clause 6 (data formats): Status (6.1), Key request (6.2), Key container (6.3), Key IDs (6.4) and
 * Error (6.5), plus the KME-to-KME reservation message of this project (not part of 014, which leaves
 * KME-to-KME coordination open). This is the only file where the wire names (`key_ID`, `slave_SAE_ID`,
 * …) appear; the rest of src/kms speaks camelCase. Routes declare these schemas first (Fastify style), so
 * `/openapi.json` and the validators come from one source.
 */
import { Type, type Static } from '@sinclair/typebox';

/** A JSON object of extension parameters, `{ name: value }` (014 §6.2: "object array"). */
const ExtensionObject = Type.Object({}, { additionalProperties: true });

/** 014 §6.1 Status. Sizes in bits. */
export const StatusSchema = Type.Object({
  source_KME_ID: Type.String(),
  target_KME_ID: Type.String(),
  master_SAE_ID: Type.String(),
  slave_SAE_ID: Type.String(),
  key_size: Type.Integer(),
  stored_key_count: Type.Integer(),
  max_key_count: Type.Integer(),
  max_key_per_request: Type.Integer(),
  max_key_size: Type.Integer(),
  min_key_size: Type.Integer(),
  max_SAE_ID_count: Type.Integer(),
  status_extension: Type.Optional(ExtensionObject),
});
export type StatusWire = Static<typeof StatusSchema>;

/** RFC 4122 / RFC 9562 textual UUID. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const KeyId = Type.String({ pattern: UUID_PATTERN });

/** The query of every route without query parameters: none is accepted (an unknown one → 400). */
export const NoQuerySchema = Type.Object({}, { additionalProperties: false });

/** Query of the simple form `GET dec_keys?key_ID=UUID` (014 §5.3); nothing else is accepted. */
export const DecKeysQuerySchema = Type.Object({ key_ID: KeyId }, { additionalProperties: false });

/** The limits a KME's request schemas enforce (its §6.1 status fields, src/kms/config.ts `keyLimits`). */
export interface WireLimits {
  readonly minSizeBits: number;
  readonly maxSizeBits: number;
  readonly maxPerRequest: number;
  readonly maxSaeIdCount: number;
}

const sizeOf = (l: WireLimits) =>
  Type.Integer({ minimum: l.minSizeBits, maximum: l.maxSizeBits, multipleOf: 8, description: 'bits' });
const numberOf = (l: WireLimits) => Type.Integer({ minimum: 1, maximum: l.maxPerRequest });

/** 014 §6.2 Key request (POST enc_keys body) for a KME with limits `l`: every field optional, no other. */
export function keyRequestSchema(l: WireLimits) {
  return Type.Object(
    {
      number: Type.Optional(numberOf(l)),
      size: Type.Optional(sizeOf(l)),
      additional_slave_SAE_IDs: Type.Optional(
        Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: l.maxSaeIdCount }),
      ),
      extension_mandatory: Type.Optional(Type.Array(ExtensionObject, { maxItems: 64 })),
      extension_optional: Type.Optional(Type.Array(ExtensionObject, { maxItems: 64 })),
    },
    { additionalProperties: false },
  );
}
/** Static type of a key request. */
export type KeyRequestWire = Static<ReturnType<typeof keyRequestSchema>>;

/** Query of the simple form `GET enc_keys?number=N&size=S` (014 §5.2); nothing else is accepted. */
export function encKeysQuerySchema(l: WireLimits) {
  return Type.Object(
    { number: Type.Optional(numberOf(l)), size: Type.Optional(sizeOf(l)) },
    { additionalProperties: false },
  );
}

/** 014 §6.4 Key IDs (POST dec_keys body) for a KME with limits `l`. */
export function keyIdsSchema(l: WireLimits) {
  return Type.Object(
    {
      key_IDs: Type.Array(
        Type.Object(
          { key_ID: KeyId, key_ID_extension: Type.Optional(ExtensionObject) },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: l.maxPerRequest },
      ),
      key_IDs_extension: Type.Optional(ExtensionObject),
    },
    { additionalProperties: false },
  );
}
/** Static type of a Key IDs body. */
export type KeyIdsWire = Static<ReturnType<typeof keyIdsSchema>>;

/** 014 §6.3 Key container. `key` is base64 (RFC 4648). */
export const KeyContainerSchema = Type.Object({
  keys: Type.Array(
    Type.Object({
      key_ID: Type.String(),
      key_ID_extension: Type.Optional(ExtensionObject),
      key: Type.String(),
      key_extension: Type.Optional(ExtensionObject),
    }),
  ),
  key_container_extension: Type.Optional(ExtensionObject),
});
export type KeyContainerWire = Static<typeof KeyContainerSchema>;

/** 014 §6.5 Error. `details` is an array of `{ name: value }` objects. */
export const ErrorSchema = Type.Object({
  message: Type.String(),
  details: Type.Optional(Type.Array(ExtensionObject)),
});
export type ErrorWire = Static<typeof ErrorSchema>;

/** Path parameter of every 014 route: one SAE ID (URL-decoded by Fastify). */
export const SaePathSchema = Type.Object({ sae: Type.String({ minLength: 1, maxLength: 256 }) });

/**
 * KME-to-KME reservation (qkdnet, not ETSI 014): the master's KME tells the slave's KME that the chunks
 * `chunk_IDs` (which both KMEs hold from their shared link) now form key `key_ID` of `size` bits for
 * `master_SAE_ID` and `slave_SAE_IDs`. All-or-nothing per message.
 */
export const ReservationSchema = Type.Object(
  {
    reservations: Type.Array(
      Type.Object({
        key_ID: KeyId,
        chunk_IDs: Type.Array(KeyId, { minItems: 1, maxItems: 4096 }),
        size: Type.Integer({ minimum: 8 }),
        master_SAE_ID: Type.String({ minLength: 1 }),
        // Empty: an erase notice (the owner delivered or abandoned the key; the peer erases its copy).
        slave_SAE_IDs: Type.Array(Type.String({ minLength: 1 })),
        // Bytes of the first chunk used by earlier keys (chunk-granular keys; absent: 0).
        chunk_offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
      }),
      { minItems: 1, maxItems: 100000 },
    ),
  },
  { additionalProperties: false },
);
export type ReservationWire = Static<typeof ReservationSchema>;

/** Pull of reservations by the slave's KME when a slave asks for a key it has not heard of yet. */
export const LookupSchema = Type.Object(
  { key_IDs: Type.Array(KeyId, { minItems: 1, maxItems: 100000 }) },
  { additionalProperties: false },
);
export type LookupWire = Static<typeof LookupSchema>;

/** Answer of the peer KME to a reservation. */
export const ReservationAnswerSchema = Type.Object({
  accepted: Type.Integer(),
  refused_key_IDs: Type.Array(Type.String()),
});

/** `key_extension` this KME adds to every key: the key's metadata (docs/kme.md). */
export interface KeyMetadataWire {
  provenance: string;
  path: string[];
  exposed_to: string[];
  block_IDs: string[];
}
