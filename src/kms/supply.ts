/**
 * Southbound key supply: how key material enters a KME. A QKD link delivers the same final key block
 * (src/common FinalKeyBlock, identical at both ends) to the KMEs at its two ends; each KME cuts it into
 * 256-bit chunks whose IDs both derive the same way (`chunkIds`: UUID version 8, RFC 9562 §5.8, with a hash
 * of `qkdnet:<link>:<block>` in the high bits and the chunk's index in the low 32) — so no ID has to be
 * exchanged, and the chunks of one block sit side by side in the store's ID index (one index page touched
 * per block instead of one random page per chunk). Relayed and PQC keys (network engineer) arrive through
 * the same call with their provenance, path and exposure.
 *
 * Ownership (who may hand a chunk to a master): chunk index even → the KME whose id sorts first (UTF-16
 * code unit order), odd → the other. Both ends decide alike with no messages, so the two KMEs never give
 * the same material to different masters; a key handed out at one end reaches the other only through a
 * reservation naming its slaves (./peer.ts).
 */
import { createHash } from 'node:crypto';
import type { FinalKeyBlock, Provenance } from '../common/index.ts';
import type { ChunkInput } from './store.ts';

/** Chunk size: the default ETSI 014 key size (256 bits). */
export const CHUNK_BYTES = 32;

/** Key material from anything but a plain link block: relayed, multipath, hybrid or PQC keys. */
export interface KeySupply {
  /** One key with this ID at both ends (chunked if longer than 32 bytes: IDs then derived from it). */
  readonly keyId?: string;
  /** Or a block id shared by both ends (IDs derived as for link blocks). One of the two is required. */
  readonly blockId?: string;
  readonly key: Uint8Array;
  readonly provenance: Provenance;
  /** Node ids the material travelled through. */
  readonly path: readonly string[];
  /** Nodes that could have seen it in the clear (default: `path`). */
  readonly exposedTo?: readonly string[];
  /** KME id that may hand it to a master (default: the parity rule of the file header). */
  readonly owner?: string;
}

/** What `supply()` accepts: a final key block from a link, or a tagged key. */
export type SupplyItem = FinalKeyBlock | KeySupply;

/** qkdnet's fixed namespace for chunk IDs (a random v4 UUID chosen once). */
export const QKDNET_UUID_NAMESPACE = '6f8a3c1e-4b2d-4f5a-9e7c-0d1b2a3f4e5d';

const QKDNET_NS_BYTES = Buffer.from(QKDNET_UUID_NAMESPACE.replace(/-/g, ''), 'hex');

/** Name-based UUID version 5 (RFC 9562 §5.5): SHA-1 of namespace bytes ‖ UTF-8 name, version and variant set. */
export function uuidV5(name: string, namespace: string = QKDNET_UUID_NAMESPACE): string {
  const ns =
    namespace === QKDNET_UUID_NAMESPACE ? QKDNET_NS_BYTES : Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new TypeError(`uuidV5: namespace "${namespace}" is not a UUID`);
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Most chunks one item may have: the index fills the low 32 bits of a chunk ID. */
const MAX_ITEM_CHUNKS = 2 ** 32;

/**
 * Chunk IDs of the item named `name`: `id(i)` is a UUID version 8 (RFC 9562 §5.8, "custom"): bytes 0–11
 * are SHA-256 of qkdnet's namespace ‖ `name` (with the version nibble 8 in byte 6 and the variant bits 10
 * in byte 8: 90 bits of hash), bytes 12–15 the chunk index `i` big-endian. Both ends derive the same IDs
 * from public names only, so an ID reveals no key material, just which block it came from and where
 * (`qkdnet_block_IDs` says as much); IDs of one block share their first 28 characters (24 hex digits),
 * so they are adjacent in a B-tree index; two blocks collide only if 90 hash bits do. One hash per item,
 * not per chunk. (Stores written before this derivation keep their chunks' version-5 IDs: IDs are looked up,
 * never recomputed, so both coexist; the two KMEs of a link must derive alike, docs/kme.md "Chunk IDs".)
 */
export function chunkIds(name: string): (index: number) => string {
  const h = createHash('sha256').update(QKDNET_NS_BYTES).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 12).toString('hex');
  const prefix = `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 24)}`;
  return (index) => {
    if (!Number.isInteger(index) || index < 0 || index >= MAX_ITEM_CHUNKS)
      throw new RangeError(`chunk index ${index} is outside 0…2³²−1`);
    return prefix + index.toString(16).padStart(8, '0');
  };
}

