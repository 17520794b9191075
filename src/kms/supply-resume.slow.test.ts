/**
 * Southbound supply across SIGKILL: `qkdnet kme serve` (the real CLI, its own process) is killed while its
 * supply worker is still storing a large device file (JSON Lines, 64-Kibit blocks) and after keys were
 * served from it; it restarts on the same store and file. Then the store holds exactly the file's chunks —
 * every chunk the peer owns once, and this KME's own chunks less exactly those delivered or discarded —,
 * no chunk that is not in the file, and its stored mark says the whole file was read (resumed, not re-read
 * from the start: consumed material never comes back).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Etsi014Client } from './client.ts';
import { makeTestPki, type TestPki } from './kme-pair.fixture.ts';
import { KmeProcess, writeKmeAConfig } from './kme-process.fixture.ts';
import { chunksFor } from './supply.ts';
import { randomBytes } from 'node:crypto';

const BLOCKS = 600;
const BLOCK_BYTES = 8192;
let pki: TestPki;
let dir: string;
const expected = { mine: new Set<string>(), theirs: new Set<string>() };

before(async () => {
  pki = await makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'qkdnet-supply-resume-'));
  const lines: string[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    const key = randomBytes(BLOCK_BYTES);
    const blockId = `resume-${i}`;
    lines.push(JSON.stringify({ block_id: blockId, key_hex: key.toString('hex') }));
    const path = ['kme-a', 'kme-b'];
    for (const c of chunksFor('kme-a', 'kme-b', { blockId, key, provenance: 'qkd', path }))
      (c.mine ? expected.mine : expected.theirs).add(c.id);
  }
  writeFileSync(join(dir, 'keys.jsonl'), `${lines.join('\n')}\n`);
  config = writeKmeAConfig(dir, pki, '{ peer: kme-b, file: keys.jsonl, follow: true }', [
    'keys: { maxChunksPerPeer: 1000000 }',
  ]);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

let config: string;
const proc = new KmeProcess();
async function serve(): Promise<{ kme: ChildProcess; client: Etsi014Client }> {
  const { kme, url } = await proc.serve(config);
  return { kme, client: Etsi014Client.fromFiles(url, pki.tls('sae-a')) };
}

const stored = async (c: Etsi014Client) => (await c.status('sae-c')).storedKeyCount;

test('SIGKILL while the supply worker stores a device file: resumed from its mark, no chunk lost or back', async () => {
  let { kme, client } = await serve();
  // Some chunks stored, then keys served from them, then the kill — with most of the file still to store.
  let n = 0;
  for (let i = 0; i < 600 && n < 2000; i++) {
    n = await stored(client).catch(() => 0);
    await sleep(20);
  }
  assert.ok(n >= 2000, `supply did not start: ${proc.transcript.slice(-2000)}`);
  const keys = await client.getKeys('sae-c', { number: 8 });
  const before = await stored(client);
  kme.kill('SIGKILL');
  await new Promise((r) => kme.once('exit', r));
  client.close();
  assert.ok(before < expected.mine.size / 2, `the file was stored before the kill (${before} keys)`);

  ({ kme, client } = await serve());
  // Stored to the end: the count stops moving at the file's size less what was taken.
  let last = -1;
  for (let quiet = 0, i = 0; quiet < 15 && i < 1200; i++) {
    const now = await stored(client);
    quiet = now === last ? quiet + 1 : 0;
    last = now;
    await sleep(100);
  }
  client.close();
  kme.kill('SIGTERM');
  await new Promise((r) => kme.once('exit', r));

  const db = new Database(join(dir, 'kme-a.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT id, mine FROM chunks').all() as { id: string; mine: number }[];
    const mine = rows.filter((r) => r.mine === 1).map((r) => r.id);
    const theirs = rows.filter((r) => r.mine === 0).map((r) => r.id);
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
    assert.ok(mine.every((id) => expected.mine.has(id)) && theirs.every((id) => expected.theirs.has(id)));
    assert.equal(theirs.length, expected.theirs.size, 'every chunk the peer owns is stored once');
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const delivered = count(`SELECT COUNT(*) AS n FROM deliveries WHERE role = 'master'`);
    const discarded = count('SELECT COUNT(*) AS n FROM discarded');
    assert.ok(delivered >= keys.length);
    assert.equal(count('SELECT COUNT(*) AS n FROM chunk_use'), 0, '256-bit keys use whole chunks');
    // Each 256-bit key used one whole chunk of this KME's: none came back after the restart, none lost.
    assert.equal(mine.length + delivered + discarded, expected.mine.size);
    const mark = db
      .prepare('SELECT "offset" AS offset FROM supply_offsets WHERE source = ?')
      .get(resolve(join(dir, 'keys.jsonl'))) as { offset: number } | undefined;
    assert.equal(
      mark?.offset,
      statSync(join(dir, 'keys.jsonl')).size,
      'the mark says the whole file was read',
    );
  } finally {
    db.close();
  }
});
