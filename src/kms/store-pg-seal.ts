/**
 * Encryption at rest in the PostgreSQL key store (./store-pg.ts): the same row sealing as the SQLite
 * store (./store-crypto.ts, AES-256-GCM under a per-row key derived with SP 800-108, the row's identity
 * bound as associated data), and the same `store_meta` entries — cipher, current key version and one
 * check value per version — so every replica of a KME must hold the same store key: a replica with
 * another key is refused before it writes anything. PostgreSQL keeps dead row versions until VACUUM and
 * in its WAL; with sealing those hold ciphertext only.
 *
 * Key rotation: a keyring with a newer version makes it current (new rows sealed with it; old rows open
 * with theirs). Re-sealing old rows in place (SQLite's `rekeyStep`) is not done here: rows are short-lived
 * (chunks are consumed, keys fetched), so keep the old version in the keyring until they are gone.
 */
import type { PoolClient } from 'pg';
import { QkdnetError } from '../common/index.ts';
import { rowAd, type Keyring } from './store-crypto.ts';

const CIPHER = 'aes-256-gcm/sp800-108-hmac-sha512';

/** The sealing state of an open PostgreSQL store. */
export class PgSealing {
  readonly #ring: Keyring | null;

  private constructor(ring: Keyring | null) {
    this.#ring = ring;
  }

  /**
   * Checks `ring` against the store's metadata and records it (inside the caller's transaction, under
   * the migration lock): an encrypted store needs a ring holding its current version, every version the
   * ring holds must match its check value, and a plaintext store with rows cannot become encrypted here.
   */
  static async init(c: PoolClient, ring: Keyring | null, where: string): Promise<PgSealing> {
    const meta = new Map(
      (await c.query<{ name: string; value: string }>('SELECT name, value FROM store_meta')).rows.map((r) => [
        r.name,
        r.value,
      ]),
    );
    const put = (name: string, value: string) =>
      c.query(
        'INSERT INTO store_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
        [name, value],
      );
    const refuse = (why: string) => new QkdnetError('STORE_KEY_INVALID', `Cannot open ${where}: ${why}`);
    if (meta.has('cipher')) {
      if (!ring) throw refuse('it is encrypted at rest and no store key was given');
      const version = Number(meta.get('key_version'));
      if (!ring.has(version)) throw refuse(`it needs store key v${version}, which the keyring does not hold`);
      for (const v of ring.versions()) {
        const check = meta.get(`check_v${v}`);
        if (check !== undefined && !ring.verifies(check))
          throw refuse(`store key v${v} is not the key this store was sealed with`);
        if (check === undefined) await put(`check_v${v}`, ring.checkValue(v));
      }
      if (ring.current > version) await put('key_version', String(ring.current));
    } else if (ring) {
      const rows = await c.query('SELECT 1 FROM chunks UNION ALL SELECT 1 FROM keys LIMIT 1');
      if (rows.rowCount! > 0) throw refuse('it holds plaintext rows (created with storeKey: { none: true })');
      await put('cipher', CIPHER);
      await put('key_version', String(ring.current));
      for (const v of ring.versions()) await put(`check_v${v}`, ring.checkValue(v));
    }
    return new PgSealing(ring);
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
