/**
 * Wire schemas of ETSI GS QKD 020 V1.1.1 ("Interoperable Key Management System API"), from the OpenAPI
 * 3.1.2 description that carries the specification's clauses (`interop-kms_ExtraMarkup.yaml`, tag
 * v1.1.1 of forge.etsi.org/rep/qkd/gs020-interop-kms): `version_container`, `ext_key_container`,
 * `ack_containers` / `ack_container`, `void_container` and `problem_details` (RFC 9457). This is the only
 * file where the 020 wire names (`key_id`, `initiator_sae_id`, `ack_callback_url`, …) appear. Size limits
 * are the schema's (`maxLength`, `maxItems`, `minProperties`/`maxProperties`); where the schema sets none
 * this KME sets one and says so (`keys` ≤ 1024, `value` ≤ 8192 base64 characters), and a request over it
 * is a 400. Unknown properties are refused (400): 020 carries vendor data in extension objects only.
 */
import { Type, type Static } from '@sinclair/typebox';

/** RFC 9562 §4 textual UUID (schema `key_id`, `format: uuid`). */
const KeyId = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
});

/**
 * SAE ID (clause "SAE IDs"; schemas `initiator_sae_id`, `target_sae_id`): 1–64 characters, only those
 * RFC 3986 allows in a URI — unreserved, gen-delims, sub-delims and percent-encoded octets.
 */
export const SAE_ID_PATTERN = "^(?:[A-Za-z0-9\\-._~:/?#\\[\\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$";
const SaeId = Type.String({ minLength: 1, maxLength: 64, pattern: SAE_ID_PATTERN });

/** Schema `extension` (also `extension_mandatory`, `extension_optional`): an object of 1–1024 properties. */
const Extension = Type.Object({}, { additionalProperties: true, minProperties: 1, maxProperties: 1024 });

/** Schema `ack_callback_url`: a complete `https://` URL of at most 1024 characters. */
const AckCallbackUrl = Type.String({ maxLength: 1024, pattern: '^https://[^\\s]+$' });

/** Schema `target_sae_ids` (this KME accepts up to 1024 entries; more than it routes → 503). */
const TargetSaeIds = Type.Array(SaeId, { minItems: 1, maxItems: 1024 });

/** Most keys one `ext_keys` call may carry here (the schema sets no limit). */
export const MAX_KEYS_PER_CALL = 1024;
/** Longest accepted base64 `value` (6144 key bytes; the schema sets no limit). */
export const MAX_VALUE_CHARS = 8192;

/** Schema `ext_key_container` (POST /kmapi/v1/ext_keys). */
export const ExtKeyContainerSchema = Type.Object(
  {
    keys: Type.Array(
      Type.Object(
        {
          key_id: KeyId,
          value: Type.String({ minLength: 1, maxLength: MAX_VALUE_CHARS }),
          extension: Type.Optional(Extension),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_KEYS_PER_CALL },
    ),
    initiator_sae_id: SaeId,
    target_sae_ids: TargetSaeIds,
    ack_callback_url: Type.Optional(AckCallbackUrl),
    extension_mandatory: Type.Optional(Extension),
    extension_optional: Type.Optional(Extension),
  },
  { additionalProperties: false },
);
export type ExtKeyContainerWire = Static<typeof ExtKeyContainerSchema>;

/** Schema `ack_status`. */
export const ACK_STATUSES = ['relayed', 'failed', 'voided', 'failed to void', 'key not present'] as const;
export type AckStatus = (typeof ACK_STATUSES)[number];

/** Schema `ack_container` (`key_id_container` read as the prose says: an array of `{key_id, extension?}`). */
export const AckContainerSchema = Type.Object(
  {
    key_id_container: Type.Array(
      Type.Object({ key_id: KeyId, extension: Type.Optional(Extension) }, { additionalProperties: false }),
      { minItems: 1, maxItems: 1024 },
    ),
    ack_status: Type.Union(ACK_STATUSES.map((s) => Type.Literal(s))),
    initiator_sae_id: SaeId,
    target_sae_ids: TargetSaeIds,
    message: Type.Optional(Type.String({ maxLength: 4096 })),
    extension: Type.Optional(Extension),
  },
  { additionalProperties: false },
);
export type AckContainerWire = Static<typeof AckContainerSchema>;

/** Schema `ack_containers` (POST /kmapi/v1/ext_keys/ack; also the body of a synchronous-mode 200). */
export const AckContainersSchema = Type.Array(AckContainerSchema, { minItems: 1, maxItems: 1024 });

/** Schema `void_container` (POST /kmapi/v1/ext_keys/void). An empty `key_ids` means "all keys". */
export const VoidContainerSchema = Type.Object(
  {
    key_ids: Type.Array(KeyId, { maxItems: MAX_KEYS_PER_CALL }),
    initiator_sae_id: SaeId,
    target_sae_ids: TargetSaeIds,
    ack_callback_url: Type.Optional(AckCallbackUrl),
    extension: Type.Optional(Extension),
    all_confirmation: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type VoidContainerWire = Static<typeof VoidContainerSchema>;

/** Schema `version_container` (GET /kmapi/versions). */
export const VersionContainerSchema = Type.Object({
  versions: Type.Array(Type.String({ maxLength: 16 }), { maxItems: 1000 }),
  capabilities: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 1000 })),
  extension: Type.Optional(Extension),
});
export type VersionContainerWire = Static<typeof VersionContainerSchema>;

/** Schema `problem_details` (RFC 9457): `type` required; `details` a map of strings. */
export const ProblemDetailsSchema = Type.Object({
  type: Type.String({ maxLength: 1024 }),
  status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
  title: Type.Optional(Type.String({ maxLength: 1024 })),
  details: Type.Optional(
    Type.Record(Type.String(), Type.String(), { minProperties: 1, maxProperties: 1024 }),
  ),
});
export type ProblemDetailsWire = Static<typeof ProblemDetailsSchema>;

/** No query parameters on any 020 route. */
export const NoQuery020Schema = Type.Object({}, { additionalProperties: false });
