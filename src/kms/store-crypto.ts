/**
 * Encryption at rest for key material in a KME store, as a small layer any store (SQLite here, PostgreSQL
 * later) can use: each row's material is sealed with AES-256-GCM (NIST SP 800-38D) under a key derived for
 * that row alone, and the row's identity (table, row id, owner) is bound as associated data, so a sealed
 * value copied into another row — or another table — fails authentication instead of decrypting.
 *
 * Per-row keys: with random 96-bit IVs, SP 800-38D §8.3 caps one key at 2³² encryptions; a link supplying
 * 10 Mbit/s in 256-bit chunks reaches that in about 30 hours. So each sealed value carries a random 128-bit
 * salt, and its AES key and IV come from the store key by the KDF in counter mode of NIST SP 800-108r1 §4.1
 * with HMAC-SHA-512 as PRF: K_row ‖ IV = PRF(K_store, [1]₃₂ ‖ "qkdnet store row" ‖ 0x00 ‖ salt ‖ [352]₃₂),
 * first 44 bytes. A key is then used for one encryption; collisions need two equal 128-bit salts.
 *
 * Sealed layout: 0x01 (format) ‖ key version (uint32 BE) ‖ salt (16) ‖ ciphertext ‖ tag (16). The header
 * (format, version, salt) is part of the associated data. Key versions make rotation possible while the
 * store serves: new rows use the newest key, old rows open with theirs until re-sealed (docs/kme.md).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { QkdnetError } from '../common/index.ts';

const FORMAT = 0x01;
const HEADER = 1 + 4 + 16;
const TAG = 16;
/** Bytes a sealed value adds to its plaintext. */
export const SEAL_OVERHEAD = HEADER + TAG;
/** Store-key length: AES-256. */
export const STORE_KEY_BYTES = 32;
const LABEL = Buffer.from('qkdnet store row\0', 'latin1');
/** The KDF input before and after the salt: [1]₃₂ ‖ Label ‖ 0x00, and [L]₃₂ with L = 352 bits. */
const KDF_HEAD = Buffer.concat([Buffer.from([0, 0, 0, 1]), LABEL]);
const KDF_TAIL = Buffer.from([0, 0, 0x01, 0x60]);
/** Salts are taken from a pool the CSPRNG refills this many bytes at a time (one call per 256 seals). */
const SALT_POOL_BYTES = 4096;
const CHECK_PLAIN = Buffer.alloc(32);
const CHECK_AD = 'qkdnet store key check';

/** A sealed value did not authenticate (wrong key, tampered or swapped row). */
export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

/**
 * Versioned store keys: the highest version seals, every version opens its own rows. Text form, one entry
 * per line (or separated by spaces or commas in an environment variable): `v<N>:<key>` with the key as 64
 * hex digits or base64 of 32 bytes; a bare key is version 1; `#` starts a comment.
 */
export class Keyring {
  readonly #keys: Map<number, Buffer>;
  readonly #current: number;

  constructor(keys: ReadonlyMap<number, Uint8Array>) {
    if (keys.size === 0) throw new RangeError('A keyring needs at least one key');
    this.#keys = new Map();
    for (const [v, k] of keys) {
      if (!Number.isSafeInteger(v) || v < 1 || v > 0xffffffff) throw new RangeError(`Key version ${v}`);
      if (k.length !== STORE_KEY_BYTES) throw new RangeError(`A store key has ${STORE_KEY_BYTES} bytes`);
      this.#keys.set(v, Buffer.from(k));
    }
    this.#current = Math.max(...this.#keys.keys());
  }

  /** A keyring with one fresh random key (node:crypto CSPRNG) as `version`. */
  static generate(version = 1): Keyring {
    return new Keyring(new Map([[version, randomBytes(STORE_KEY_BYTES)]]));
  }

