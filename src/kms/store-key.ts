/**
 * Where a KME's store key comes from (docs/kme.md, "Store key"): a key file (mode 0600; created with a
 * fresh random key on first start when it is the embedded default), an environment variable, or a systemd
 * credential (`LoadCredential=` puts it in `$CREDENTIALS_DIRECTORY/<name>`, readable only by the service).
 * The text form is ./store-crypto.ts `Keyring`'s. A key file can be rotated while the KME runs (`qkdnet kme
 * rekey-store` writes the new keyring atomically; the KME watches the file); the other sources change
 * only with a restart.
 */
import {
  closeSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unwatchFile,
  watchFile,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { QkdnetError } from '../common/index.ts';
import { checkDataDir, makePrivateDir, PRIVATE_FILE_MODE, privatizeFiles } from './private-fs.ts';
import { Keyring } from './store-crypto.ts';

/** Default environment variable of the store key. */
export const STORE_KEY_ENV = 'QKDNET_STORE_KEY';
/** Default systemd credential name of the store key. */
export const STORE_KEY_CREDENTIAL = 'qkdnet-store-key';

/** The `storeKey` part of a KME configuration: exactly one of the fields. */
export interface StoreKeyConfig {
  /** Keyring file (mode 0600); created with a fresh key if missing. */
  readonly file?: string | undefined;
  /** Environment variable holding the keyring text. */
  readonly env?: string | undefined;
  /** systemd credential name: the file `$CREDENTIALS_DIRECTORY/<name>`. */
  readonly credential?: string | undefined;
  /** `true`: no encryption at rest (benchmarks and stores that must stay readable by older versions). */
  readonly none?: boolean | undefined;
}

/** A resolved store-key source. */
export type StoreKeySource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'credential'; readonly name: string; readonly path: string }
  | { readonly kind: 'ephemeral' }
  | { readonly kind: 'none' };

/**
 * Resolves the configured source; with none configured: `$QKDNET_STORE_KEY` if set, else the systemd
 * credential `qkdnet-store-key` if present, else the file `defaultFile` (an in-memory store gets an
 * ephemeral key).
 */
export function storeKeySource(
  cfg: StoreKeyConfig | undefined,
  defaultFile: string | null,
  env: NodeJS.ProcessEnv = process.env,
): StoreKeySource {
  const given = cfg ? (['file', 'env', 'credential', 'none'] as const).filter((k) => cfg[k]) : [];
  if (given.length > 1)
    throw new QkdnetError('CONFIG_INVALID', `KME config: storeKey takes one of file, env, credential, none`);
  if (cfg?.none) return { kind: 'none' };
  if (cfg?.file) return { kind: 'file', path: cfg.file };
  if (cfg?.env) return { kind: 'env', name: cfg.env };
  const credDir = env.CREDENTIALS_DIRECTORY;
  if (cfg?.credential) {
    if (!credDir)
      throw new QkdnetError(
        'STORE_KEY_INVALID',
        `Store key: credential "${cfg.credential}" named but $CREDENTIALS_DIRECTORY is not set (systemd LoadCredential=)`,
      );
    return { kind: 'credential', name: cfg.credential, path: join(credDir, cfg.credential) };
  }
  if (env[STORE_KEY_ENV]) return { kind: 'env', name: STORE_KEY_ENV };
  if (credDir && existsSync(join(credDir, STORE_KEY_CREDENTIAL)))
    return {
      kind: 'credential',
      name: STORE_KEY_CREDENTIAL,
      path: join(credDir, STORE_KEY_CREDENTIAL),
    };
  return defaultFile === null ? { kind: 'ephemeral' } : { kind: 'file', path: defaultFile };
}

/** One line naming a source (never its content). */
export function describeSource(s: StoreKeySource): string {
  switch (s.kind) {
    case 'file':
      return `file ${s.path}`;
    case 'env':
      return `environment variable ${s.name}`;
    case 'credential':
      return `systemd credential ${s.name}`;
    default:
      return s.kind;
  }
}

/** Options of `loadKeyring`. */
export interface LoadKeyringOptions {
  /** Create a missing key file with a fresh key (the embedded default). Default true. */
  readonly create?: boolean;
  /** Refuse a key file open to other users (else warn). */
  readonly strict?: boolean;
  readonly warn?: (line: string) => void;
}

/** Reads the keyring of `source` (null for `none`); creates a missing key file (0600) if allowed. */
export function loadKeyring(source: StoreKeySource, opts: LoadKeyringOptions = {}): Keyring | null {
  switch (source.kind) {
    case 'none':
      return null;
    case 'ephemeral':
      return Keyring.generate();
    case 'env': {
      const text = process.env[source.name];
      if (!text) throw new QkdnetError('STORE_KEY_INVALID', `Store key: ${source.name} is not set`);
      return Keyring.parse(text, `in ${source.name}`);
    }
    case 'credential':
      return Keyring.parse(readKeyText(source.path, describeSource(source)), describeSource(source));
    case 'file': {
      if (!existsSync(source.path)) {
        if (opts.create === false)
          throw new QkdnetError('STORE_KEY_INVALID', `Store key: no file ${source.path}`);
        makePrivateDir(dirname(source.path));
        const ring = Keyring.generate();
        try {
          writeFileSync(source.path, ring.format(), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
          privatizeFiles(source.path);
          return ring;
        } catch (e) {
          ring.destroy();
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        } // created meanwhile by another process: read theirs
      }
      checkDataDir(source.path, opts);
      return Keyring.parse(readKeyText(source.path, source.path), source.path);
    }
  }
}

/** Replaces a keyring file atomically: a temp file (0600, synced) in the same directory renamed over it. */
export function writeKeyringFile(path: string, ring: Keyring): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
    writeSync(fd, ring.format());
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * Calls `onChange` when the key file changes (polling its mtime every `intervalMs`; a rename-over by
 * `rekey-store` is seen too). Returns a function that stops watching. Other sources never change.
 */
export function watchKeyring(
  source: StoreKeySource,
  onChange: (ring: Keyring) => void,
  onError: (e: Error) => void,
  intervalMs = 500,
): () => void {
  if (source.kind !== 'file') return () => undefined;
  const listener = (cur: { mtimeMs: number; ino: number }, prev: { mtimeMs: number; ino: number }) => {
    if (cur.mtimeMs === prev.mtimeMs && cur.ino === prev.ino) return;
    if (cur.mtimeMs === 0) return; // removed (mid-rename): wait for the new one
    try {
      onChange(Keyring.parse(readKeyText(source.path, source.path), source.path));
    } catch (e) {
      onError(e as Error);
    }
  };
  watchFile(source.path, { interval: intervalMs, persistent: false }, listener);
  return () => unwatchFile(source.path, listener);
}

function readKeyText(path: string, what: string): string {
  try {
    if (!statSync(path).isFile()) throw Object.assign(new Error(), { code: 'EISDIR' });
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new QkdnetError(
      'STORE_KEY_INVALID',
      `Store key: cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}
