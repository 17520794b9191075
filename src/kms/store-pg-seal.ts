/**
 * Encryption at rest in the PostgreSQL key store (./store-pg.ts): the same row sealing as the SQLite
 * store (./store-crypto.ts, AES-256-GCM under a per-row key derived with SP 800-108, the row's identity
 * bound as associated data), and the same `store_meta` entries — cipher, current key version, one check
 * value per version, the versions being retired — so every replica of a KME must hold the same store
 * key: a replica with another key is refused before it writes anything. PostgreSQL keeps dead row
 * versions until VACUUM and in its WAL; with sealing those hold ciphertext only.
 *
 * Rotation (`qkdnet kme rekey-store`), as SQLite's ./store-seal.ts but shared by replicas: a keyring with
 * a newer version makes it current (new rows sealed with it; old rows open with theirs) and records the
 * old version as retiring. Old rows are re-sealed in batches (`rekeyStep`, rows locked `FOR UPDATE SKIP
 * LOCKED`, so replicas re-seal different rows side by side) — but only once every live replica reports
 * holding the new version (`replicas.key_version`): a replica still on the old keyring could neither
 * open a re-sealed row nor stop sealing new rows under the old key. When no row under a retiring
 * version is left and no live replica is behind, the retiring list is cleared: from then on the old key
 * is not needed.
 */
import type { PoolClient } from 'pg';
import { QkdnetError } from '../common/index.ts';
import { rowAd, type Keyring } from './store-crypto.ts';

const CIPHER = 'aes-256-gcm/sp800-108-hmac-sha512';

/** Tables with a sealed `material` column and the columns bound as associated data (id first). */
const SEALED = [
  { table: 'chunks', key: 'seq', ad: ['id', 'peer', 'mine'] },
  { table: 'keys', key: 'id', ad: ['id', 'peer', 'master'] },
] as const;

async function readMeta(c: PoolClient): Promise<Map<string, string>> {
  return new Map(
    (await c.query<{ name: string; value: string }>('SELECT name, value FROM store_meta')).rows.map((r) => [
      r.name,
      r.value,
    ]),
  );
}

function put(c: PoolClient, name: string, value: string) {
  return c.query(
    'INSERT INTO store_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    [name, value],
  );
}

/** The first bytes of a value sealed under key version `v` (format byte, big-endian version). */
function headOf(v: number): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0x01;
  head.writeUInt32BE(v, 1);
  return head;
}

/** The sealing state of an open PostgreSQL store. */
export class PgSealing {
  #ring: Keyring | null;
  #retiring: number[];

  private constructor(ring: Keyring | null, retiring: number[]) {
    this.#ring = ring;
    this.#retiring = retiring;
  }

  /**
   * Checks `ring` against the store's metadata and records it (inside the caller's transaction, under
   * the migration lock): an encrypted store needs a ring holding its current version and every version
   * still retiring, every version the ring holds must match its check value, and a plaintext store with
   * rows cannot become encrypted here. A ring whose current version is newer starts a rotation.
   */
  static async init(c: PoolClient, ring: Keyring | null, where: string): Promise<PgSealing> {
    const meta = await readMeta(c);
    const refuse = (why: string) => new QkdnetError('STORE_KEY_INVALID', `Cannot open ${where}: ${why}`);
    if (meta.has('cipher')) {
      if (!ring) throw refuse('it is encrypted at rest and no store key was given');
      const s = new PgSealing(ring, parseList(meta.get('retiring')));
      await s.#adopt(c, ring, meta, refuse);
      return s;
    } else if (ring) {
      const rows = await c.query('SELECT 1 FROM chunks UNION ALL SELECT 1 FROM keys LIMIT 1');
      if (rows.rowCount! > 0) throw refuse('it holds plaintext rows (created with storeKey: { none: true })');
      await put(c, 'cipher', CIPHER);
      await put(c, 'key_version', String(ring.current));
      for (const v of ring.versions()) await put(c, `check_v${v}`, ring.checkValue(v));
    }
    return new PgSealing(ring, []);
  }

