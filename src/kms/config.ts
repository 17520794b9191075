/**
 * Configuration of one KME (`qkdnet kme serve --config kme.yaml` and `startKme(config)`): node id, listen
 * address, TLS material, the SAEs it serves with their certificate identities, peer KMEs and the SAEs
 * behind them, the store path, key-size limits and southbound file/stream adapters. Validated with a
 * TypeBox schema; every failure is one CONFIG_INVALID naming the field.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { QkdnetError } from '../common/index.ts';
import { STORE_KEY_CREDENTIAL, STORE_KEY_ENV } from './store-key.ts';

/** True when a `store` value names a PostgreSQL database (`postgres://…` or `postgresql://…`). */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\//.test(store);
}

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' });
const Pem = Type.Union([Type.String({ minLength: 1 }), Type.Uint8Array()]);
/** A certificate pin (src/kms/identity.ts `CertPin`): SPKI SHA-256 hashes and/or full subject/issuer DNs. */
const Pin = Type.Object(
  {
    spkiSha256: Type.Optional(
      Type.Array(Type.String({ pattern: '^(sha256/)?([A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})$' }), {
        minItems: 1,
      }),
    ),
    subject: Type.Optional(Type.String({ minLength: 3 })),
    issuer: Type.Optional(Type.String({ minLength: 3 })),
  },
  { additionalProperties: false },
);

