/**
 * Chunk-granular key formation for the key store (./store.ts): a key of B bytes consumes exactly B bytes
 * of the link's key stream — an 8-bit key takes one byte of a 256-bit chunk, and the chunk's other 31
 * bytes stay in the pool for the next keys, at both ends. The owner consumes its chunks in store order;
 * a key is the list of pieces (chunk, start, length) it took, and its reservation names the chunks and
 * the start offset in the first one (`offset`), so the other KME cuts exactly the same bytes whatever
 * order reservations reach it in. Each end records per chunk which bytes are used (a bit mask, table
 * `chunk_use`), refuses a reservation that would use a byte twice, and deletes a chunk once every byte
 * of it was used.
 */
import { randomUUID } from 'node:crypto';
import { PROVENANCE_ORDER } from '../common/index.ts';
import type { ChunkRow } from './store-sql.ts';
import type { FormedKey, KeyMeta } from './store.ts';

/** Largest chunk (bytes) the use masks cover: ./supply.ts cuts every chunk to at most 32 bytes. */
export const MAX_CHUNK_BYTES = 32;

/** Bit mask of bytes `[start, start + length)` of a chunk (bit i = byte i used). */
export function byteMask(start: number, length: number): number {
  if (start < 0 || length < 0 || start + length > MAX_CHUNK_BYTES)
    throw new RangeError(`byteMask: bytes ${start}+${length} outside a ${MAX_CHUNK_BYTES}-byte chunk`);
  return ((2 ** length - 1) * 2 ** start) >>> 0;
}

/** Bytes set in a use mask. */
export function usedBytes(mask: number): number {
  let n = 0;
  for (let m = mask >>> 0; m !== 0; m = (m & (m - 1)) >>> 0) n++;
  return n;
}

/** First byte after the highest used one (where the owner, consuming in order, continues). */
export const nextFree = (mask: number): number => (mask === 0 ? 0 : 32 - Math.clz32(mask));

/** The bytes `[start, start + length)` of one chunk row that go into a key. */
export interface Piece {
  readonly row: ChunkRow;
  readonly start: number;
  readonly length: number;
}

/**
 * Cuts up to `number` keys of `bytes` bytes from `rows` (in store order), starting in each chunk at
 * `startOf(id)` (after the bytes already taken). Returns each key's pieces; fewer if the rows run out.
 */
export function cutKeys(
  rows: Iterable<ChunkRow>,
  startOf: (chunkId: string) => number,
  bytes: number,
  number: number,
): Piece[][] {
  const keys: Piece[][] = [];
  let cur: Piece[] = [];
  let need = bytes;
  for (const row of rows) {
    let start = startOf(row.id);
    while (start < row.material.length) {
      const length = Math.min(need, row.material.length - start);
      cur.push({ row, start, length });
      start += length;
      need -= length;
      if (need > 0) continue;
      keys.push(cur);
      if (keys.length === number) return keys;
      cur = [];
      need = bytes;
    }
  }
  return keys;
}

/**
 * The pieces of a reservation at the receiving KME: the chunks in order, from `offset` in the first,
 * `bytes` in all. Undefined if the chunks hold too few bytes.
 */
export function piecesOf(rows: readonly ChunkRow[], offset: number, bytes: number): Piece[] | undefined {
  const out: Piece[] = [];
  let need = bytes;
  let start = offset;
  for (const row of rows) {
    if (need === 0 || start >= row.material.length) return undefined; // a chunk named for nothing
    const length = Math.min(need, row.material.length - start);
    out.push({ row, start, length });
    need -= length;
    start = 0;
  }
  return need === 0 ? out : undefined;
}

/** Key from pieces, with merged metadata. The key_ID is the chunk's ID only when it is exactly one whole chunk. */
export function formKeyFromPieces(pieces: readonly Piece[], sizeBits: number, keyId?: string): FormedKey {
  const key = new Uint8Array(sizeBits / 8);
  let off = 0;
  for (const p of pieces) {
    key.set(p.row.material.subarray(p.start, p.start + p.length), off);
    off += p.length;
  }
  const rows = pieces.map((p) => p.row);
  const rank = Math.max(...rows.map((r) => r.prov_rank));
  const path: string[] = [];
  const exposed = new Set<string>();
  for (const r of rows) {
    for (const n of JSON.parse(r.path) as string[]) if (!path.includes(n)) path.push(n);
    for (const n of JSON.parse(r.exposed) as string[]) exposed.add(n);
  }
  const meta: KeyMeta = {
    provenance: PROVENANCE_ORDER[rank] ?? 'pqc',
    path,
    exposedTo: [...exposed],
    blockIds: [...new Set(rows.map((r) => r.block_id))],
  };
  const whole =
    pieces.length === 1 && pieces[0]!.start === 0 && pieces[0]!.length === rows[0]!.material.length;
  return {
    keyId: keyId ?? (whole ? rows[0]!.id : randomUUID()),
    key,
    sizeBits,
    chunkIds: rows.map((r) => r.id),
    offset: pieces[0]?.start ?? 0,
    chunks: pieces.map((p) => ({ seq: p.row.seq, bytes: p.length })),
    meta,
  };
}
