// @edge: the PPK provenance of every SA, written to the harness's work directory for `qkdnet ipsec status`
/**
 * Which PPK protects which IKE SA, and where the PPK came from: one entry per SA an agent set up
 * (connection, IKE SA unique id, PPK_ID = key_ID, provenance `qkd` / `hybrid` / `pqc` …, when it came up
 * and when it was retired), plus alert counts by kind. Key_IDs are identifiers, not secrets (ETSI GS QKD
 * 014 §5 passes them between SAEs in the clear); no key material is recorded. The harness keeps the
 * ledger in `sas.json` of its private work directory (replaced atomically: a new O_EXCL file renamed over
 * the old), which `qkdnet ipsec status` reads; ./sa-metrics.ts renders ledgers as Prometheus metrics
 * (gauge of SAs up and counters of PPKs and alerts, by provenance and kind).
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Alert, Provenance } from '../common/index.ts';
import { writeNewFile } from './workdir.ts';

/** One SA's PPK. */
export interface LedgerEntry {
  readonly conn: string;
  readonly ikeUniqueId: string;
  readonly keyId: string;
  readonly provenance: Provenance;
  readonly upAt: string;
  retiredAt?: string;
}

/** The ledger as stored. */
export interface LedgerFile {
  readonly sas: LedgerEntry[];
  readonly alerts: Record<string, number>;
  readonly policy: string;
}

/** An in-memory ledger, optionally mirrored to `<dir>/sas.json`. */
export class SaLedger {
  readonly #file: LedgerFile;
  readonly #dir: string | undefined;
  readonly #everyMs: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `dir`: mirror to `<dir>/sas.json`, at most every `everyMs` (many SAs per second at scale). */
  constructor(policy: string, dir?: string, everyMs = 250) {
    this.#file = { sas: [], alerts: {}, policy };
    this.#dir = dir;
    this.#everyMs = everyMs;
    this.flush();
  }

  /** A new SA with its PPK. */
  up(conn: string, ikeUniqueId: string, keyId: string, provenance: Provenance): void {
    this.#file.sas.push({ conn, ikeUniqueId, keyId, provenance, upAt: new Date().toISOString() });
    this.#write();
  }

  /** The SA protected by `keyId` was deleted. */
  retired(keyId: string): void {
    const e = this.#file.sas.find((s) => s.keyId === keyId && !s.retiredAt);
    if (e) e.retiredAt = new Date().toISOString();
    this.#write();
  }

  alert(a: Alert): void {
    this.#file.alerts[a.kind] = (this.#file.alerts[a.kind] ?? 0) + 1;
    this.#write();
  }

  get value(): LedgerFile {
    return this.#file;
  }

  #write(): void {
    if (!this.#dir || this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      // the work directory may be gone already (teardown): a ledger is a report, never a crash
      try {
        this.flush();
      } catch {
        this.#closed = true;
      }
    }, this.#everyMs);
    this.#timer.unref();
  }

  /** Stops writing (before the work directory is removed). */
  close(): void {
    clearTimeout(this.#timer);
    this.#closed = true;
  }

  /** Writes the file now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#dir || this.#closed) return;
    const tmp = join(this.#dir, `sas.${randomBytes(6).toString('hex')}.tmp`);
    writeNewFile(tmp, JSON.stringify(this.#file));
    renameSync(tmp, join(this.#dir, 'sas.json'));
  }
}

/** Reads `<dir>/sas.json` if it is a regular file of this user (never through a symlink). */
export function readLedger(dir: string): LedgerFile | undefined {
  const path = join(dir, 'sas.json');
  try {
    const st = lstatSync(path);
    if (!st.isFile() || st.uid !== (process.getuid?.() ?? 0)) return undefined;
    return JSON.parse(readFileSync(path, 'utf8')) as LedgerFile;
  } catch {
    return undefined;
  }
}
