// @edge: keeps each link's authentication pool in a file of the data directory.
/**
 * Per-link authentication pools of the live key supply, kept across blocks and restarts. Wegman–Carter
 * authentication (src/postprocess auth.ts) is secure only if every hash key and pad is used once, so the
 * pool is a queue that only moves forward: a block's bits are *reserved* — erased from the pool and the
 * pool written durably — before the block runs; what the block did not use, plus the replenishment from
 * its fresh final key, is appended when it comes back. A block that never comes back (worker crash, power
 * loss, process killed) loses its reservation: those bits are never issued again.
 *
 * Files: `<dir>/<link id, URI-encoded>.pool`, mode 0600 in a 0700 directory, replaced atomically (write a
 * temporary file, fsync, rename, fsync the directory). Format, all integers big-endian:
 *   "QKDNAUTH" (8 bytes) | version u32 = 1 | next block index u64 | bits drawn so far u64 | pool bits u64 |
 *   pool bits, most significant bit of each byte first.
 * Without a directory (tests, one-shot runs) pools live in memory only.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
  chmodSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { BitArray, QkdnetError } from '../common/index.ts';
import { AuthKeyPool, bitsToBytes } from '../postprocess/index.ts';

const MAGIC = Buffer.from('QKDNAUTH', 'ascii');
const HEADER_BYTES = 8 + 4 + 8 + 8 + 8;

interface PoolState {
  pool: AuthKeyPool;
  nextBlock: number;
  drawn: number;
}

/** The pools of every link the supply serves. */
export class LinkAuthPools {
  readonly #dir: string | undefined;
  readonly #pools = new Map<string, PoolState>();

  /** Pools persisted in `dir` (created 0700), or in memory when `dir` is undefined. */
  constructor(dir: string | undefined) {
    this.#dir = dir;
    if (dir) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
    }
  }

  #file(linkId: string): string {
    return join(this.#dir!, `${encodeURIComponent(linkId)}.pool`);
  }

  /**
   * The link's pool: loaded from its file, or else created from `bootstrap()` (pre-shared bits) and
   * written at once.
   */
  open(linkId: string, bootstrap: () => AuthKeyPool): void {
    if (this.#pools.has(linkId)) return;
    const loaded = this.#dir && existsSync(this.#file(linkId)) ? this.#read(linkId) : undefined;
    const state = loaded ?? { pool: bootstrap(), nextBlock: 0, drawn: 0 };
    this.#pools.set(linkId, state);
    if (!loaded) this.#write(linkId, state);
  }

  #state(linkId: string): PoolState {
    const s = this.#pools.get(linkId);
    if (!s) throw new RangeError(`no authentication pool opened for link "${linkId}"`);
    return s;
  }

  /** Bits available in the link's pool. */
  availableBits(linkId: string): number {
    return this.#state(linkId).pool.availableBits;
  }

  /** Bits ever drawn from the link's pool (reservations), across restarts. */
  drawnBits(linkId: string): number {
    return this.#state(linkId).drawn;
  }

  /**
   * Reserves `bits` for the link's next block and makes the reservation durable before returning it,
   * with the block's index (also durable, so a restart never repeats an index). Null when the pool is short.
   */
  reserve(linkId: string, bits: number): { pool: AuthKeyPool; blockIndex: number } | null {
    const s = this.#state(linkId);
    const pool = s.pool.reserve(bits);
    if (!pool) return null;
    const blockIndex = s.nextBlock++;
    s.drawn += bits;
    this.#write(linkId, s);
    return { pool, blockIndex };
  }

  /** Appends bits a block handed back (unused reservation + replenishment) and writes the pool. */
  settle(linkId: string, bits: BitArray): void {
    const s = this.#state(linkId);
    s.pool.replenish(bits);
    bits.wipe();
    this.#write(linkId, s);
  }

  #read(linkId: string): PoolState {
    const file = this.#file(linkId);
    const buf = readFileSync(file);
    const bad = (why: string) =>
      new QkdnetError(
        'CONFIG_INVALID',
        `authentication pool ${file} is unreadable (${why}); refusing to start`,
      );
    if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) throw bad('not a pool file');
    if (buf.readUInt32BE(8) !== 1) throw bad(`version ${buf.readUInt32BE(8)}`);
    const nextBlock = Number(buf.readBigUInt64BE(12));
    const drawn = Number(buf.readBigUInt64BE(20));
    const bits = Number(buf.readBigUInt64BE(28));
    if (buf.length !== HEADER_BYTES + Math.ceil(bits / 8)) throw bad('truncated');
    const body = new Uint8Array(buf.subarray(HEADER_BYTES));
    const initial = BitArray.fromBytes(body, bits);
    body.fill(0);
    buf.fill(0);
    const pool = new AuthKeyPool(initial);
    initial.wipe();
    return { pool, nextBlock, drawn };
  }

  #write(linkId: string, s: PoolState): void {
    if (!this.#dir) return;
    const rest = s.pool.remaining();
    const body = bitsToBytes(rest);
    rest.wipe();
    const head = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(head, 0);
    head.writeUInt32BE(1, 8);
    head.writeBigUInt64BE(BigInt(s.nextBlock), 12);
    head.writeBigUInt64BE(BigInt(s.drawn), 20);
    head.writeBigUInt64BE(BigInt(rest.length), 28);
    const file = this.#file(linkId);
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, head);
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      body.fill(0);
    }
    renameSync(tmp, file);
    const dfd = openSync(this.#dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}
