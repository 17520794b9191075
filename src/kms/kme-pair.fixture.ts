/**
 * Test fixtures for src/kms (used by the *.test.ts files and the benchmark, not by production code): a
 * throw-away PKI in a temp directory, a pair of KMEs (A: sae-a, sae-c; B: sae-b) on 127.0.0.1 with
 * ephemeral ports, and deterministic final key blocks from a seeded RNG, so every test is reproducible.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, type FinalKeyBlock } from '../common/index.ts';
import { supplyBoth } from './demo.ts';
import type https from 'node:https';
import { createMtlsAgent } from './https-json.ts';
import { spkiSha256 } from './identity.ts';
import { createPki, issueCertificate } from './pki.ts';
import { startKme, type KmeHandle, type StartKmeOptions } from './server.ts';
import type { KmeConfig } from './config.ts';
import type { FormedKey, ReservationRecord } from './store.ts';
import pg from 'pg';
import { PgCluster } from './pg-cluster.ts';

/**
 * A temp PKI with kme-a, kme-b, sae-a…sae-d, metrics and a stranger CA's sae-a (`tls('stranger')`);
 * `tls('sub/name')` names a certificate issued by `issueRogue` in sub-directory `sub`.
 */
export interface TestPki {
  readonly dir: string;
  tls(name: string): { cert: string; key: string; ca: string };
  cleanup(): void;
}

