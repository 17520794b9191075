/**
 * Store-key rotation on the PostgreSQL store (real PostgreSQL, throwaway cluster; real KMEs over mutual
 * TLS; `qkdnet kme rekey-store` as its own process): KME A runs as two replicas on one database and one
 * key file, KME B on its own database. Online: while both replicas serve, rekey-store adds v2, the
 * replicas take it and re-seal their rows, the command waits and then removes v1 from the file; every
 * row ends sealed under v2, keys formed before and after reach the slave with the same bytes, at both
 * replicas. Offline: with no replica running, rekey-store re-seals B's database itself.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Etsi014Client, type DeliveredKey } from './client.ts';
import {
  makeTestPki,
  startPair,
  startTestPg,
  type TestPg,
  type TestPki,
  qkdnetCli,
} from './kme-pair.fixture.ts';
import { startKme } from './server.ts';
import { Keyring, sealedVersion } from './store-crypto.ts';

let pki: TestPki;
let pgdb: TestPg;
before(async () => {
  pki = await makeTestPki();
  pgdb = await startTestPg();
});
after(async () => {
  await pgdb?.cleanup();
  pki?.cleanup();
});

const cli = qkdnetCli;

/** Key versions of every sealed value in a database. */
async function versions(url: string): Promise<Set<number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const v = new Set<number>();
    for (const t of ['chunks', 'keys'])
      for (const r of (await c.query<{ material: Buffer }>(`SELECT material FROM ${t}`)).rows)
        v.add(sealedVersion(r.material));
    return v;
  } finally {
    await c.end();
  }
}

const keyVersions = (file: string) => Keyring.parse(readFileSync(file, 'utf8'), file).versions();

async function roundTrip(master: Etsi014Client, slave: Etsi014Client): Promise<void> {
  const keys: DeliveredKey[] = await master.getKeys('sae-b', { number: 4, sizeBits: 256 });
  const got = await slave.getKeysWithIds(
    'sae-a',
    keys.map((k) => k.keyId),
  );
  for (let i = 0; i < keys.length; i++)
    assert.ok(Buffer.from(got[i]!.key).equals(Buffer.from(keys[i]!.key)), `key ${keys[i]!.keyId}`);
  for (const k of [...keys, ...got]) k.key.fill(0);
}

test('PostgreSQL: rekey-store while two replicas serve re-seals every row under the new key, then retires the old one', async () => {
  const pair = await startPair(pki, { pg: { db: pgdb, prefix: 'rot' }, blocks: 4 });
  const a2 = await startKme({ ...pair.cfg.a, peers: [{ ...pair.cfg.a.peers![0]!, url: pair.b.url }] });
  const masters = [pair.a.url, a2.url].map((u) => Etsi014Client.fromFiles(u, pki.tls('sae-a')));
  const slave = Etsi014Client.fromFiles(pair.b.url, pki.tls('sae-b'));
  const urlA = pair.cfg.a.store;
  const keyFileA = join(pair.storeDir, 'kme-a.key');
  try {
    for (const m of masters) await roundTrip(m, slave);
    assert.deepEqual([...(await versions(urlA))], [1]);
    assert.deepEqual(keyVersions(keyFileA), [1]);
    const r = await cli([
      'kme',
      'rekey-store',
      '--key-file',
      keyFileA,
      '--store',
      urlA,
      '--json',
      '--timeout',
      '120',
    ]);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { version: number; retired: number[]; stores: { mode: string }[] };
    assert.equal(out.version, 2);
    assert.deepEqual(out.retired, [1]);
    assert.equal(out.stores[0]!.mode, 'online');
    assert.deepEqual(keyVersions(keyFileA), [2], 'v1 removed from the key file');
    assert.deepEqual([...(await versions(urlA))], [2], 'every row sealed under v2');
    // Both replicas keep serving (rows formed before the rotation and after), byte for byte at the slave.
    for (const m of masters) await roundTrip(m, slave);
  } finally {
    for (const m of masters) m.close();
    slave.close();
    await a2.close();
    await pair.close();
  }
});

test('PostgreSQL: rekey-store with no replica running re-seals the database itself', async () => {
  const pair = await startPair(pki, { pg: { db: pgdb, prefix: 'off' }, blocks: 2 });
  const urlB = pair.cfg.b.store;
  const keyFileB = join(pair.storeDir, 'kme-b.key');
  const keyText = readFileSync(keyFileB, 'utf8');
  await pair.close(); // the KMEs stop (their replicas leave `replicas`); the database stays
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-rot-off-'));
  const keyFile = join(dir, 'kme-b.key');
  writeFileSync(keyFile, keyText, { mode: 0o600 });
  const r = await cli(['kme', 'rekey-store', '--key-file', keyFile, '--store', urlB, '--json']);
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out) as { version: number; stores: { mode: string }[] };
  assert.equal(out.stores[0]!.mode, 'offline');
  assert.deepEqual(keyVersions(keyFile), [2]);
  assert.deepEqual([...(await versions(urlB))], [2]);
  rmSync(dir, { recursive: true, force: true });
});
