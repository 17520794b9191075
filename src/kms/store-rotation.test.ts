/**
 * Store-key rotation under load, end to end: two real KMEs (mutual TLS, SQLite files, one key file)
 * serve masters and slaves continuously while `qkdnet kme rekey-store` runs as its own process. Checked:
 * no key_ID reaches a role twice, every key a master got reaches its slave with the same bytes, no chunk
 * vanished, every row ends sealed under the new key, the old key is gone from the file and no longer
 * opens the stores. Also the offline path (no KME running) and a refused rotation with a wrong key file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Etsi014Client, type DeliveredKey } from './client.ts';
import { supplyBoth } from './demo.ts';
import { KeyStore } from './store.ts';
import { Keyring, sealedVersion } from './store-crypto.ts';
import { makeTestPki, startPair, testBlock, type TestPki, qkdnetCli } from './kme-pair.fixture.ts';

let pki: TestPki;
const dirs: string[] = [];
before(async () => {
  pki = await makeTestPki();
});
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  pki.cleanup();
});

const cli = qkdnetCli;

/** Versions of every sealed value in a store file. */
function versions(path: string): Set<number> {
  const db = new Database(path, { readonly: true });
  const v = new Set<number>();
  // Chunks stored in runs hold their bytes in `chunk_runs` (their own `material` is empty).
  for (const q of [
    'SELECT material FROM chunks WHERE run IS NULL',
    'SELECT material FROM chunk_runs',
    'SELECT material FROM keys',
  ])
    for (const r of db.prepare(q).all() as { material: Buffer }[]) v.add(sealedVersion(r.material));
  db.close();
  return v;
}

const mineIds = (path: string) => {
  const db = new Database(path, { readonly: true });
  const ids = (db.prepare('SELECT id FROM chunks WHERE mine = 1').all() as { id: string }[]).map((r) => r.id);
  db.close();
  return new Set(ids);
};

