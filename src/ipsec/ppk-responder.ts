// @edge: the N3IWF's PPK agent: serves the authenticated channel and loads keys into charon over VICI
/**
 * The responder's PPK agent (N3IWF side, ETSI GS QKD 014 slave SAE). The UE's agent tells it a `key_ID`
 * over the authenticated channel (peer-channel.ts); it fetches that key from its own KME (`dec_keys`),
 * loads it into its charon as an RFC 8784 PPK (`load-shared`, type PPK, owner = PPK_ID = key_ID), erases
 * its copy and answers. Its charon connection has `ppk_required` and no `ppk_id`, so it accepts the
 * PPK_ID the initiator sends and looks the key up by it. Under policies
 * `pqc` and `hybrid` it also answers an ML-KEM-768 exchange (FIPS 203) and loads the derived key, or (hybrid)
 * the QKD key ⊕ the derived key. `release` unloads a used PPK; a PPK_ID loaded once is never loaded again. Each answer is `{ ok, reason?, provenance? }`; nothing here sends key material anywhere.
 */
import type { Logger } from 'pino';
import type { Provenance } from '../common/index.ts';
import { IKE_ID, ppkMessage, ppkSecretId } from './connections.ts';
import { hybridPpk } from './hybrid-ppk.ts';
import type { KeySource } from './key-source.ts';
import { serveChannel, type ChannelServer } from './peer-channel.ts';
import type { ViciClient } from './vici-client.ts';

/** ML-KEM-768 and the key derivation the `pqc` policy uses (wired from src/kms's pqc module). */
export interface PqcKem {
  keygen(): { publicKey: Uint8Array; secretKey: Uint8Array };
  encapsulate(publicKey: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array };
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** A PPK of `lengthBytes` bound to `keyId` from the KEM secret. */
  derive(sharedSecret: Uint8Array, keyId: string, lengthBytes: number): Uint8Array;
  /** Provenance recorded for derived keys (`pqc`). */
  readonly provenance: Provenance;
}

/** `load-shared` of a QKD key used as the IKE PSK itself (secret id `ppk-<key_ID>` too, so `release` works). */
export function qkdPskMessage(keyId: string, key: Uint8Array) {
  return { id: ppkSecretId(keyId), type: 'IKE', data: key, owners: [IKE_ID.ue, IKE_ID.n3iwf] };
}

/** Options of the responder agent. */
export interface ResponderAgentOptions {
  readonly vici: ViciClient;
  readonly keys: KeySource;
  /** 32-byte HMAC key shared with the initiator's agent. */
  readonly channelKey: Uint8Array;
  readonly host?: string;
  readonly port?: number;
  /** Present when policy `pqc` is allowed. */
  readonly pqc?: PqcKem;
  readonly log: Logger;
  /** PPK length for PQC-derived keys (bytes; default 32). */
  readonly pqcKeyBytes?: number;
  /** Told of every PPK loaded (with its provenance) and released (without), e.g. for an SA ledger. */
  readonly onPpk?: (e: { readonly keyId: string; readonly provenance?: Provenance }) => void;
}

