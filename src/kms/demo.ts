/**
 * `qkdnet kme demo`: two KMEs joined by one link, for a first try. KME A (`kme-a`, SAEs `sae-a`, `sae-c`)
 * at https://127.0.0.1:P, KME B (`kme-b`, SAE `sae-b`) at P+1; a link feeds both stores the same final
 * key blocks every `intervalMs`. The PKI lands in DIR (ca.pem, crl.pem, kme-{a,b}.pem/.key,
 * sae-{a,b,c}.pem/.key, metrics.pem/.key), the stores in DIR/kme-{a,b}.db. Every identity is pinned by
 * its SPKI and the KMEs follow DIR/crl.pem. Without a `blockSource` the link is a stand-in: blocks from
 * node:crypto's CSPRNG delivered identically to both ends (the CLI passes the real link engine when it is
 * available).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FinalKeyBlock } from '../common/index.ts';
import { spkiSha256 } from './identity.ts';
import { createPki, crlPath, issueCertificate, writeCrl } from './pki.ts';
import { startKme, type KmeHandle } from './server.ts';
import { withDataDirLock } from './data-dir.ts';
import type { ProcessLock } from './store-lock.ts';
import type { SupplyItem } from './supply.ts';

/** Delivers one item to the KMEs at both ends of a link (synchronised IDs: both cut it alike). */
export function supplyBoth(
  a: Pick<KmeHandle, 'id' | 'supply'>,
  b: Pick<KmeHandle, 'id' | 'supply'>,
  item: SupplyItem,
): { a: number; b: number } {
  return { a: a.supply(b.id, item), b: b.supply(a.id, item) };
}

/** A stand-in link: `bits` of CSPRNG key per block (not QKD; for demos and benchmarks only). */
export function csprngBlockSource(linkId: string, bits: number): () => FinalKeyBlock {
  let n = 0;
  return () => ({
    linkId,
    blockId: `${linkId}-${Date.now().toString(36)}-${(n++).toString(36)}`,
    key: new Uint8Array(randomBytes(bits / 8)),
    bits,
    estimates: { qber: 0, phaseErrorBound: 0, leakedBits: 0, epsilonSec: 0, epsilonCor: 0 },
    createdNs: Date.now() * 1e6,
  });
}

/** Options of `runKmeDemo`. */
export interface KmeDemoOptions {
  readonly dir: string;
  /** KME A's port; KME B listens on port + 1. Default 8443. */
  readonly port?: number;
  /** Bits per link block. Default 65,536. */
  readonly blockBits?: number;
  /** Time between blocks. Default 1000 ms. */
  readonly intervalMs?: number;
  /**
   * Where the link's blocks come from: a function polled every `intervalMs`, `null` when the caller feeds
   * both KMEs itself (e.g. the CLI's simulated QKD link), or by default the CSPRNG stand-in (tests).
   */
  readonly blockSource?: (() => FinalKeyBlock) | null;
  /**
   * Configure sae-a, sae-b and sae-c as test SAEs (`test: true`), the only SAEs a KME hands
   * `simulated-deterministic` keys (`qkdnet kme demo --deterministic-keys`). Default false.
   */
  readonly testSaes?: boolean;
  readonly logLevel?: 'silent' | 'error' | 'warn' | 'info';
  /** Refuse a data directory open to other users instead of warning (`--strict-permissions`). */
  readonly strictPermissions?: boolean;
  /** Where one-line permission warnings go (default: stderr). */
  readonly warn?: (line: string) => void;
  /** Stores of KME A and B (SQLite paths or postgres:// URLs). Default DIR/kme-{a,b}.db. */
  readonly stores?: { readonly a: string; readonly b: string };
  /** A second replica of KME A on the same store at this port (the store must be PostgreSQL). */
  readonly replicaPort?: number;
}

/** A running demo. */
export interface KmeDemo {
  readonly a: KmeHandle;
  /** The second replica of KME A (`replicaPort`). */
  readonly a2?: KmeHandle;
  readonly b: KmeHandle;
  /** curl commands to try, one per line (with `#` comments). */
  readonly commands: readonly string[];
  close(): Promise<void>;
}

/** Starts the two-KME demo (creating the PKI in `dir` unless already there). */
export async function runKmeDemo(opts: KmeDemoOptions): Promise<KmeDemo> {
  const dir = opts.dir;
  const port = opts.port ?? 8443;
  return withDataDirLock(dir, opts, (lock) => startDemo(opts, dir, port, lock));
}

