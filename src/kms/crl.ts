/**
 * Certificate revocation lists (RFC 5280 §5.1, X.509 v2 CRL): reads a PEM or DER CRL, verifies its
 * signature against the configured CA certificates (the CA that signed it is its issuer) and yields the
 * set of revoked serial numbers. A KME checks every caller (SAEs and peer KMEs, per request) and every
 * peer KME it calls against the current list; `watchCrl` reloads the file when it changes or on SIGHUP
 * and keeps the previous list when the new file is unreadable or badly signed (one log line). Written
 * by `qkdnet pki revoke` (./pki.ts). A list whose nextUpdate has passed is handled by policy
 * (`CrlExpiryPolicy`). Minimal DER reader: only the fields RFC 5280 §5.1.2 lists are read.
 */
import { createPublicKey, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { QkdnetError } from '../common/index.ts';

/** A verified CRL. */
export interface RevocationList {
  /** Revoked serial numbers, upper-case hex without leading zeros (as `PeerCertificate.serialNumber`). */
  readonly serials: ReadonlySet<string>;
  /** thisUpdate / nextUpdate (ms since epoch; nextUpdate undefined when absent). */
  readonly thisUpdateMs: number;
  readonly nextUpdateMs: number | undefined;
}

/** The empty list (no CRL configured). */
export const NO_REVOCATIONS: RevocationList = {
  serials: new Set(),
  thisUpdateMs: 0,
  nextUpdateMs: undefined,
};

/** Normalises a serial number (hex) to upper case without leading zeros. */
export function normSerial(hex: string): string {
  return hex
    .replace(/:/g, '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');
}

interface Tlv {
  readonly tag: number;
  readonly start: number; // first byte of the header
  readonly body: number; // first byte of the content
  readonly end: number; // one past the content
}

function tlv(b: Buffer, at: number, limit = b.length): Tlv {
  if (at + 2 > limit) throw new Error('truncated DER');
  const tag = b[at]!;
  let len = b[at + 1]!;
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[body + i]!;
    body += n;
  }
  if (body + len > limit) throw new Error('DER element overruns its parent');
  return { tag, start: at, body, end: body + len };
}

