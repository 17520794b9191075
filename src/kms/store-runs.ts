/**
 * Runs of chunks (table `chunk_runs` of ./store.ts): the key bytes of up to RUN_CHUNKS chunks stored
 * together as ONE sealed value, so storing a run costs one row key and one AES-256-GCM pass
 * (./store-crypto.ts) instead of one per 32-byte chunk — per-row sealing was ≈ 70 % of the supply
 * worker's time per chunk once chunk IDs had locality (docs/kme.md "Chunks in sealed runs").
 *
 * Layout of a run's plaintext: slot i (the chunk with `chunks.slot` = i) at bytes 32·i … 32·i + 31, a
 * shorter (tail) chunk zero-padded. Its manifest (column `manifest`, JSON `[[id, mine, bytes], …]` by
 * slot: chunk IDs, owner flags and lengths, no key material) is stored in the clear and bound to the
 * sealed value as associated data, so a chunk row pointing at another slot, or an owner flag flipped in
 * the database, fails authentication or the manifest check — as a per-chunk row's sealed ID and owner do.
 *
 * Erasure: a chunk that leaves the store has its slot overwritten with zeros and the run is sealed again
 * (an UPDATE of the same size overwrites the old value in place; `secure_delete` zeroes freed space);
 * the run row is deleted with its last chunk. All runs a call opens are cached for that call (`OpenRuns`)
 * and written once at its end (`flush`), so forming many keys from one run re-seals it once.
 */
import { QkdnetError } from '../common/index.ts';

/** Bytes per slot (the chunk size of ./supply.ts). */
export const SLOT_BYTES = 32;
/**
 * Most chunks per run: 1 KiB of key material, so a run row with its manifest fits one 4-KiB SQLite page
 * (re-sealing a run when one of its chunks is used rewrites one page, not an overflow chain).
 */
export const RUN_CHUNKS = 32;

/** One manifest entry: chunk ID, owner flag (1 = mine), bytes. */
export type ManifestEntry = [id: string, mine: number, bytes: number];

/** What a run holds, as stored. */
export interface RunRow {
  seq: number;
  peer: string;
  live: number;
  manifest: string;
  material: Buffer;
}

/** The chunk row fields a run lookup needs. */
export interface RunChunkRef {
  readonly id: string;
  readonly mine: number;
  readonly run: number | null;
  readonly slot: number | null;
}

/** Packs chunks into a run's plaintext and manifest (the caller zeroes the plaintext once sealed). */
export function packRun(chunks: readonly { id: string; mine: number; material: Uint8Array }[]): {
  plain: Buffer;
  manifest: string;
} {
  const plain = Buffer.alloc(chunks.length * SLOT_BYTES);
  const entries: ManifestEntry[] = [];
  for (const [i, c] of chunks.entries()) {
    if (c.material.length > SLOT_BYTES) throw new RangeError(`a chunk of ${c.material.length} bytes`);
    plain.set(c.material, i * SLOT_BYTES);
    entries.push([c.id, c.mine, c.material.length]);
  }
  return { plain, manifest: JSON.stringify(entries) };
}

/** Storage operations `OpenRuns` needs (the store's prepared statements and sealing). */
export interface RunIo {
  load(seq: number): RunRow | undefined;
  /** Opens a stored run (throws if it does not authenticate). */
  open(row: RunRow): Buffer;
  seal(row: { seq: number; peer: string; manifest: string }, plain: Uint8Array): Uint8Array;
  update(seq: number, live: number, material: Uint8Array): void;
  remove(seq: number): void;
}

interface Opened {
  readonly row: RunRow;
  readonly plain: Buffer;
  readonly manifest: ManifestEntry[];
  live: number;
  dirty: boolean;
}

/** The runs one call reads and erases from, opened once each (see the file header). */
export class OpenRuns {
  readonly #io: RunIo;
  readonly #open = new Map<number, Opened>();

  constructor(io: RunIo) {
    this.#io = io;
  }

  /** A copy of chunk `c`'s bytes (the caller zeroes it). Throws if the run does not hold that chunk. */
  chunk(c: RunChunkRef): Buffer {
    const { run, e } = this.#entry(c);
    const at = c.slot! * SLOT_BYTES;
    return Buffer.from(run.plain.subarray(at, at + e[2]));
  }

  /** Erases chunk `c` from its run (written at `flush`). */
  erase(c: RunChunkRef): void {
    const { run } = this.#entry(c);
    run.plain.fill(0, c.slot! * SLOT_BYTES, (c.slot! + 1) * SLOT_BYTES);
    run.live--;
    run.dirty = true;
  }

  /** Writes every run changed: sealed again without the erased chunks, or deleted with its last one. */
  flush(): void {
    for (const r of this.#open.values()) {
      if (!r.dirty) continue;
      r.dirty = false;
      if (r.live <= 0) this.#io.remove(r.row.seq);
      else this.#io.update(r.row.seq, r.live, this.#io.seal(r.row, r.plain));
    }
  }

  /** Zeroes every opened plaintext (always, after `flush` or on failure). */
  wipe(): void {
    for (const r of this.#open.values()) r.plain.fill(0);
    this.#open.clear();
  }

  #entry(c: RunChunkRef): { run: Opened; e: ManifestEntry } {
    let run = this.#open.get(c.run!);
    if (!run) {
      const row = this.#io.load(c.run!);
      if (!row) throw new Error(`chunk ${c.id}: its run ${c.run} is missing (broken invariant)`);
      run = {
        row,
        plain: this.#io.open(row),
        manifest: JSON.parse(row.manifest) as ManifestEntry[],
        live: row.live,
        dirty: false,
      };
      this.#open.set(row.seq, run);
    }
    const e = run.manifest[c.slot!];
    if (!e || e[0] !== c.id || e[1] !== c.mine)
      throw new QkdnetError(
        'KMS_STORE_FAILED',
        `Chunk ${c.id} does not match slot ${c.slot} of its run ${c.run} (the store was changed outside qkdnet?)`,
      );
    return { run, e };
  }
}
