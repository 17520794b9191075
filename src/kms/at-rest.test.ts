/**
 * Key material at rest, through the real KMEs (HTTPS with mutual TLS, SQLite files): known key bytes
 * supplied to the stores are found in no file under the data directory — database, WAL, shared memory,
 * logs — after a forced WAL checkpoint, after a restart and after delivery; a control store without
 * encryption shows the same search finds them. Every file is 0600 and every directory 0700 although this
 * process runs with umask 000. A wrong or missing store key is refused with nothing changed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { isQkdnetError } from '../common/index.ts';
import { Etsi014Client } from './client.ts';
import { supplyBoth } from './demo.ts';
import { LOG_REDACT } from './server.ts';
import { KeyStore } from './store.ts';
import { Keyring } from './store-crypto.ts';
import { chunksFor, eraseChunkCopies } from './supply.ts';
import { makeTestPki, startPair, testBlock, type TestPki } from './kme-pair.fixture.ts';

process.umask(0); // the modes below must come from qkdnet's own chmods, not from a strict umask
let pki: TestPki;
const dirs: string[] = [];
const tempDir = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `qkdnet-at-rest-${name}-`));
  dirs.push(d);
  return d;
};

before(async () => {
  pki = await makeTestPki();
});
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  pki.cleanup();
});

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** The needles of `blocks`: the first 16 bytes of every 32-byte chunk. */
/** Chunk c1 of block b, ours, holding `material`. */
const oneChunk = (material: Uint8Array) =>
  ({ id: 'c1', material, mine: true, provenance: 'qkd', path: [], exposedTo: [], blockId: 'b' }) as const;

const needles = (blocks: ReturnType<typeof testBlock>[]) =>
  blocks.flatMap((b) =>
    Array.from({ length: b.key.length / 32 }, (_, i) => Buffer.from(b.key.subarray(i * 32, i * 32 + 16))),
  );

/** Files under `dir` holding any needle, with how many needles each holds. */
function found(dir: string, ns: readonly Buffer[]): string[] {
  const hits: string[] = [];
  for (const f of files(dir)) {
    const bytes = readFileSync(f);
    const n = ns.filter((x) => bytes.includes(x)).length;
    if (n > 0) hits.push(`${f}: ${n}`);
  }
  return hits;
}

async function startLogged(dir: string, ports?: readonly [number, number], extra = {}) {
  // Logs go to a file inside the data directory at the most verbose level, requests included.
  const logger = pino(
    { level: 'trace', redact: LOG_REDACT },
    pino.destination({ dest: join(dir, 'kme.log'), append: true, sync: true }),
  );
  return startPair(pki, {
    blocks: 0,
    storeDir: dir,
    extra: { logRequests: true, ...extra },
    options: { logger },
    ...(ports ? { ports } : {}),
  });
}

test('known key bytes are in no file of the data dir: after a checkpoint, a restart and delivery', async () => {
  const dir = tempDir('leak');
  const blocks = Array.from({ length: 4 }, (_, i) => testBlock(4242, `leak-${i}`, 4096));
  const ns = needles(blocks);
  let pair = await startLogged(dir);
  for (const blk of blocks) supplyBoth(pair.a, pair.b, blk);
  for (const k of [pair.a, pair.b]) k.store.checkpoint('FULL'); // content in db and WAL
  assert.ok(statSync(join(dir, 'kme-a.db-wal')).size > 4 * 4096, 'the WAL holds the supplied rows');
  assert.deepEqual(found(dir, ns), [], 'key bytes found after the checkpoint');

  const ports = [pair.a.port, pair.b.port] as const;
  await Promise.all([pair.a.close(), pair.b.close()]);
  assert.deepEqual(found(dir, ns), [], 'key bytes found after close');
  pair = await startLogged(dir, ports);
  assert.deepEqual(found(dir, ns), [], 'key bytes found after the restart');

  const master = Etsi014Client.fromFiles(pair.a.url, pki.tls('sae-a'));
  const slave = Etsi014Client.fromFiles(pair.b.url, pki.tls('sae-b'));
  const keys = await master.getKeys('sae-b', { number: 20, sizeBits: 256 });
  const got = await slave.getKeysWithIds(
    'sae-a',
    keys.map((k) => k.keyId),
  );
  master.close();
  slave.close();
  // The delivered keys are the supplied material (so the needles are the real thing).
  const known = new Set(ns.map((n) => n.toString('hex')));
  for (const k of [...keys, ...got])
    assert.ok(known.has(Buffer.from(k.key.subarray(0, 16)).toString('hex')), 'a key not from the blocks');
  for (const k of [pair.a, pair.b]) k.store.checkpoint('FULL');
  assert.deepEqual(found(dir, ns), [], 'key bytes found after delivery');
  await Promise.all([pair.a.close(), pair.b.close()]);
  assert.deepEqual(found(dir, ns), [], 'key bytes found after the final close');
  assert.ok(readFileSync(join(dir, 'kme.log'), 'utf8').includes('enc_keys'), 'the log saw the requests');

  // Modes under umask 000: every file 0600, every directory 0700 (the store dir was made by mkdtemp).
  for (const f of files(dir).filter((x) => !x.endsWith('kme.log')))
    assert.equal(statSync(f).mode & 0o777, 0o600, `${f} is not 0600`);
});