test('rekey-store under load: KMEs keep serving, no key lost or duplicated, old key retired', async () => {
  const pair = await startPair(pki, { blocks: 0 });
  dirs.push(pair.storeDir);
  for (let i = 0; i < 40; i++) supplyBoth(pair.a, pair.b, testBlock(77, `rot-${i}`, 4096)); // 5120 chunks each
  const keyFile = join(pair.storeDir, 'store.key');
  const v1 = readFileSync(keyFile, 'utf8');
  const dbA = join(pair.storeDir, 'kme-a.db');
  const dbB = join(pair.storeDir, 'kme-b.db');
  pair.a.store.checkpoint();
  const initial = mineIds(dbA);

  const master = Etsi014Client.fromFiles(pair.a.url, pki.tls('sae-a'));
  const slave = Etsi014Client.fromFiles(pair.b.url, pki.tls('sae-b'));
  const asMaster: DeliveredKey[] = [];
  const asSlave: DeliveredKey[] = [];
  const owed: string[] = [];
  const failures: string[] = [];
  let stop = false;
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      try {
        if (w % 2 === 0 || owed.length === 0) {
          const ks = await master.getKeys('sae-b', { number: 1 + (i % 3) });
          asMaster.push(...ks);
          owed.push(...ks.map((k) => k.keyId));
        } else {
          const ids = owed.splice(0, 2);
          asSlave.push(...(await slave.getKeysWithIds('sae-a', ids)));
        }
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  };
  const load = Promise.all(Array.from({ length: 4 }, (_, w) => worker(w)));
  const rekey = await cli(['kme', 'rekey-store', '--key-file', keyFile, '--store', dbA, dbB, '--json']);
  const servedDuring = asMaster.length;
  stop = true;
  await load;
  assert.equal(rekey.code, 0, rekey.err);
  assert.match(rekey.err, /in use by a running KME; waiting/);
  assert.deepEqual(failures, [], 'requests failed during the rotation');
  assert.ok(servedDuring > 10, `only ${servedDuring} keys served while rotating`);
  const result = JSON.parse(rekey.out) as { version: number; retired: number[]; stores: { mode: string }[] };
  assert.equal(result.version, 2);
  assert.deepEqual(result.retired, [1]);
  assert.deepEqual(
    result.stores.map((s) => s.mode),
    ['online', 'online'],
  );

  // Everything owed to the slave is still there, once.
  const rest = owed.splice(0);
  for (let i = 0; i < rest.length; i += 50)
    asSlave.push(...(await slave.getKeysWithIds('sae-a', rest.slice(i, i + 50))));
  master.close();
  slave.close();
  const ids = (ks: DeliveredKey[]) => ks.map((k) => k.keyId);
  assert.equal(new Set(ids(asMaster)).size, asMaster.length, 'a key_ID reached the master twice');
  assert.equal(new Set(ids(asSlave)).size, asSlave.length, 'a key_ID reached the slave twice');
  assert.equal(asSlave.length, asMaster.length, 'a key the master got never reached the slave');
  const bytes = new Map(asMaster.map((k) => [k.keyId, Buffer.from(k.key).toString('hex')]));
  for (const k of asSlave) assert.equal(Buffer.from(k.key).toString('hex'), bytes.get(k.keyId));

  await Promise.all([pair.a.close(), pair.b.close()]);
  const remaining = mineIds(dbA);
  const db = new Database(dbA, { readonly: true });
  // Every chunk either remains, was delivered to the master, or was discarded by the lease rule (keys
  // leased but not served when the KME stopped are erased at close and logged in `discarded`).
  const log = new Set(
    (
      db
        .prepare(`SELECT key_id FROM deliveries WHERE role = 'master' UNION SELECT key_id FROM discarded`)
        .all() as { key_id: string }[]
    ).map((r) => r.key_id),
  );
  db.close();
  for (const id of initial) assert.ok(remaining.has(id) !== log.has(id), `chunk ${id} vanished or doubled`);
  // All rows under v2; the file holds v2 alone; v1 no longer opens the stores.
  for (const p of [dbA, dbB])
    assert.deepEqual(
      [...versions(p)].filter((v) => v !== 0),
      [2],
    );
  const ring = Keyring.parse(readFileSync(keyFile, 'utf8'), 'file');
  assert.deepEqual(ring.versions(), [2]);
  assert.throws(() => KeyStore.open({ path: dbA, keyring: Keyring.parse(v1, 'old') }), /needs store key v2/);
  const s = KeyStore.open({ path: dbA, keyring: ring });
  assert.equal(s.level('kme-b').mineChunks, remaining.size);
  s.close();
});

test('rekey-store on stores no KME uses re-seals them itself; a wrong key file is refused untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-rekey-offline-'));
  dirs.push(dir);
  const keyFile = join(dir, 'store.key');
  const ring = Keyring.generate();
  writeFileSync(keyFile, ring.format(), { mode: 0o600 });
  const path = join(dir, 's.db');
  const s = KeyStore.open({ path, keyring: ring });
  s.addChunks(
    'kme-b',
    Array.from({ length: 100 }, (_, i) => ({
      id: `c${i}`,
      material: new Uint8Array(32).fill(i),
      mine: i % 2 === 0,
      provenance: 'qkd' as const,
      path: [],
      exposedTo: [],
      blockId: 'b',
    })),
  );
  s.close();
  // A key file holding another key: refused before anything is written.
  const wrong = join(dir, 'wrong.key');
  writeFileSync(wrong, Keyring.generate().format(), { mode: 0o600 });
  copyFileSync(path, `${path}.before`);
  const bad = spawnSync(
    process.execPath,
    ['bin/qkdnet.js', 'kme', 'rekey-store', '--key-file', wrong, '--store', path],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(bad.status, 2, bad.stderr);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /not the key this store was sealed with/);
  assert.deepEqual(readFileSync(path), readFileSync(`${path}.before`));
  assert.deepEqual(
    Keyring.parse(readFileSync(wrong, 'utf8'), 'w').versions(),
    [1],
    'the wrong file was changed',
  );

  const ok = await cli(['kme', 'rekey-store', '--key-file', keyFile, '--store', path]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /rotated to v2/);
  assert.deepEqual([...versions(path)], [2]);
  const t = KeyStore.open({ path, keyring: Keyring.parse(readFileSync(keyFile, 'utf8'), 'k') });
  assert.equal(t.level('kme-b').mineBytes, 50 * 32);
  t.close();
});
