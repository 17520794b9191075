// Durable before visible, under a power-loss model: a real KME process (./live-relay-crash-child.fixture.ts)
// relays a key over one hop; it is killed with SIGKILL the moment its first connection to the next KME
// opens — after the hop's link key was consumed, before any ciphertext left. Then the WAL is cut back to
// the size it had at the child's last fsync (what survives a power loss; the shared-memory index is
// dropped too) and the store is reopened: the consumed chunk must be gone (lost, never reused) and the
// next key formed from the link must be a different chunk. Without the fsync between take and send, the
// cut would bring the chunk back and this test would fail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPki, issueCertificate, KeyStore, loadKeyring, storeKeySource } from '../kms/index.ts';

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qkdnet-relay-crash-'));
  await createPki(dir);
  await issueCertificate(dir, 'kme-a', 'kme');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('kill -9 between durable link-key consumption and send loses the chunk and never reuses it', async () => {
  const sockets: Socket[] = [];
  let connected!: () => void;
  const firstConnection = new Promise<void>((r) => (connected = r));
  const peer = createServer((s) => {
    sockets.push(s);
    connected();
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  const port = (peer.address() as { port: number }).port;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'live-relay-crash-child.fixture.ts'), dir, String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    await Promise.race([firstConnection, exited]);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', `child ended on its own: ${out} ${err}`);
  } finally {
    clearTimeout(timeout);
    for (const s of sockets) s.destroy();
    peer.close();
  }
  assert.doesNotMatch(out, /relay returned/);
  const before = JSON.parse(out.split('\n')[0]!) as { chunks: string[]; mineBytes: number };

  // Power loss: only what was fsync'd survives.
  const synced = readFileSync(join(dir, 'synced.log'), 'utf8').trim().split('\n').map(Number);
  truncateSync(join(dir, 'kme-a.db-wal'), synced.at(-1)!);
  if (existsSync(join(dir, 'kme-a.db-shm'))) rmSync(join(dir, 'kme-a.db-shm'));

  // The store is encrypted at rest with the key the KME created beside it.
  const keyring = loadKeyring(storeKeySource(undefined, join(dir, 'store.key')));
  const store = KeyStore.open({ path: join(dir, 'kme-a.db'), keyring });
  try {
    const after = store.chunkIds();
    const gone = before.chunks.filter((c) => !after.includes(c));
    assert.equal(gone.length, 1, 'exactly the consumed link-key chunk is gone');
    assert.equal(store.level('kme-b').mineBytes, before.mineBytes - 32);
    const [next] = store.takeForMaster({
      peer: 'kme-b',
      master: 'relay:kme-a',
      slaves: [],
      localSlaves: [],
      number: 1,
      sizeBits: 256,
      nowMs: 0,
    });
    assert.notEqual(next!.keyId, gone[0]);
    assert.deepEqual(next!.chunkIds.includes(gone[0]!), false);
    // The consumption's reservation survived with it: pushed after a restart, it becomes an erase
    // notice or an orphan the peer reclaims — the peer's copy is not kept forever either.
    assert.equal(store.outbox('kme-b', 10).length, 1);
  } finally {
    store.close();
  }
});