/** True when `self` owns chunk `index` of a block shared with `peer` (the parity rule). */
export function ownsChunk(self: string, peer: string, index: number): boolean {
  const selfFirst = self < peer;
  return index % 2 === 0 ? selfFirst : !selfFirst;
}

function isBlock(item: SupplyItem): item is FinalKeyBlock {
  return 'linkId' in item && 'estimates' in item;
}

/**
 * Cuts a supply item into the chunks the store keeps at KME `self` for its link to `peer`. Throws
 * TypeError on misuse (no id, empty key).
 */
export function chunksFor(self: string, peer: string, item: SupplyItem): ChunkInput[] {
  const c = chunkCutter(self, peer, item);
  return c.slice(0, c.total);
}

/** Chunks of one supply item, cut on demand: `slice(from, to)` derives only those. */
export interface ChunkCutter {
  /** The supply ledger's name of the item (block id, or key ID for a tagged key). */
  readonly blockId: string;
  readonly total: number;
  slice(from: number, to: number): ChunkInput[];
}

/**
 * `chunksFor` in pieces, so a large item (10⁸ bits are 390,625 chunks) is cut and stored a slice at a
 * time without holding the event loop. The cutter keeps a reference to `item.key`.
 */
export function chunkCutter(self: string, peer: string, item: SupplyItem): ChunkCutter {
  const pair = self < peer ? `${self}|${peer}` : `${peer}|${self}`;
  if (isBlock(item)) {
    const bytes = Math.floor(item.bits / 8);
    const path = self < peer ? [self, peer] : [peer, self];
    return cut(item.key.subarray(0, bytes), `qkdnet:${item.linkId}:${item.blockId}`, item.blockId, {
      self,
      peer,
      provenance: item.provenance ?? 'qkd',
      path,
      exposedTo: path,
    });
  }
  if (item.key.length === 0) throw new TypeError('supply: key is empty');
  const meta = {
    self,
    peer,
    provenance: item.provenance,
    path: item.path,
    exposedTo: item.exposedTo ?? item.path,
    ...(item.owner !== undefined ? { owner: item.owner } : {}),
  };
  if (item.keyId !== undefined) {
    if (item.key.length <= CHUNK_BYTES) {
      const last = parseInt(item.keyId.slice(-1), 16) || 0;
      const mine = item.owner !== undefined ? item.owner === self : ownsChunk(self, peer, last);
      const one = { id: item.keyId.toLowerCase(), material: item.key, mine, ...baseMeta(meta, item.keyId) };
      return { blockId: item.keyId, total: 1, slice: (from, to) => (from <= 0 && to >= 1 ? [one] : []) };
    }
    return cut(item.key, `qkdnet:${pair}:key:${item.keyId}`, item.keyId, meta);
  }
  if (item.blockId === undefined) throw new TypeError('supply: a KeySupply needs keyId or blockId');
  return cut(item.key, `qkdnet:${pair}:${item.blockId}`, item.blockId, meta);
}

interface CutMeta {
  self: string;
  peer: string;
  provenance: Provenance;
  path: readonly string[];
  exposedTo: readonly string[];
  owner?: string;
}

function baseMeta(m: CutMeta, blockId: string) {
  return { provenance: m.provenance, path: m.path, exposedTo: m.exposedTo, blockId };
}

/**
 * Zeroes the chunk buffers `chunksFor` copied out of `item` (once the store has sealed them); buffers that
 * are the caller's own (`item.key` itself, for a single-chunk tagged key) are left to the caller.
 */
export function eraseChunkCopies(chunks: readonly ChunkInput[], item: SupplyItem): void {
  for (const c of chunks) if (c.material.buffer !== item.key.buffer) c.material.fill(0);
}

function cut(key: Uint8Array, name: string, blockId: string, m: CutMeta): ChunkCutter {
  const total = Math.ceil(key.length / CHUNK_BYTES);
  if (total > MAX_ITEM_CHUNKS) throw new TypeError(`supply: an item of ${total} chunks is too long`);
  const base = baseMeta(m, blockId);
  const idOf = chunkIds(name);
  return {
    blockId,
    total,
    slice(from, to) {
      const out: ChunkInput[] = [];
      for (let i = Math.max(0, from); i < Math.min(to, total); i++) {
        const mine = m.owner !== undefined ? m.owner === m.self : ownsChunk(m.self, m.peer, i);
        const off = i * CHUNK_BYTES;
        out.push({ id: idOf(i), material: key.slice(off, off + CHUNK_BYTES), mine, ...base });
      }
      return out;
    },
  };
}
