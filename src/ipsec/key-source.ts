/**
 * Where a PPK agent gets its keys: a `KeySource`. The real one is an ETSI GS QKD 014 V1.1.1 SAE client
 * (§5.2 Get key = `enc_keys` for the master SAE, §5.3 Get key with key IDs = `dec_keys` for the slave SAE,
 * in their GET forms when the client offers them):
 * the UE agent is the master and asks for a new key naming the N3IWF's SAE as slave; the N3IWF agent asks
 * for the same key by its `key_ID` naming the UE's SAE as master. The key manager's client is adapted
 * structurally (`Etsi014Like`), so a KME outage or an empty pool comes back as a value
 * (`exhausted`, `unavailable`, `not-found`, `refused`), never as an exception the agent could mistake for
 * success. Key bytes stay in the returned `Uint8Array`, which the agent erases after loading.
 */
import { fail, isQkdnetError, ok, type Provenance, type Result } from '../common/index.ts';

/** One key as the agent uses it. */
export interface SourcedKey {
  /** ETSI 014 `key_ID` (a UUID) — also the IKEv2 PPK_ID. */
  readonly keyId: string;
  readonly key: Uint8Array;
  readonly provenance: Provenance;
}

/** Why no key came back. */
export type KeySourceFailure = 'exhausted' | 'unavailable' | 'not-found' | 'refused';

/** The outcome of a key request. */
export type KeyResult = Result<SourcedKey, KeySourceFailure, { readonly message: string }>;

/** A supplier of keys shared with the peer endpoint. */
export interface KeySource {
  /** Master side: a new key of `sizeBits` for the peer. */
  newKey(sizeBits: number): Promise<KeyResult>;
  /** Slave side: the key the master obtained under `keyId`. */
  keyById(keyId: string): Promise<KeyResult>;
}

/** The shape of the key manager's ETSI 014 client this adapter needs (src/kms `Etsi014Client`). */
export interface Etsi014Like {
  getKeys(
    slaveSaeId: string,
    request: { number?: number; sizeBits?: number },
  ): Promise<readonly { keyId: string; key: Uint8Array; provenance?: Provenance }[]>;
  getKeysWithIds(
    masterSaeId: string,
    keyIds: readonly string[],
  ): Promise<readonly { keyId: string; key: Uint8Array; provenance?: Provenance }[]>;
  /** The GET form of `getKeys` (§5.2: number and size in the query); used when offered. */
  getKeysByQuery?(
    slaveSaeId: string,
    request: { number?: number; sizeBits?: number },
  ): Promise<readonly { keyId: string; key: Uint8Array; provenance?: Provenance }[]>;
  /** The GET form of `getKeysWithIds` for one key_ID (§5.3); used when offered. */
  getKeyWithId?(
    masterSaeId: string,
    keyId: string,
  ): Promise<readonly { keyId: string; key: Uint8Array; provenance?: Provenance }[]>;
}

/** Maps a thrown client error to a failure reason (messages of the catalogue carry no key material). */
export function keyFailure(e: unknown): KeyResult {
  const message = e instanceof Error ? e.message : String(e);
  if (isQkdnetError(e, 'KMS_KEY_EXHAUSTED')) return fail('exhausted', { message });
  if (isQkdnetError(e, 'KMS_KEY_NOT_FOUND') || isQkdnetError(e, 'KMS_NOT_FOUND'))
    return fail('not-found', { message });
  if (isQkdnetError(e, 'KMS_UNAUTHORIZED') || isQkdnetError(e, 'KMS_BAD_REQUEST'))
    return fail('refused', { message });
  if (/\b503\b|exhaust|not enough key/i.test(message)) return fail('exhausted', { message });
  return fail('unavailable', { message });
}

/**
 * The real key source: an ETSI 014 client bound to the peer SAE. `role` says which call it makes:
 * `master` uses `enc_keys` naming `peerSaeId` as slave; `slave` uses `dec_keys` naming it as master.
 */
export function etsi014KeySource(client: Etsi014Like, peerSaeId: string): KeySource {
  return {
    async newKey(sizeBits) {
      if (!Number.isInteger(sizeBits) || sizeBits <= 0 || sizeBits % 8 !== 0)
        throw new RangeError(`key size ${sizeBits} bits is not a positive multiple of 8`);
      try {
        // The GET form where the client has it: the KME reads no body (the fetch is inside the IKE window).
        const req = { number: 1, sizeBits };
        const [k] = client.getKeysByQuery
          ? await client.getKeysByQuery(peerSaeId, req)
          : await client.getKeys(peerSaeId, req);
        if (!k) return fail('exhausted', { message: `KME returned no key for ${peerSaeId}` });
        return ok({ keyId: k.keyId, key: k.key, provenance: k.provenance ?? 'qkd' });
      } catch (e) {
        return keyFailure(e);
      }
    },
    async keyById(keyId) {
      try {
        const [k] = client.getKeyWithId
          ? await client.getKeyWithId(peerSaeId, keyId)
          : await client.getKeysWithIds(peerSaeId, [keyId]);
        if (!k || k.keyId !== keyId)
          return fail('not-found', { message: `KME has no key ${keyId} from ${peerSaeId}` });
        return ok({ keyId: k.keyId, key: k.key, provenance: k.provenance ?? 'qkd' });
      } catch (e) {
        return keyFailure(e);
      }
    },
  };
}
