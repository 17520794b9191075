import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chunkIds, chunksFor, ownsChunk, uuidV5, CHUNK_BYTES } from './supply.ts';
import { parseSupplyLine, supplyFromFile } from './supply-stream.ts';
import { testBlock } from './kme-pair.fixture.ts';

test('uuidV5 matches the RFC 9562 Appendix A.4 example (DNS namespace, "www.example.com")', () => {
  // RFC 9562 §A.4: UUIDv5 of "www.example.com" in the DNS namespace is 2ed6657d-e927-568b-95e1-2665a8aea6a2.
  assert.equal(
    uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'),
    '2ed6657d-e927-568b-95e1-2665a8aea6a2',
  );
});

test('chunk IDs are version-8 UUIDs that share a per-block prefix and sort in chunk order', () => {
  const a = chunkIds('qkdnet:L:b-1');
  const ids = [0, 1, 255, 256, 390_624, 2 ** 32 - 1].map(a);
  for (const id of ids)
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids.map((id) => id.slice(0, 28))).size, 1);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(ids[2]!.slice(-8), '000000ff');
  // Same name, same IDs (both ends); another block, another prefix.
  assert.equal(chunkIds('qkdnet:L:b-1')(7), a(7));
  assert.notEqual(chunkIds('qkdnet:L:b-2')(7).slice(0, 28), a(7).slice(0, 28));
  assert.throws(() => a(2 ** 32), RangeError);
  assert.throws(() => a(-1), RangeError);
  // Cut blocks use them: every chunk of a block under its block's prefix, indices in order.
  const cut = chunksFor('kme-a', 'kme-b', testBlock(3, 'b-3', 100));
  assert.deepEqual(
    cut.map((c) => c.id.slice(-8)),
    ['00000000', '00000001', '00000002', '00000003'],
  );
  assert.equal(new Set(cut.map((c) => c.id.slice(0, 28))).size, 1);
});

test('ownership alternates by chunk index and the two ends never both own a chunk', () => {
  for (let i = 0; i < 10; i++)
    assert.notEqual(ownsChunk('kme-a', 'kme-b', i), ownsChunk('kme-b', 'kme-a', i));
  assert.equal(ownsChunk('kme-a', 'kme-b', 0), true);
});

test('a final key block is cut into 256-bit chunks with the same IDs at both ends', () => {
  const blk = testBlock(1, 'b-1', 100);
  const a = chunksFor('kme-a', 'kme-b', blk);
  const b = chunksFor('kme-b', 'kme-a', blk);
  assert.equal(a.length, Math.ceil(100 / CHUNK_BYTES));
  assert.deepEqual(
    a.map((c) => c.id),
    b.map((c) => c.id),
  );
  assert.deepEqual(
    a.map((c) => c.mine),
    b.map((c) => !c.mine),
  );
  assert.equal(a.at(-1)!.material.length, 100 % CHUNK_BYTES);
  assert.deepEqual(a[0]!.path, ['kme-a', 'kme-b']);
});

test('a final key block with fewer bits than bytes keeps only whole bytes', () => {
  const blk = { ...testBlock(2, 'b-2', 64), bits: 8 * 40 + 3 };
  const total = chunksFor('kme-a', 'kme-b', blk).reduce((s, c) => s + c.material.length, 0);
  assert.equal(total, 40);
});

test('a tagged key with an ID is one chunk with that ID, its provenance and path', () => {
  const [c] = chunksFor('kme-a', 'kme-c', {
    keyId: '0f0e0d0c-0b0a-4908-8706-050403020100',
    key: new Uint8Array(32).fill(7),
    provenance: 'qkd-relayed',
    path: ['kme-a', 'kme-b', 'kme-c'],
    owner: 'kme-c',
  });
  assert.equal(c!.id, '0f0e0d0c-0b0a-4908-8706-050403020100');
  assert.equal(c!.mine, false);
  assert.equal(c!.provenance, 'qkd-relayed');
  assert.deepEqual(c!.exposedTo, ['kme-a', 'kme-b', 'kme-c']);
});

test('a tagged key without keyId or blockId is a TypeError', () => {
  assert.throws(
    () => chunksFor('a', 'b', { key: new Uint8Array(4), provenance: 'pqc', path: [] }),
    TypeError,
  );
});

test('parseSupplyLine reads hex and base64 lines and names the problem of bad ones without their content', () => {
  const h = parseSupplyLine('{"block_id":"x1","key_hex":"00ff"}', 'kme-a', 'kme-b');
  assert.deepEqual([...h.key], [0, 255]);
  assert.equal(h.provenance, 'qkd');
  const b = parseSupplyLine('{"block_id":"x2","key_b64":"AP8=","provenance":"pqc"}', 'kme-a', 'kme-b');
  assert.deepEqual([...b.key], [0, 255]);
  assert.equal(b.provenance, 'pqc');
  for (const bad of [
    'not json',
    '[]',
    '{"block_id":"x"}',
    '{"block_id":"x","key_hex":"abc"}',
    '{"key_hex":"00"}',
  ])
    assert.throws(
      () => parseSupplyLine(bad, 'a', 'b'),
      (e: Error) => e instanceof TypeError && !e.message.includes('abc'),
    );
});

test('supplyFromFile feeds every good line, reports bad ones by number and follows appends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-supply-'));
  const file = join(dir, 'keys.jsonl');
  try {
    writeFileSync(file, '{"block_id":"b1","key_hex":"0011"}\nbroken\n{"block_id":"b2","key_hex":"2233"}\n');
    const got: string[] = [];
    const errors: string[] = [];
    const stop = supplyFromFile((i) => got.push(i.blockId!), file, {
      self: 'kme-a',
      peer: 'kme-b',
      follow: true,
      onError: (e) => errors.push(e.message),
    });
    assert.deepEqual(got, ['b1', 'b2']);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /keys\.jsonl:2: not valid JSON/);
    appendFileSync(file, '{"block_id":"b3","key_hex":"4455"}\n');
    for (let i = 0; i < 400 && got.length < 3; i++) await sleep(50); // waits on the follower, bounded at 20 s
    stop();
    assert.deepEqual(got, ['b1', 'b2', 'b3']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
