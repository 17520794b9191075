// Orphans of a source crash: the source KME (a real process, ./live-relay-orphan-child.fixture.ts) relays a key
// to the destination KME (here), the destination confirms and stores its copy, and the source is killed
// with SIGKILL before it stores its own. Without reconciliation the destination would keep a key nobody
// can ever reserve. The source wrote its relay intent durably before the announcement; when it starts
// again on the same store it turns the unfinished relay into an erase notice and the destination erases
// its copy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPki, issueCertificate, startKme, type KmeHandle } from '../kms/index.ts';
import { fixtureBlock } from './live-relay.fixture.ts';
import { attachLiveRelay } from './live-relay.ts';

let dir: string;
let dst: KmeHandle;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qkdnet-relay-orphan-'));
  await createPki(dir);
  await issueCertificate(dir, 'kme-a', 'kme');
  await issueCertificate(dir, 'kme-b', 'kme');
  dst = await startKme({
    id: 'kme-b',
    tls: { cert: join(dir, 'kme-b.pem'), key: join(dir, 'kme-b.key'), ca: join(dir, 'ca.pem') },
    store: join(dir, 'kme-b.db'),
    saes: [{ id: 'sae-b' }],
    peers: [{ id: 'kme-a', url: 'https://127.0.0.1:1', saes: ['sae-a'] }],
    logLevel: 'silent',
  });
  attachLiveRelay(dst);
  dst.supply('kme-a', fixtureBlock('kme-a~kme-b'));
  await dst.settled();
});
after(async () => {
  await dst?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the source process; resolves with the first stdout line matching `re` (rejects if it exits). */
function source(mode: string, re: RegExp): { child: ChildProcess; line: Promise<string> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'live-relay-orphan-child.fixture.ts'), dir, dst.url, mode],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  const line = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.split('\n').find((l) => re.test(l));
      if (m) resolve(m);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, sig) => reject(new Error(`source exited (${code ?? sig}): ${out} ${err}`)));
  });
  line.catch(() => undefined);
  return { child, line };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function until(cond: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('kill -9 of the source between the destination confirming and the source storing: its restart makes the destination erase the orphan', async () => {
  const first = source('relay', /^confirmed /);
  let keyId: string;
  try {
    keyId = (await first.line).split(' ')[1]!;
  } finally {
    await kill(first.child);
  }
  await dst.settled();
  assert.ok(dst.store.chunkIds().includes(keyId), 'the destination stored its copy before confirming');
  const theirs = dst.store.level('kme-a').theirChunks;

  const second = source('restart', /^started$/);
  try {
    await second.line;
    await until(() => !dst.store.chunkIds().includes(keyId), 'the destination erased the orphan', 60_000);
    assert.equal(dst.store.level('kme-a').theirChunks, theirs - 1);
    assert.equal(dst.store.keyIds().includes(keyId), false);
  } finally {
    await kill(second.child);
  }
});