/** Creates the test PKI (about 1 s of openssl). */
export async function makeTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-kms-'));
  await createPki(dir);
  for (const n of ['kme-a', 'kme-b']) await issueCertificate(dir, n, 'kme');
  for (const n of ['sae-a', 'sae-b', 'sae-c', 'sae-d']) await issueCertificate(dir, n, 'sae');
  await issueCertificate(dir, 'metrics', 'metrics');
  const other = join(dir, 'other');
  await createPki(other);
  await issueCertificate(other, 'sae-a', 'sae');
  return {
    dir,
    tls: (name) =>
      name === 'stranger'
        ? { cert: join(other, 'sae-a.pem'), key: join(other, 'sae-a.key'), ca: join(dir, 'ca.pem') }
        : { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`), ca: join(dir, 'ca.pem') }, // name may be sub/name
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Issues certificate `name` of role `kind` with the test CA into `dir/sub` (a fresh key pair): a rogue
 * for identity tests — e.g. an SAE certificate whose CN is a KME id, or a new key under a known name.
 */
export async function issueRogue(
  pki: TestPki,
  sub: string,
  name: string,
  kind: 'kme' | 'sae' | 'metrics' | 'operator',
): Promise<void> {
  const d = join(pki.dir, sub);
  if (!existsSync(join(d, 'ca.key'))) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    copyFileSync(join(pki.dir, 'ca.pem'), join(d, 'ca.pem'));
    copyFileSync(join(pki.dir, 'ca.key'), join(d, 'ca.key'));
  }
  await issueCertificate(d, name, kind, { force: true });
}

/** mTLS agents per test identity, created on first use (`destroy()` closes them all). */
export function agentsFor(pki: TestPki): { agent(name: string): https.Agent; destroy(): void } {
  const agents = new Map<string, https.Agent>();
  return {
    agent(name) {
      let ag = agents.get(name);
      if (!ag) {
        const t = pki.tls(name);
        ag = createMtlsAgent({
          cert: readFileSync(t.cert),
          key: readFileSync(t.key),
          ca: readFileSync(t.ca),
        });
        agents.set(name, ag);
      }
      return ag;
    },
    destroy: () => agents.forEach((ag) => ag.destroy()),
  };
}

/** A deterministic final key block of `bytes` bytes from `seed`. */
export function testBlock(seed: number, blockId: string, bytes = 4096, linkId = 'link-a-b'): FinalKeyBlock {
  const rng = createRng(seed).stream(`block:${blockId}`);
  const key = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) key[i] = rng.nextInt(256);
  return {
    linkId,
    blockId,
    key,
    bits: bytes * 8,
    estimates: { qber: 0.02, phaseErrorBound: 0.05, leakedBits: 1000, epsilonSec: 1e-10, epsilonCor: 1e-15 },
    createdNs: 0,
  };
}

/** The SPKI pin of test certificate `name` (as the demo and `qkdnet up` pin what they issue). */
export function testPin(pki: TestPki, name: string): { spkiSha256: string[] } {
  return { spkiSha256: [spkiSha256(readFileSync(pki.tls(name).cert))] };
}

/** A throwaway PostgreSQL cluster for one test file, with a fresh database per name (`url(name)`). */
export interface TestPg {
  readonly cluster: PgCluster;
  /** Creates database `name` if needed; resolves with its URL. */
  database(name: string): Promise<string>;
  /** Stops the server and deletes its directory. */
  cleanup(): Promise<void>;
}

/**
 * Starts a throwaway cluster (./pg-cluster.ts) in a temp directory. Fails loudly when the PostgreSQL
 * binaries are missing: a test that needs the real database never skips silently.
 */
export async function startTestPg(): Promise<TestPg> {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-pg-'));
  const cluster = new PgCluster(dir);
  await cluster.init();
  await cluster.start();
  const made = new Set<string>();
  return {
    cluster,
    async database(name) {
      if (!made.has(name)) {
        const c = new pg.Client({ connectionString: cluster.url() });
        await c.connect();
        try {
          await c.query(`CREATE DATABASE "${name}"`);
        } finally {
          await c.end();
        }
        made.add(name);
      }
      return cluster.url(name);
    },
    async cleanup() {
      await cluster.stop('fast');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Configs of the KME pair (B's peer URL for A is filled in once A listens); every identity SPKI-pinned. */
export function pairConfigs(pki: TestPki, storeDir: string, extra: Partial<KmeConfig> = {}) {
  const sae = (id: string) => ({ id, pin: testPin(pki, id) });
  const crl = join(pki.dir, 'crl.pem'); // `revokeCertificate(pki.dir, name)` rewrites it; KMEs follow
  const a: KmeConfig = {
    id: 'kme-a',
    tls: { ...pki.tls('kme-a'), crl },
    store: join(storeDir, 'kme-a.db'),
    saes: [sae('sae-a'), sae('sae-c')],
    peers: [
      { id: 'kme-b', url: 'https://127.0.0.1:1', saes: ['sae-b', 'sae-d'], pin: testPin(pki, 'kme-b') },
    ],
    logLevel: 'silent',
    ...extra,
  };
  const b: KmeConfig = {
    id: 'kme-b',
    tls: { ...pki.tls('kme-b'), crl },
    store: join(storeDir, 'kme-b.db'),
    saes: [sae('sae-b'), sae('sae-d')],
    peers: [
      { id: 'kme-a', url: 'https://127.0.0.1:1', saes: ['sae-a', 'sae-c'], pin: testPin(pki, 'kme-a') },
    ],
    logLevel: 'silent',
    ...extra,
  };
  return { a, b };
}

/** Starts KME A and B joined by a link and feeds them `blocks` blocks of `bytes` bytes. */
export async function startPair(
  pki: TestPki,
  opts: {
    blocks?: number;
    bytes?: number;
    extra?: Partial<KmeConfig>;
    /** Options of both startKme calls (e.g. a logger). */
    options?: StartKmeOptions;
    /** Store directory (default: a fresh temp directory); ports to reuse (a restart on the same stores). */
    storeDir?: string;
    ports?: readonly [number, number];
    /** Stores in this PostgreSQL cluster (databases `<prefix>_a`, `<prefix>_b`) instead of SQLite files. */
    pg?: { db: TestPg; prefix: string };
    /** Configuration of one KME only (after `extra`). */
    extraA?: Partial<KmeConfig>;
    extraB?: Partial<KmeConfig>;
  } = {},
): Promise<{
  a: KmeHandle;
  b: KmeHandle;
  storeDir: string;
  cfg: { a: KmeConfig; b: KmeConfig };
  close: () => Promise<void>;
}> {
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'qkdnet-kme-store-'));
  const cfg = pairConfigs(pki, storeDir, opts.extra);
  Object.assign(cfg.a, opts.extraA);
  Object.assign(cfg.b, opts.extraB);
  if (opts.pg) {
    const { db, prefix } = opts.pg;
    cfg.a.store = await db.database(`${prefix}_a`);
    cfg.b.store = await db.database(`${prefix}_b`);
    cfg.a.storeKey = { file: join(storeDir, 'kme-a.key') };
    cfg.b.storeKey = { file: join(storeDir, 'kme-b.key') };
  }
  let a: KmeHandle;
  let b: KmeHandle;
  if (opts.ports) {
    const [pa, pb] = opts.ports;
    const url = (p: number) => `https://127.0.0.1:${p}`;
    a = await startKme({ ...cfg.a, port: pa, peers: [{ ...cfg.a.peers![0]!, url: url(pb) }] }, opts.options);
    b = await startKme({ ...cfg.b, port: pb, peers: [{ ...cfg.b.peers![0]!, url: url(pa) }] }, opts.options);
  } else {
    const b0 = await startKme(cfg.b, opts.options);
    a = await startKme({ ...cfg.a, peers: [{ ...cfg.a.peers![0]!, url: b0.url }] }, opts.options);
    // Restart B on the same port with A's URL (B's config needs A's port).
    const port = b0.port;
    await b0.close();
    b = await startKme({ ...cfg.b, port, peers: [{ ...cfg.b.peers![0]!, url: a.url }] }, opts.options);
  }
  for (let i = 0; i < (opts.blocks ?? 2); i++) supplyBoth(a, b, testBlock(7, `blk-${i}`, opts.bytes ?? 4096));
  await Promise.all([a.settled(), b.settled()]);
  return {
    a,
    b,
    storeDir,
    cfg,
    close: async () => {
      await Promise.all([a.close(), b.close()]);
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** The reservation the owner of key `k` sends for `slaves` (as the outbox records it). */
export function reservationOf(
  k: FormedKey,
  master = 'sae-a',
  slaves: readonly string[] = ['sae-b'],
): ReservationRecord {
  return { keyId: k.keyId, chunkIds: k.chunkIds, sizeBits: k.sizeBits, master, slaves, offset: k.offset };
}

/** Runs `qkdnet ARGS…` (bin/qkdnet.js) as its own process; resolves with its exit code and output. */
export function qkdnetCli(args: string[]): Promise<{ code: number | null; err: string; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/qkdnet.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}