function children(b: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end;) {
    const t = tlv(b, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

function oid(b: Buffer, t: Tlv): string {
  const bytes = b.subarray(t.body, t.end);
  const parts: number[] = [];
  let v = 0;
  for (const x of bytes) {
    v = v * 128 + (x & 0x7f);
    if (!(x & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

function time(b: Buffer, t: Tlv): number {
  const s = b.toString('latin1', t.body, t.end);
  const m = /^(\d{2,4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m || (t.tag !== 0x17 && t.tag !== 0x18)) throw new Error('bad CRL time');
  let y = Number(m[1]);
  if (t.tag === 0x17) y += y < 50 ? 2000 : 1900; // UTCTime, RFC 5280 §4.1.2.5.1
  return Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Signature algorithms of RFC 5758 §3.2 (ECDSA) and RFC 4055 §5 (RSA PKCS #1 v1.5) → hash. */
const SIG_HASH: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** The CA certificates in a PEM bundle. */
export function certificatesOf(pem: string | Buffer): X509Certificate[] {
  const text = pem.toString();
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((p) => new X509Certificate(p));
}

/**
 * Parses and verifies a CRL (PEM or DER) against `cas`. Throws CONFIG_INVALID when it is malformed,
 * uses an unknown signature algorithm or no CA's key verifies it.
 */
export function parseCrl(data: Buffer, cas: readonly X509Certificate[]): RevocationList {
  const fail = (why: string) => new QkdnetError('CONFIG_INVALID', `CRL: ${why}`);
  let der = data;
  const pem = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/.exec(data.toString('latin1'));
  if (pem) der = Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64');
  try {
    const outer = tlv(der, 0);
    const [tbs, alg, sig] = children(der, outer);
    if (!tbs || !alg || !sig || sig.tag !== 0x03) throw new Error('not a CertificateList');
    const algOid = oid(der, children(der, alg)[0]!);
    const hash = SIG_HASH[algOid];
    if (!hash) throw fail(`unsupported signature algorithm ${algOid}`);
    const signed = der.subarray(tbs.start, tbs.end);
    const signature = der.subarray(sig.body + 1, sig.end); // skip the unused-bits octet
    const keys: KeyObject[] = cas.map((c) =>
      createPublicKey(c.publicKey.export({ type: 'spki', format: 'pem' })),
    );
    if (!keys.some((k) => verify(hash, signed, k, signature)))
      throw fail('its signature does not verify under any configured CA certificate');
    const f = children(der, tbs);
    let i = f[0]?.tag === 0x02 ? 1 : 0; // optional version
    i += 2; // signature AlgorithmIdentifier, issuer Name
    const thisUpdateMs = time(der, f[i++]!);
    let nextUpdateMs: number | undefined;
    if (f[i] && (f[i]!.tag === 0x17 || f[i]!.tag === 0x18)) nextUpdateMs = time(der, f[i++]!);
    const serials = new Set<string>();
    if (f[i] && f[i]!.tag === 0x30)
      for (const entry of children(der, f[i]!)) {
        const serial = children(der, entry)[0];
        if (!serial || serial.tag !== 0x02) throw new Error('bad revoked entry');
        serials.add(normSerial(der.toString('hex', serial.body, serial.end)));
      }
    return { serials, thisUpdateMs, nextUpdateMs };
  } catch (e) {
    if (e instanceof QkdnetError) throw e;
    throw fail(`malformed (${(e as Error).message})`);
  }
}

/** Reads and verifies the CRL file at `path`. */
export function loadCrl(path: string, cas: readonly X509Certificate[]): RevocationList {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new QkdnetError('CONFIG_INVALID', `Cannot read CRL ${path}: ${(e as NodeJS.ErrnoException).code}`);
  }
  return parseCrl(data, cas);
}

/**
 * What a relying party does once its CRL's nextUpdate has passed: it then holds no current revocation
 * information (RFC 5280 §5.1.2.5, §6.3.3). `refuse` (the default) refuses every certificate the list
 * would judge — KME callers and peers get 401, dashboard certificate logins are ignored — until a fresh
 * CRL is loaded; `alert` keeps judging by the stale list. Either way the lapse is logged at error level
 * and reported once per list (`onExpired`). docs/kme.md "Revocation" states the policy.
 */
export type CrlExpiryPolicy = 'refuse' | 'alert';

/** True when `list` has a nextUpdate and `nowMs` is past it. */
export function crlExpired(list: RevocationList, nowMs: number): boolean {
  return list.nextUpdateMs !== undefined && nowMs > list.nextUpdateMs;
}

/** A CRL that follows its file. */
export interface CrlWatch {
  current(): RevocationList;
  /** True when the current list's nextUpdate has passed (reports the lapse once per list). */
  expired(): boolean;
  /** Re-reads the file now (what SIGHUP does); false when the new file was refused. */
  reload(): boolean;
  stop(): void;
}

/** Options of `watchCrl`. */
export interface CrlWatchOptions {
  /** How often the file is polled for changes, ms (default 500). */
  readonly intervalMs?: number;
  /** Called once per list when its nextUpdate has passed (checked every second and on each use). */
  readonly onExpired?: (list: RevocationList) => void;
  /** The clock (tests). */
  readonly now?: () => number;
}

/**
 * Loads `path` (throws on a bad file at start) and reloads it when its size or mtime changes (polled
 * every `intervalMs`, which also survives atomic replacement by rename) and on SIGHUP.
 */
export function watchCrl(
  path: string,
  cas: readonly X509Certificate[],
  log: { info(o: object, m: string): void; error(o: object, m: string): void },
  opts: CrlWatchOptions = {},
): CrlWatch {
  const now = opts.now ?? Date.now;
  let list = loadCrl(path, cas);
  let reported: RevocationList | undefined;
  const expired = () => {
    if (!crlExpired(list, now())) return false;
    if (reported !== list) {
      reported = list;
      log.error(
        { crl: path, nextUpdate: new Date(list.nextUpdateMs!).toISOString() },
        'CRL expired (nextUpdate passed): write a fresh one, e.g. qkdnet pki crl',
      );
      opts.onExpired?.(list);
    }
    return true;
  };
  const reload = () => {
    try {
      list = loadCrl(path, cas);
      log.info({ crl: path, revoked: list.serials.size }, 'CRL reloaded');
      return true;
    } catch (e) {
      log.error({ crl: path, err: (e as Error).message }, 'CRL reload refused; keeping the previous list');
      return false;
    }
  };
  const onChange = () => void reload();
  const onHup = () => void reload();
  watchFile(path, { interval: opts.intervalMs ?? 500, persistent: false }, onChange);
  process.on('SIGHUP', onHup);
  const tick = setInterval(expired, 1000);
  tick.unref();
  expired();
  return {
    current: () => list,
    expired,
    reload,
    stop() {
      clearInterval(tick);
      unwatchFile(path, onChange);
      process.off('SIGHUP', onHup);
    },
  };
}

/**
 * The revocation check of a relying party: `serial` (normalised, `normSerial`) is refused when the
 * current CRL lists it — or, under policy `refuse`, when the CRL has expired. No CRL: nothing is refused.
 */
export function revocationCheck(
  watch: CrlWatch | undefined,
  policy: CrlExpiryPolicy = 'refuse',
): (serial: string) => boolean {
  if (!watch) return () => false;
  return (serial) => (watch.expired() && policy === 'refuse') || watch.current().serials.has(serial);
}
