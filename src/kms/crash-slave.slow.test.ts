/**
 * Crash safety of armed slave copies (./slave-copies.ts: dec_keys answered after its COMMIT, without an
 * fsync of its own): two `qkdnet kme serve` processes (the real CLI), kme-a serving master sae-a and kme-b
 * serving slave sae-b, fed the same supply file. Four clients run enc_keys at kme-a while four run dec_keys
 * at kme-b; kme-b is killed with SIGKILL under that load and restarted on the same store. Then: every key
 * the slave received before the kill is refused after the restart (its lazily committed delivery survived
 * the killed process), no key_ID reached the slave twice, the slave's bytes equal the master's, the restart
 * discarded nothing (same boot: no copy can have lost its delivery), and every other key the master got is
 * fetchable once at kme-b — except those whose dec_keys was cut by the kill after its COMMIT, which are in
 * kme-b's delivery log.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Etsi014Client, type DeliveredKey } from './client.ts';
import { makeTestPki, testBlock, type TestPki } from './kme-pair.fixture.ts';

let pki: TestPki;
let dir: string;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  pki = await makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'qkdnet-crash-slave-'));
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) {
    const b = testBlock(12, `crash-slave-${i}`, 4096);
    lines.push(JSON.stringify({ block_id: b.blockId, key_hex: Buffer.from(b.key).toString('hex') }));
  }
  writeFileSync(join(dir, 'keys.jsonl'), `${lines.join('\n')}\n`);
  const [pa, pb] = [await freePort(), await freePort()];
  const config = (me: string, port: number, sae: string, peer: string, peerPort: number, peerSae: string) => {
    const t = pki.tls(me);
    writeFileSync(
      join(dir, `${me}.yaml`),
      [
        `id: ${me}`,
        `port: ${port}`,
        `tls: { cert: ${t.cert}, key: ${t.key}, ca: ${t.ca} }`,
        `store: ${me}.db`,
        `saes: [{ id: ${sae} }]`,
        `peers: [{ id: ${peer}, url: "https://127.0.0.1:${peerPort}", saes: [${peerSae}] }]`,
        `supply: [{ peer: ${peer}, file: keys.jsonl }]`,
        'logLevel: warn',
        '',
      ].join('\n'),
    );
  };
  config('kme-a', pa, 'sae-a', 'kme-b', pb, 'sae-b');
  config('kme-b', pb, 'sae-b', 'kme-a', pa, 'sae-a');
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

const transcript: Record<string, string> = { 'kme-a': '', 'kme-b': '' };

/** Starts `kme serve` for `name`; resolves with the process and its URL once it says where it listens. */
async function serve(name: 'kme-a' | 'kme-b'): Promise<{ kme: ChildProcess; url: string }> {
  const from = transcript[name]!.length;
  const kme = spawn(
    process.execPath,
    ['bin/qkdnet.js', 'kme', 'serve', '--config', join(dir, `${name}.yaml`)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  kme.stdout!.on('data', (d: Buffer) => (transcript[name] += d.toString()));
  kme.stderr!.on('data', (d: Buffer) => (transcript[name] += d.toString()));
  for (let i = 0; i < 600; i++) {
    const m = /serving ETSI GS QKD 014 at (https:\/\/[^/\s]+)\//.exec(transcript[name]!.slice(from));
    if (m) return { kme, url: m[1]! };
    if (kme.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`${name} did not come up: ${transcript[name]!.slice(-2000)}`);
}

test('SIGKILL of the slave KME under dec_keys load: no copy twice to the slave, none discarded, the rest fetchable once', async () => {
  const a = await serve('kme-a');
  let b = await serve('kme-b');
  const master = Etsi014Client.fromFiles(a.url, pki.tls('sae-a'));
  let slave = Etsi014Client.fromFiles(b.url, pki.tls('sae-b'));
  // Both stores hold the supply file (each owns half of every block).
  for (let i = 0; i < 600; i++) {
    const [sa, sb] = await Promise.all([
      master.status('sae-b').catch(() => undefined),
      slave.status('sae-a').catch(() => undefined),
    ]);
    if (sa && sb && sa.storedKeyCount + sb.storedKeyCount === (40 * 4096) / 32) break;
    await sleep(100);
  }

  const asMaster: DeliveredKey[] = [];
  const asSlave: DeliveredKey[] = [];
  const toFetch: string[] = [];
  const cut: string[] = []; // dec_keys that failed: cut by the kill (maybe committed) or not yet reserved
  let stop = false;
  const masterWorker = async (i0: number) => {
    for (let i = i0; !stop; i++) {
      try {
        const ks = await master.getKeys('sae-b', { number: 1 + (i % 3) });
        asMaster.push(...ks);
        toFetch.push(...ks.map((k) => k.keyId));
      } catch {
        // refused while the peer is away is fine: nothing was delivered then
      }
      await sleep(1);
    }
  };
  let slaveUp = true;
  const slaveWorker = async () => {
    while (!stop) {
      const ids = slaveUp ? toFetch.splice(0, 2) : [];
      if (ids.length === 0) {
        await sleep(2);
        continue;
      }
      try {
        asSlave.push(...(await slave.getKeysWithIds('sae-a', ids)));
      } catch {
        cut.push(...ids);
      }
    }
  };
  const load = Promise.all([
    ...Array.from({ length: 4 }, (_, w) => masterWorker(w)),
    ...Array.from({ length: 4 }, () => slaveWorker()),
  ]);
  await sleep(1500);
  b.kme.kill('SIGKILL');
  await new Promise((r) => b.kme.once('exit', r));
  slaveUp = false;
  await sleep(200);
  stop = true;
  await load;
  slave.close();
  assert.ok(asSlave.length > 20, `only ${asSlave.length} keys reached the slave before the kill`);

  const logFrom = transcript['kme-b']!.length;
  b = await serve('kme-b');
  slave = Etsi014Client.fromFiles(b.url, pki.tls('sae-b'));
  // Same boot: nothing discarded (no log line, an empty `discarded` table).
  await slave.status('sae-a');
  assert.doesNotMatch(transcript['kme-b']!.slice(logFrom), /"discarded":[1-9]/);
  const dbB = join(dir, 'kme-b.db');
  const db0 = new Database(dbB, { readonly: true });
  const discarded = (db0.prepare('SELECT COUNT(*) AS n FROM discarded').get() as { n: number }).n;
  db0.close();
  assert.equal(discarded, 0, 'the restart after kill -9 discarded slave copies');

  // Every key the slave got before the kill stays delivered (its lazy COMMIT survived the killed process).
  for (const k of asSlave)
    await assert.rejects(slave.getKeysWithIds('sae-a', [k.keyId]), `key ${k.keyId} was served twice`);
  // Everything else the master got is owed to the slave: fetchable once, unless its dec_keys was cut.
  const got = new Set(asSlave.map((k) => k.keyId));
  const lostAnswers: string[] = [];
  for (const k of asMaster) {
    if (got.has(k.keyId)) continue;
    try {
      asSlave.push(...(await slave.getKeysWithIds('sae-a', [k.keyId])));
    } catch {
      lostAnswers.push(k.keyId);
    }
  }
  for (const id of lostAnswers) assert.ok(cut.includes(id), `owed key ${id} is not fetchable`);
  master.close();
  slave.close();
  b.kme.kill('SIGTERM');
  a.kme.kill('SIGTERM');
  await Promise.all([b, a].map((x) => new Promise((r) => x.kme.once('exit', r))));

  const ids = asSlave.map((k) => k.keyId);
  assert.equal(new Set(ids).size, ids.length, 'a key_ID reached the slave twice');
  const byId = new Map(asMaster.map((k) => [k.keyId, Buffer.from(k.key).toString('hex')]));
  for (const s of asSlave) assert.equal(Buffer.from(s.key).toString('hex'), byId.get(s.keyId));
  const db = new Database(dbB, { readonly: true });
  const log = (
    db.prepare("SELECT key_id FROM deliveries WHERE role = 'slave'").all() as { key_id: string }[]
  ).map((r) => r.key_id);
  db.close();
  assert.equal(new Set(log).size, log.length, "kme-b's log shows a double delivery to the slave");
  for (const id of lostAnswers)
    assert.ok(log.includes(id), `cut key ${id} is neither fetchable nor delivered`);
  process.stderr.write(
    `# ${asMaster.length} keys to the master, ${got.size} to the slave before the kill, ${lostAnswers.length} answers lost, 0 discarded\n`,
  );
});