/** A running responder agent. */
export interface ResponderAgent {
  readonly port: number;
  /** PPK_IDs currently loaded into charon by this agent. */
  loaded(): string[];
  /** Stops serving and unloads every PPK it loaded. */
  close(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Starts the responder's agent. */
export async function startResponderAgent(o: ResponderAgentOptions): Promise<ResponderAgent> {
  const loaded = new Map<string, Provenance>();
  const used = new Set<string>(); // every PPK_ID ever loaded here: a second load of one is refused
  const pending = new Map<string, Uint8Array>(); // ML-KEM secret keys awaiting a ciphertext
  const load = async (keyId: string, key: Uint8Array, provenance: Provenance, asPsk = false) => {
    try {
      await o.vici.call('load-shared', asPsk ? qkdPskMessage(keyId, key) : ppkMessage(keyId, key));
    } finally {
      key.fill(0);
    }
    loaded.set(keyId, provenance);
    used.add(keyId);
    o.onPpk?.({ keyId, provenance });
    o.log.info({ keyId, provenance, event: 'ppk-loaded' }, `PPK ${keyId} loaded (provenance ${provenance})`);
    return { ok: true, provenance };
  };
  const handler = async (b: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const keyId = typeof b.keyId === 'string' && UUID.test(b.keyId) ? b.keyId : undefined;
    if (!keyId) return { ok: false, reason: 'bad-request', message: 'keyId must be a UUID' };
    if (used.has(keyId) && b.type !== 'release')
      return { ok: false, reason: 'reused', message: `PPK ${keyId} was loaded before: never reused` };
    switch (b.type) {
      case 'ppk': {
        const r = await o.keys.keyById(keyId);
        if (!r.ok) {
          o.log.warn({ keyId, reason: r.reason, event: 'ppk-fetch-failed' }, r.message);
          return { ok: false, reason: r.reason, message: r.message };
        }
        return load(keyId, r.value.key, r.value.provenance);
      }
      case 'psk': {
        // the QKD key as the IKE PSK itself (mode qkd-psk of the benchmark)
        const r = await o.keys.keyById(keyId);
        if (!r.ok) return { ok: false, reason: r.reason, message: r.message };
        return load(keyId, r.value.key, r.value.provenance, true);
      }
      case 'pqc-init': {
        if (!o.pqc) return { ok: false, reason: 'refused', message: 'policy pqc is not enabled here' };
        const kp = o.pqc.keygen();
        pending.set(keyId, kp.secretKey);
        return { ok: true, publicKey: Buffer.from(kp.publicKey).toString('base64') };
      }
      case 'pqc-finish': {
        const sk = pending.get(keyId);
        pending.delete(keyId);
        if (!o.pqc || !sk || typeof b.cipherText !== 'string')
          return { ok: false, reason: 'bad-request', message: `no ML-KEM exchange open for ${keyId}` };
        const secret = o.pqc.decapsulate(Buffer.from(b.cipherText, 'base64'), sk);
        sk.fill(0);
        const key = o.pqc.derive(secret, keyId, o.pqcKeyBytes ?? 32);
        secret.fill(0);
        return load(keyId, key, o.pqc.provenance);
      }
      case 'hybrid-finish': {
        // PPK = QKD key ⊕ ML-KEM-derived key (./hybrid-ppk.ts), provenance hybrid
        const sk = pending.get(keyId);
        pending.delete(keyId);
        if (!o.pqc || !sk || typeof b.cipherText !== 'string')
          return { ok: false, reason: 'bad-request', message: `no ML-KEM exchange open for ${keyId}` };
        const r = await o.keys.keyById(keyId);
        if (!r.ok) {
          sk.fill(0);
          o.log.warn({ keyId, reason: r.reason, event: 'ppk-fetch-failed' }, r.message);
          return { ok: false, reason: r.reason, message: r.message };
        }
        const secret = o.pqc.decapsulate(Buffer.from(b.cipherText, 'base64'), sk);
        sk.fill(0);
        const pq = o.pqc.derive(secret, keyId, r.value.key.length);
        secret.fill(0);
        return load(keyId, hybridPpk(r.value.key, pq), 'hybrid');
      }
      case 'release': {
        if (loaded.delete(keyId)) {
          await o.vici.call('unload-shared', { id: ppkSecretId(keyId) }).catch(() => undefined);
          o.onPpk?.({ keyId });
        }
        o.log.info({ keyId, event: 'ppk-unloaded' }, `PPK ${keyId} unloaded`);
        return { ok: true };
      }
      default:
        return { ok: false, reason: 'bad-request', message: `unknown message type ${String(b.type)}` };
    }
  };
  const server: ChannelServer = await serveChannel(o.channelKey, handler, {
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
  });
  return {
    port: server.port,
    loaded: () => [...loaded.keys()],
    close: async () => {
      await server.close();
      for (const sk of pending.values()) sk.fill(0);
      pending.clear();
      for (const keyId of loaded.keys())
        await o.vici.call('unload-shared', { id: ppkSecretId(keyId) }).catch(() => undefined);
      loaded.clear();
    },
  };
}