/** A per-SAE quota (./quota.ts): reserved pool share and token-bucket rate limit, in bits. */
const Quota = Type.Object(
  {
    bitsPerSecond: Type.Optional(Type.Integer({ minimum: 1 })),
    burstBits: Type.Optional(Type.Integer({ minimum: 8 })),
    reserveBits: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

const Schema = Type.Object(
  {
    id: Id,
    host: Type.Optional(Type.String({ minLength: 1 })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    tls: Type.Object(
      {
        cert: Pem,
        key: Pem,
        ca: Pem,
        crl: Type.Optional(Type.String({ minLength: 1 })),
        crlExpiry: Type.Optional(Type.Union([Type.Literal('refuse'), Type.Literal('alert')])),
      },
      { additionalProperties: false },
    ),
    store: Type.String({ minLength: 1 }),
    durability: Type.Optional(Type.Union([Type.Literal('group'), Type.Literal('full')])),
    storeKey: Type.Optional(
      Type.Object(
        {
          file: Type.Optional(Type.String({ minLength: 1 })),
          env: Type.Optional(Type.String({ minLength: 1, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })),
          credential: Type.Optional(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9._-]+$' })),
          none: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    saes: Type.Array(
      Type.Object({
        id: Id,
        certSubject: Type.Optional(Type.String({ minLength: 1 })),
        /** A test SAE: may receive `simulated-deterministic` keys (reproducible from a public seed). */
        test: Type.Optional(Type.Boolean()),
        pin: Type.Optional(Pin),
        quota: Type.Optional(Quota),
      }),
      { minItems: 1 },
    ),
    peers: Type.Optional(
      Type.Array(
        Type.Object({
          id: Id,
          url: Type.String({ pattern: '^https://' }),
          /** Further URLs of the same peer KME (its replicas), tried after `url` on failure. */
          urls: Type.Optional(Type.Array(Type.String({ pattern: '^https://' }))),
          saes: Type.Array(Id),
          certSubject: Type.Optional(Type.String({ minLength: 1 })),
          pin: Type.Optional(Pin),
          /**
           * How the trusted-node relay hop to this peer is carried: `qkdnet` (default; one-time pad over
           * their QKD link) or `etsi020` (an inter-domain hop in an interworking node, ETSI GS QKD 020).
           */
          protocol: Type.Optional(Type.Union([Type.Literal('qkdnet'), Type.Literal('etsi020')])),
        }),
      ),
    ),
    /** QKD devices that push key material (ETSI 004 push profile): `peer` is the KME at the link's far end. */
    devices: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Id,
            peer: Id,
            certSubject: Type.Optional(Type.String({ minLength: 1 })),
            pin: Type.Optional(Pin),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    /** ETSI GS QKD 020 settings: `pen`, the IANA Private Enterprise Number naming qkdnet's extensions. */
    etsi020: Type.Optional(
      Type.Object(
        { pen: Type.Optional(Type.Integer({ minimum: 1, maximum: 4294967295 })) },
        { additionalProperties: false },
      ),
    ),
    keys: Type.Optional(
      Type.Object({
        defaultSizeBits: Type.Optional(Type.Integer({ minimum: 8, multipleOf: 8 })),
        minSizeBits: Type.Optional(Type.Integer({ minimum: 8, multipleOf: 8 })),
        maxSizeBits: Type.Optional(Type.Integer({ minimum: 8, maximum: 1048576, multipleOf: 8 })),
        maxPerRequest: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
        maxSaeIdCount: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
        maxChunksPerPeer: Type.Optional(Type.Integer({ minimum: 1 })),
        saeQuota: Type.Optional(Quota), // every SAE without its own `quota`
      }),
    ),
    supply: Type.Optional(
      Type.Array(
        Type.Object({ peer: Id, file: Type.String({ minLength: 1 }), follow: Type.Optional(Type.Boolean()) }),
      ),
    ),
    metrics: Type.Optional(
      Type.Object(
        { bearerTokenFile: Type.Optional(Type.String({ minLength: 1 })) },
        { additionalProperties: false },
      ),
    ),
    logLevel: Type.Optional(
      Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    ),
    logRequests: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/**
 * KME configuration. `tls.cert|key|ca` are PEM text (or Buffers) or file paths; `tls.crl` a CRL file
 * (reloaded on change and SIGHUP); `tls.crlExpiry` what happens once its nextUpdate passes (`refuse`,
 * the default, or `alert`: src/kms/crl.ts). SAEs and peers may carry a `pin` (SPKI SHA-256 and/or subject and
 * issuer DNs, src/kms/identity.ts); `metrics.bearerTokenFile` admits a scraper by token beside the
 * `metrics` role certificate. `port` 0 (default) picks
 * a free port. Peers list the SAEs they serve so this KME knows where a slave lives.
 */
export type KmeConfig = Static<typeof Schema>;

/** Key limits with defaults filled in (014 status fields). */
export interface KeyLimits {
  defaultSizeBits: number;
  minSizeBits: number;
  maxSizeBits: number;
  maxPerRequest: number;
  maxSaeIdCount: number;
  maxChunksPerPeer: number;
}

/** Checks a configuration object; throws CONFIG_INVALID with the first problem. */
export function validateKmeConfig(raw: unknown): KmeConfig {
  if (!Value.Check(Schema, raw)) {
    const e = Value.Errors(Schema, raw).First();
    throw new QkdnetError('CONFIG_INVALID', `KME config: ${e?.path || '/'} ${e?.message ?? 'is invalid'}`);
  }
  const c = raw;
  const ids = new Set<string>([c.id]);
  for (const s of [...c.saes.map((x) => x.id), ...(c.peers ?? []).flatMap((p) => [p.id, ...p.saes])]) {
    if (ids.has(s)) throw new QkdnetError('CONFIG_INVALID', `KME config: id "${s}" appears twice`);
    ids.add(s);
  }
  const k = keyLimits(c);
  if (!(k.minSizeBits <= k.defaultSizeBits && k.defaultSizeBits <= k.maxSizeBits))
    throw new QkdnetError(
      'CONFIG_INVALID',
      'KME config: keys need minSizeBits ≤ defaultSizeBits ≤ maxSizeBits',
    );
  const peerIds = new Set((c.peers ?? []).map((p) => p.id));
  for (const s of c.supply ?? [])
    if (!peerIds.has(s.peer))
      throw new QkdnetError('CONFIG_INVALID', `KME config: supply names unknown peer "${s.peer}"`);
  for (const d of c.devices ?? [])
    if (!peerIds.has(d.peer))
      throw new QkdnetError('CONFIG_INVALID', `KME config: device "${d.id}" names unknown peer "${d.peer}"`);
  return c;
}

/** Key limits of a configuration, defaults filled in. */
export function keyLimits(c: KmeConfig): KeyLimits {
  return {
    defaultSizeBits: c.keys?.defaultSizeBits ?? 256,
    minSizeBits: c.keys?.minSizeBits ?? 8,
    maxSizeBits: c.keys?.maxSizeBits ?? 65536,
    maxPerRequest: c.keys?.maxPerRequest ?? 1000,
    maxSaeIdCount: c.keys?.maxSaeIdCount ?? 8,
    maxChunksPerPeer: c.keys?.maxChunksPerPeer ?? 1_000_000,
  };
}

/** Reads PEM text: a Buffer or PEM string as is, anything else as a file path (relative to `baseDir`). */
export function readPem(v: string | Uint8Array, baseDir = '.'): Buffer {
  if (typeof v !== 'string') return Buffer.isBuffer(v) ? v : Buffer.from(v);
  if (v.includes('-----BEGIN')) return Buffer.from(v);
  const p = isAbsolute(v) ? v : resolve(baseDir, v);
  try {
    return readFileSync(p);
  } catch (e) {
    throw new QkdnetError(
      'CONFIG_INVALID',
      `Cannot read TLS file ${p}: ${(e as NodeJS.ErrnoException).code}`,
    );
  }
}

/** Loads and validates a YAML config; relative paths (TLS files, store, supply files) resolve from its folder. */
export function loadKmeConfig(path: string): KmeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new QkdnetError(
      'CONFIG_INVALID',
      `Cannot read KME config ${path}: ${(e as NodeJS.ErrnoException).code}`,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new QkdnetError(
      'CONFIG_INVALID',
      `KME config ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const c = validateKmeConfig(raw);
  const dir = dirname(resolve(path));
  const rel = (p: string) => (isAbsolute(p) || p === ':memory:' || isPostgresUrl(p) ? p : resolve(dir, p));
  // The store key's default file lives beside the KME's TLS key (the PKI), not beside the store.
  const keyFile =
    c.storeKey?.file !== undefined
      ? rel(c.storeKey.file)
      : !c.storeKey && typeof c.tls.key === 'string' && !c.tls.key.includes('-----BEGIN')
        ? join(dirname(rel(c.tls.key)), 'store.key')
        : undefined;
  const credentials = process.env.CREDENTIALS_DIRECTORY;
  const envOrCredential =
    !c.storeKey &&
    (process.env[STORE_KEY_ENV] || (credentials && existsSync(join(credentials, STORE_KEY_CREDENTIAL))));
  return {
    ...c,
    ...(keyFile && !envOrCredential ? { storeKey: { ...c.storeKey, file: keyFile } } : {}),
    tls: {
      cert: readPem(c.tls.cert, dir),
      key: readPem(c.tls.key, dir),
      ca: readPem(c.tls.ca, dir),
      ...(c.tls.crl ? { crl: rel(c.tls.crl) } : {}),
      ...(c.tls.crlExpiry ? { crlExpiry: c.tls.crlExpiry } : {}),
    },
    store: rel(c.store),
    ...(c.metrics?.bearerTokenFile ? { metrics: { bearerTokenFile: rel(c.metrics.bearerTokenFile) } } : {}),
    ...(c.supply ? { supply: c.supply.map((s) => ({ ...s, file: rel(s.file) })) } : {}),
  };
}