  /** Parses the text form; `source` names where it came from in the error (never the text itself). */
  static parse(text: string, source: string): Keyring {
    const keys = new Map<number, Buffer>();
    const entries = text
      .split('\n')
      .map((l) => l.replace(/#.*/, ''))
      .flatMap((l) => l.split(/[\s,]+/))
      .filter(Boolean);
    for (const [i, e] of entries.entries()) {
      const m = /^(?:v(\d{1,10}):)?(.+)$/.exec(e)!;
      const version = m[1] === undefined ? 1 : Number(m[1]);
      const key = decodeKey(m[2]!);
      if (!key || version < 1 || version > 0xffffffff)
        throw new QkdnetError(
          'STORE_KEY_INVALID',
          `Store key ${source}: entry ${i + 1} is not v<N>:<64 hex digits or base64 of 32 bytes>`,
        );
      if (keys.has(version))
        throw new QkdnetError('STORE_KEY_INVALID', `Store key ${source}: version ${version} appears twice`);
      keys.set(version, key);
    }
    if (keys.size === 0) throw new QkdnetError('STORE_KEY_INVALID', `Store key ${source} holds no key`);
    const ring = new Keyring(keys);
    for (const k of keys.values()) k.fill(0);
    return ring;
  }

  /** The version new rows are sealed with (the highest). */
  get current(): number {
    return this.#current;
  }

  /** Versions held, ascending. */
  versions(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  /** True when version `v` is held. */
  has(v: number): boolean {
    return this.#keys.has(v);
  }

  /** A new keyring with a fresh random key as version current + 1 (the old ones kept). */
  withNewKey(): Keyring {
    const m = new Map<number, Uint8Array>(this.#keys);
    m.set(this.current + 1, randomBytes(STORE_KEY_BYTES));
    return new Keyring(m);
  }

  /** A new keyring holding only `versions`. */
  only(versions: readonly number[]): Keyring {
    return new Keyring(new Map([...this.#keys].filter(([v]) => versions.includes(v))));
  }

  /**
   * Copies of the keys by version (for a worker thread that seals in this process, ./supply-worker.ts);
   * the caller zeroes them once handed over.
   */
  copyKeys(): Map<number, Buffer> {
    return new Map([...this.#keys].map(([v, k]) => [v, Buffer.from(k)]));
  }

  /** The text form (for a key file; contains the keys — write it only to a 0600 file). */
  format(): string {
    return `${this.versions()
      .map((v) => `v${v}:${this.#keys.get(v)!.toString('base64')}`)
      .join('\n')}\n`;
  }

  /** Seals `plain` for the row identified by `ad` with the current key. */
  seal(plain: Uint8Array, ad: string): Buffer {
    const version = this.current;
    const out = Buffer.allocUnsafe(HEADER + plain.length + TAG);
    out[0] = FORMAT;
    out.writeUInt32BE(version, 1);
    takeSalt(out, 5);
    const k = this.#rowKey(version, out.subarray(5, HEADER));
    const c = createCipheriv('aes-256-gcm', k.subarray(0, 32), k.subarray(32, 44));
    k.fill(0);
    c.setAAD(aad(out, ad));
    const n = c.update(plain).copy(out, HEADER);
    c.final();
    c.getAuthTag().copy(out, HEADER + n);
    return out;
  }

  /** Opens a sealed value of the row `ad`; throws SealError if it does not authenticate. */
  open(sealed: Uint8Array, ad: string): Buffer {
    const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (b.length < SEAL_OVERHEAD || b[0] !== FORMAT) throw new SealError('not a sealed value');
    const version = b.readUInt32BE(1);
    if (!this.#keys.has(version)) throw new SealError(`sealed with store key v${version}, not held`);
    const k = this.#rowKey(version, b.subarray(5, HEADER));
    const d = createDecipheriv('aes-256-gcm', k.subarray(0, 32), k.subarray(32, 44));
    k.fill(0);
    d.setAAD(aad(b, ad));
    d.setAuthTag(b.subarray(b.length - TAG));
    const plain = d.update(b.subarray(HEADER, b.length - TAG));
    try {
      d.final();
    } catch {
      plain.fill(0);
      throw new SealError(`does not authenticate under store key v${version}`);
    }
    return plain;
  }

  /** A value proving knowledge of key `version` (stored in the store's metadata). */
  checkValue(version: number): string {
    const one = this.only([version]);
    try {
      return one.seal(CHECK_PLAIN, CHECK_AD).toString('base64');
    } finally {
      one.destroy();
    }
  }

  /** True when `check` (from `checkValue`) was made with the key this keyring holds under its version. */
  verifies(check: string): boolean {
    try {
      const p = this.open(Buffer.from(check, 'base64'), CHECK_AD);
      return p.length === CHECK_PLAIN.length && timingSafeEqual(p, CHECK_PLAIN);
    } catch {
      return false;
    }
  }

  /** Overwrites the keys with zeros (the keyring is unusable afterwards). */
  destroy(): void {
    for (const k of this.#keys.values()) k.fill(0);
  }

  /**
   * The row's key material: AES key (bytes 0–31) and IV (32–43) of the PRF output, which the caller
   * zeroes once its cipher holds them. SP 800-108r1 §4.1, one iteration: [i]₃₂ ‖ Label ‖ 0x00 ‖ Context ‖
   * [L]₃₂ with L = 352 bits.
   */
  #rowKey(version: number, salt: Buffer): Buffer {
    return createHmac('sha512', this.#keys.get(version)!)
      .update(KDF_HEAD)
      .update(salt)
      .update(KDF_TAIL)
      .digest();
  }
}

/** Version of the store key a sealed value uses (0 when it is not a sealed value). */
export function sealedVersion(sealed: Uint8Array): number {
  if (sealed.length < SEAL_OVERHEAD || sealed[0] !== FORMAT) return 0;
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).readUInt32BE(1);
}

/** Associated data of a row: its identity fields joined by NUL (table first, then id and owner). */
export function rowAd(table: string, ...fields: readonly (string | number)[]): string {
  return [table, ...fields].join('\0');
}

let saltPool = Buffer.alloc(0);
let saltAt = 0;

/**
 * Writes a fresh random 128-bit salt into `out` at `at`. Salts are public (stored in the header) and need
 * only be unpredictable and never repeat: each comes once from a pool of CSPRNG output.
 */
function takeSalt(out: Buffer, at: number): void {
  if (saltAt + 16 > saltPool.length) {
    saltPool = randomBytes(SALT_POOL_BYTES);
    saltAt = 0;
  }
  saltPool.copy(out, at, saltAt, saltAt + 16);
  saltAt += 16;
}

function aad(sealed: Buffer, ad: string): Buffer {
  return Buffer.concat([sealed.subarray(0, HEADER), Buffer.from(ad, 'utf8')]);
}

function decodeKey(s: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (!/^[A-Za-z0-9+/]{43}=?$/.test(s)) return null;
  const b = Buffer.from(s, 'base64');
  return b.length === STORE_KEY_BYTES ? b : null;
}