async function startDemo(
  opts: KmeDemoOptions,
  dir: string,
  port: number,
  lock: ProcessLock,
): Promise<KmeDemo> {
  if (!existsSync(join(dir, 'ca.pem'))) await createPki(dir);
  for (const [n, kind] of [
    ['kme-a', 'kme'],
    ['kme-b', 'kme'],
    ['sae-a', 'sae'],
    ['sae-b', 'sae'],
    ['sae-c', 'sae'],
    ['metrics', 'metrics'],
  ] as const)
    if (!existsSync(join(dir, `${n}.pem`))) await issueCertificate(dir, n, kind);
  if (!existsSync(crlPath(dir))) await writeCrl(dir);
  const tls = (n: string) => ({
    cert: join(dir, `${n}.pem`),
    key: join(dir, `${n}.key`),
    ca: join(dir, 'ca.pem'),
    crl: crlPath(dir), // `qkdnet pki revoke --dir DIR --name N` takes effect within a second
  });
  // The demo issued every certificate, so it pins each one's key: a new key under a known name is refused.
  const pin = (n: string) => ({ spkiSha256: [spkiSha256(readFileSync(join(dir, `${n}.pem`)))] });
  const sae = (id: string) => ({ id, pin: pin(id), ...(opts.testSaes ? { test: true } : {}) });
  const logLevel = opts.logLevel ?? 'warn';
  const storeKey = { file: join(dir, 'store.key') }; // beside the PKI, created 0600 on first start
  const urlA = `https://127.0.0.1:${port}`;
  const urlB = `https://127.0.0.1:${port + 1}`;
  const rp = opts.replicaPort;
  const urlA2 = rp === undefined ? undefined : `https://127.0.0.1:${rp}`;
  const configA = {
    id: 'kme-a',
    port,
    tls: tls('kme-a'),
    store: opts.stores?.a ?? join(dir, 'kme-a.db'),
    storeKey,
    saes: [sae('sae-a'), sae('sae-c')],
    peers: [{ id: 'kme-b', url: urlB, saes: ['sae-b'], pin: pin('kme-b') }],
    logLevel,
  };
  const a = await startKme(configA);
  let a2: KmeHandle | undefined;
  let b: KmeHandle;
  try {
    if (rp !== undefined) a2 = await startKme({ ...configA, port: rp });
    b = await startKme({
      id: 'kme-b',
      port: port + 1,
      tls: tls('kme-b'),
      store: opts.stores?.b ?? join(dir, 'kme-b.db'),
      storeKey,
      saes: [sae('sae-b')],
      peers: [
        {
          id: 'kme-a',
          url: urlA,
          ...(urlA2 ? { urls: [urlA2] } : {}),
          saes: ['sae-a', 'sae-c'],
          pin: pin('kme-a'),
        },
      ],
      logLevel,
    });
  } catch (e) {
    await Promise.all([a.close(), a2?.close()]);
    throw e;
  }
  const source =
    opts.blockSource === null
      ? null
      : (opts.blockSource ?? csprngBlockSource('link-a-b', opts.blockBits ?? 65536));
  // One replica of A is fed: the other sees the same pool through the shared database.
  const feed = () => source && supplyBoth(a, b, source());
  feed();
  const timer = source ? setInterval(feed, opts.intervalMs ?? 1000) : undefined;
  const c = (sae: string) =>
    `curl -s --cert ${join(dir, `${sae}.pem`)} --key ${join(dir, `${sae}.key`)} --cacert ${join(dir, 'ca.pem')}`;
  const commands = [
    '# status of the link sae-a → sae-b, asked by sae-a at KME A',
    `${c('sae-a')} ${urlA}/api/v1/keys/sae-b/status`,
    '# two 256-bit keys for sae-a (master) shared with sae-b (slave)',
    `${c('sae-a')} ${urlA}/api/v1/keys/sae-b/enc_keys?number=2`,
    '# sae-b fetches one of them by its key_ID at KME B (replace KEY_ID)',
    `${c('sae-b')} "${urlB}/api/v1/keys/sae-a/dec_keys?key_ID=KEY_ID"`,
    '# multicast: one 512-bit key for sae-b and sae-c',
    `${c('sae-a')} -H 'content-type: application/json' -d '{"number":1,"size":512,"additional_slave_SAE_IDs":["sae-c"]}' ${urlA}/api/v1/keys/sae-b/enc_keys`,
    '# metrics (only the metrics certificate may read them) and the OpenAPI document',
    `${c('metrics')} ${urlA}/metrics`,
    `${c('sae-a')} ${urlA}/openapi.json`,
    '# revoke sae-c: both KMEs refuse it (401) within a second',
    `qkdnet pki revoke --dir ${dir} --name sae-c`,
    ...(urlA2
      ? [
          '# KME A has a second replica on the same PostgreSQL database: any replica serves any request',
          `${c('sae-a')} ${urlA2}/api/v1/keys/sae-b/enc_keys?number=2`,
          '# the SAE client fails over between the replicas (stop one and ask again)',
          `qkdnet kme keys --kme ${urlA},${urlA2} --kme-id kme-a --cert ${join(dir, 'sae-a.pem')} --key ${join(dir, 'sae-a.key')} --ca ${join(dir, 'ca.pem')} --slave sae-b`,
        ]
      : []),
  ];
  let closing: Promise<void> | undefined;
  return {
    a,
    ...(a2 ? { a2 } : {}),
    b,
    commands,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        await Promise.all([a.close(), a2?.close(), b.close()]);
        lock.release();
      })();
      return closing;
    },
  };
}