  /** Checks `ring` and makes it this replica's (a newer current version starts a rotation). */
  async #adopt(
    c: PoolClient,
    ring: Keyring,
    meta: Map<string, string>,
    refuse: (why: string) => QkdnetError,
  ): Promise<boolean> {
    const version = Number(meta.get('key_version'));
    const retiring = parseList(meta.get('retiring'));
    for (const v of [version, ...retiring])
      if (!ring.has(v)) throw refuse(`it needs store key v${v}, which the keyring does not hold`);
    for (const v of ring.versions()) {
      const check = meta.get(`check_v${v}`);
      if (check !== undefined && !ring.verifies(check))
        throw refuse(`store key v${v} is not the key this store was sealed with`);
      if (check === undefined) await put(c, `check_v${v}`, ring.checkValue(v));
    }
    if (ring.current > version) {
      retiring.push(version);
      await put(c, 'key_version', String(ring.current));
      await put(c, 'retiring', JSON.stringify([...new Set(retiring)].sort((a, b) => a - b)));
    }
    const previous = this.#ring;
    this.#ring = ring;
    if (previous && previous !== ring) previous.destroy();
    this.#retiring = ring.current > version ? [...new Set(retiring)] : retiring;
    return this.#retiring.length > 0;
  }

  /**
   * Takes (a copy of) a newer keyring while serving (inside the caller's transaction): refuses one that
   * lacks a version rows still use or whose keys fail their checks. Resolves true while rotating.
   */
  async setKeyring(c: PoolClient, given: Keyring): Promise<boolean> {
    if (!this.#ring) throw new QkdnetError('STORE_KEY_INVALID', 'This store is not encrypted at rest');
    await c.query('SELECT pg_advisory_xact_lock(1903520110)');
    const ring = given.only(given.versions());
    try {
      return await this.#adopt(
        c,
        ring,
        await readMeta(c),
        (why) => new QkdnetError('STORE_KEY_INVALID', `New store key refused: ${why}`),
      );
    } catch (e) {
      ring.destroy();
      throw e;
    }
  }

  /** The newest key version this replica holds (0: not encrypted). */
  get version(): number {
    return this.#ring?.current ?? 0;
  }

  /** True while rows may still be sealed under a retiring key (as this replica last saw it). */
  get rotating(): boolean {
    return this.#retiring.length > 0;
  }

  /**
   * Re-seals up to `limit` rows still under an older key (inside the caller's transaction); resolves
   * with how many. Does nothing while a live replica holds an older keyring than this one
   * (`behind`). When none is left, clears the retiring list.
   */
  async rekeyStep(c: PoolClient, limit: number, behind: boolean): Promise<number> {
    const ring = this.#ring;
    if (!ring) return 0;
    const meta = await readMeta(c);
    this.#retiring = parseList(meta.get('retiring'));
    if (this.#retiring.length === 0 || behind || Number(meta.get('key_version')) !== ring.current) return 0;
    const head = headOf(ring.current);
    let done = 0;
    for (const t of SEALED) {
      const rows = await c.query<Record<string, string | number> & { material: Buffer }>(
        `SELECT ${t.key === 'seq' ? 'seq, ' : ''}${t.ad.join(', ')}, material FROM ${t.table}
         WHERE substring(material from 1 for 5) <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [head, limit - done],
      );
      for (const r of rows.rows) {
        const ad = rowAd(t.table, ...t.ad.map((k) => r[k]!));
        const plain = ring.open(r.material, ad);
        await c.query(`UPDATE ${t.table} SET material = $1 WHERE ${t.key} = $2`, [
          ring.seal(plain, ad),
          r[t.key],
        ]);
        plain.fill(0);
      }
      done += rows.rows.length;
      if (done >= limit) return done;
    }
    if (done > 0) return done;
    // None left that this transaction could lock; one another transaction holds is still counted here.
    const left = await c.query(
      `SELECT 1 FROM chunks WHERE substring(material from 1 for 5) <> $1
       UNION ALL SELECT 1 FROM keys WHERE substring(material from 1 for 5) <> $1 LIMIT 1`,
      [head],
    );
    if (left.rowCount === 0) {
      await c.query(`DELETE FROM store_meta WHERE name = 'retiring'`);
      this.#retiring = [];
    }
    return 0;
  }

  /** True when rows are sealed. */
  get encrypted(): boolean {
    return this.#ring !== null;
  }

  /** Seals `plain` for the row of `table` identified by `fields` (id first, then owner fields). */
  seal(table: string, fields: readonly (string | number)[], plain: Uint8Array): Buffer {
    return this.#ring ? this.#ring.seal(plain, rowAd(table, ...fields)) : Buffer.from(plain);
  }

  /** Opens a stored value (a fresh plaintext buffer the caller zeroes). */
  open(table: string, fields: readonly (string | number)[], stored: Uint8Array): Buffer {
    return this.#ring ? this.#ring.open(stored, rowAd(table, ...fields)) : Buffer.from(stored);
  }

  /** Overwrites the keys in memory. */
  destroy(): void {
    this.#ring?.destroy();
  }
}

function parseList(s: string | undefined): number[] {
  return s ? (JSON.parse(s) as number[]) : [];
}
