/**
 * Crash safety: `qkdnet kme serve` (the real CLI, its own process) is killed with SIGKILL while eight
 * clients run enc_keys (master sae-a, slave sae-c) and dec_keys (sae-c) concurrently; it restarts on the
 * same store and supply file. Then: no key_ID reached a role twice, no two key_IDs carried the same
 * material, every key a client received is in the store's delivery log (acknowledged ⇒ durable), and
 * every chunk supplied is either still stored or was delivered — none vanished. Keys still pending for
 * sae-c are all fetchable after the restart, once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Etsi014Client, type DeliveredKey } from './client.ts';
import { makeTestPki, testBlock, type TestPki } from './testing.ts';

let pki: TestPki;
let dir: string;
const PORT = 20000 + (process.pid % 20000);
const URL_A = `https://127.0.0.1:${PORT}`;

before(async () => {
  pki = await makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'qkdnet-crash-'));
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) {
    const b = testBlock(11, `crash-${i}`, 4096);
    lines.push(JSON.stringify({ block_id: b.blockId, key_hex: Buffer.from(b.key).toString('hex') }));
  }
  writeFileSync(join(dir, 'keys.jsonl'), `${lines.join('\n')}\n`);
  const t = pki.tls('kme-a');
  writeFileSync(
    join(dir, 'kme-a.yaml'),
    [
      'id: kme-a',
      `port: ${PORT}`,
      `tls: { cert: ${t.cert}, key: ${t.key}, ca: ${t.ca} }`,
      'store: kme-a.db',
      'saes: [{ id: sae-a }, { id: sae-c }]',
      'peers: [{ id: kme-b, url: "https://127.0.0.1:1", saes: [sae-b] }]',
      'supply: [{ peer: kme-b, file: keys.jsonl }]',
      'logLevel: warn',
      '',
    ].join('\n'),
  );
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

let stderr = '';
function serve(): ChildProcess {
  const child = spawn(
    process.execPath,
    ['bin/qkdnet.js', 'kme', 'serve', '--config', join(dir, 'kme-a.yaml')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return child;
}

async function ready(client: Etsi014Client): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await client.status('sae-c');
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`KME did not come up: ${stderr.slice(-2000)}`);
}

test('SIGKILL under concurrent load loses no acknowledged delivery and serves no key twice', async () => {
  const master = Etsi014Client.fromFiles(URL_A, pki.tls('sae-a'));
  const slave = Etsi014Client.fromFiles(URL_A, pki.tls('sae-c'));
  let kme = serve();
  await ready(master);
  const dbPath = join(dir, 'kme-a.db');
  const initial = readChunks(dbPath);
  assert.equal(initial.size, (40 * 4096) / 32 / 2); // A owns half of every block

  const asMaster: DeliveredKey[] = [];
  const asSlave: DeliveredKey[] = [];
  const toFetch: string[] = [];
  let stop = false;
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      try {
        if (w % 2 === 0 || toFetch.length === 0) {
          const ks = await master.getKeys('sae-c', { number: 1 + (i % 3) });
          asMaster.push(...ks);
          toFetch.push(...ks.map((k) => k.keyId));
        } else {
          const ids = toFetch.splice(0, 2);
          asSlave.push(...(await slave.getKeysWithIds('sae-a', ids)));
        }
      } catch {
        // Requests cut by the crash fail; that is expected. Anything acknowledged was recorded above.
      }
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  await sleep(1500);
  kme.kill('SIGKILL');
  await new Promise((r) => kme.once('exit', r));
  await sleep(300);
  stop = true;
  await load;
  assert.ok(asMaster.length > 20, `only ${asMaster.length} keys delivered before the crash`);

  kme = serve();
  await ready(master);
  // After the restart, the supply file was read again: nothing already supplied may come back.
  const afterRestart = readChunks(dbPath);
  for (const id of afterRestart) assert.ok(initial.has(id));
  // Fetch everything still owed to the slave.
  const owed = asMaster.map((k) => k.keyId).filter((id) => !asSlave.some((s) => s.keyId === id));
  // A dec_keys cut by the crash may have committed without its answer arriving: those keys must show up
  // in the delivery log as delivered to the slave (checked below); every other owed key must be fetchable.
  const lostAnswers: string[] = [];
  for (const id of owed) {
    try {
      asSlave.push(...(await slave.getKeysWithIds('sae-a', [id])));
    } catch {
      lostAnswers.push(id);
    }
  }
  assert.ok(
    lostAnswers.length <= 8,
    `${lostAnswers.length} owed keys unfetchable (at most 4 workers × 2 in flight)`,
  );
  // A second fetch of anything is refused.
  if (owed[0]) await assert.rejects(slave.getKeysWithIds('sae-a', [owed[0]]));
  kme.kill('SIGTERM');
  await new Promise((r) => kme.once('exit', r));
  master.close();
  slave.close();

  const once = (ks: DeliveredKey[], role: string) => {
    const ids = ks.map((k) => k.keyId);
    assert.equal(new Set(ids).size, ids.length, `a key_ID reached the ${role} twice`);
  };
  once(asMaster, 'master');
  once(asSlave, 'slave');
  const material = new Set(asMaster.map((k) => Buffer.from(k.key).toString('hex')));
  assert.equal(material.size, asMaster.length, 'two key_IDs carried the same material');
  const byId = new Map(asMaster.map((k) => [k.keyId, Buffer.from(k.key).toString('hex')]));
  for (const s of asSlave) assert.equal(Buffer.from(s.key).toString('hex'), byId.get(s.keyId));

  const db = new Database(dbPath, { readonly: true });
  const log = db.prepare('SELECT key_id AS id, role FROM deliveries').all() as { id: string; role: string }[];
  const remaining = new Set(
    (db.prepare('SELECT id FROM chunks WHERE mine = 1').all() as { id: string }[]).map((r) => r.id),
  );
  db.close();
  const deliveredMaster = new Set(log.filter((r) => r.role === 'master').map((r) => r.id));
  const deliveredSlave = log.filter((r) => r.role === 'slave').map((r) => r.id);
  assert.equal(
    new Set(deliveredSlave).size,
    deliveredSlave.length,
    'log shows a double delivery to the slave',
  );
  for (const id of lostAnswers)
    assert.ok(
      deliveredSlave.includes(id),
      `key ${id} acknowledged to the master vanished before the slave got it`,
    );
  assert.equal(
    deliveredMaster.size,
    log.filter((r) => r.role === 'master').length,
    'log shows a double delivery',
  );
  for (const k of asMaster) assert.ok(deliveredMaster.has(k.keyId), 'an acknowledged key is not in the log');
  for (const id of initial)
    assert.ok(
      remaining.has(id) !== deliveredMaster.has(id),
      `chunk ${id} vanished or was both kept and delivered`,
    );
});

function readChunks(path: string): Set<string> {
  const db = new Database(path, { readonly: true });
  const ids = (db.prepare('SELECT id FROM chunks WHERE mine = 1').all() as { id: string }[]).map((r) => r.id);
  db.close();
  return new Set(ids);
}