test('control: the same search finds the bytes in a store without encryption', async () => {
  const dir = tempDir('plain');
  const blk = testBlock(4243, 'plain-0', 4096);
  const pair = await startLogged(dir, undefined, { storeKey: { none: true } });
  supplyBoth(pair.a, pair.b, blk);
  for (const k of [pair.a, pair.b]) k.store.checkpoint('FULL');
  assert.ok(found(dir, needles([blk])).length >= 2);
  await Promise.all([pair.a.close(), pair.b.close()]);
});

test('SQLite -wal and -shm are 0600 from the start, and stay so after checkpoints', () => {
  const dir = tempDir('modes');
  const s = KeyStore.open({ path: join(dir, 's.db'), keyring: Keyring.generate() });
  s.addChunks('kme-b', [oneChunk(new Uint8Array(32).fill(7))]);
  for (const f of ['s.db', 's.db-wal', 's.db-shm', 's.db.lock'])
    assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  s.checkpoint();
  for (const f of ['s.db', 's.db-wal', 's.db-shm'])
    assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  s.close();
});

/** Hashes of the store's files (the lock file records each opener by design and is left out). */
function hashFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files(dir).filter((x) => !x.endsWith('.lock')))
    out[f] = createHash('sha256').update(readFileSync(f)).digest('hex');
  return out;
}

test('a wrong or missing store key is refused in one line, and nothing is changed', () => {
  const dir = tempDir('wrong');
  const path = join(dir, 'kme.db');
  const right = Keyring.generate();
  const s = KeyStore.open({ path, keyring: right });
  s.addChunks('kme-b', [oneChunk(new Uint8Array(32).fill(9))]);
  s.close();
  const before = hashFiles(dir);
  for (const [ring, re] of [
    [Keyring.generate(), /store key v1 is not the key this store was sealed with/],
    [null, /encrypted at rest and no store key was given/],
    [Keyring.generate(2), /needs store key v1/],
  ] as const) {
    assert.throws(
      () => KeyStore.open({ path, keyring: ring }),
      (e: unknown) =>
        isQkdnetError(e, 'STORE_KEY_INVALID') &&
        re.test((e as Error).message) &&
        !(e as Error).message.includes('\n'),
    );
    assert.deepEqual(hashFiles(dir), before, 'a refused open changed a file');
  }
  // The right key still opens it, with the chunk intact.
  const again = KeyStore.open({ path, keyring: right });
  assert.equal(again.level('kme-b').mineBytes, 32);
  again.close();
});

test('a plaintext store left by an older qkdnet is sealed in place when a key is given', () => {
  const dir = tempDir('migrate');
  const path = join(dir, 'old.db');
  const plain = new Uint8Array(32).fill(0x5a);
  const s = KeyStore.open({ path });
  s.addChunks('kme-b', [oneChunk(plain)]);
  s.close();
  const ring = Keyring.generate();
  const t = KeyStore.open({ path, keyring: ring });
  assert.equal(t.level('kme-b').mineBytes, 32);
  t.close();
  assert.deepEqual(found(dir, [Buffer.from(plain.subarray(0, 16))]), []);
  assert.throws(() => KeyStore.open({ path }), /encrypted at rest/);
});

test('supply erases the plaintext copies it cut from a block, and leaves the caller its own buffer', () => {
  const blk = testBlock(4244, 'erase-0', 256);
  const copy = Buffer.from(blk.key);
  const chunks = chunksFor('kme-a', 'kme-b', blk);
  eraseChunkCopies(chunks, blk);
  for (const c of chunks) assert.ok(c.material.every((b) => b === 0));
  assert.deepEqual(Buffer.from(blk.key), copy, 'the caller’s block was changed');
  const own = {
    keyId: '0f0e0d0c-0b0a-4908-8706-050403020100',
    key: new Uint8Array(32).fill(3),
    provenance: 'qkd' as const,
    path: [],
  };
  const one = chunksFor('kme-a', 'kme-b', own);
  eraseChunkCopies(one, own);
  assert.ok(own.key.every((b) => b === 3));
});

test('a rotation whose last step (clearing the old version) was lost still opens with the new key alone', () => {
  const dir = tempDir('lost-clear');
  const path = join(dir, 'r.db');
  const v1 = Keyring.generate();
  const s = KeyStore.open({ path, keyring: v1 });
  s.addChunks('kme-b', [oneChunk(new Uint8Array(32).fill(1))]);
  s.close();
  const both = Keyring.parse(v1.withNewKey().format(), 'both');
  const r = KeyStore.open({ path, keyring: both });
  assert.ok(r.sealing.rotating);
  r.transaction(() => r.sealing.rekeyStep(100)); // re-seals every row; the clearing step never runs
  assert.deepEqual(r.sealing.state().retiring, [1]);
  r.close();
  const v2only = both.only([2]);
  const t = KeyStore.open({ path, keyring: v2only });
  assert.ok(!t.sealing.rotating);
  assert.equal(t.level('kme-b').mineBytes, 32);
  t.close();
});
