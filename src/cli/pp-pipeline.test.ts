// The two-party pipeline harness takes its secrets as the one-process path does: physics from the seed,
// every secret from node:crypto or the pre-shared secret, reproducible bytes only with
// `keys: 'deterministic'` (labelled). Both ends in one process here (the memory channel); the
// two-process runs are in pp-link-tcp.slow.test.ts and the reconcile-net benchmark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  exampleSource,
  readPreshared,
  runPipelineMemory,
  writePreshared,
  type PipelineRunParams,
} from './pp-pipeline.ts';

const params = (keys: 'secret' | 'deterministic'): PipelineRunParams => ({
  mode: 'pipeline',
  source: 'example',
  blocks: 1,
  window: 1,
  algorithm: 'cascade-improved',
  seed: 'pp-secrets',
  link: '{}',
  keys,
});
const source = exampleSource('pp-secrets');

test('secret keys: both ends agree, two runs with the same seed give different keys and the same physics', () => {
  const r1 = runPipelineMemory(params('secret'), source);
  const r2 = runPipelineMemory(params('secret'), source);
  for (const r of [r1, r2]) {
    assert.equal(r.alice.blocks_ok, 1);
    assert.deepEqual(r.alice.digests, r.bob.digests);
    assert.equal(r.alice.key_provenance, 'qkd');
  }
  for (let b = 0; b < 1; b++) {
    assert.notEqual(r1.alice.digests[b], r2.alice.digests[b], 'a key recomputable from the seed');
    assert.equal(r1.bob.stats[b]!.sifted_bits, r2.bob.stats[b]!.sifted_bits);
    assert.equal(r1.bob.stats[b]!.qber, r2.bob.stats[b]!.qber, 'the relabelling leaves every error in place');
  }
});

test('deterministic keys: the same bytes twice, labelled simulated-deterministic', () => {
  const r1 = runPipelineMemory(params('deterministic'), source);
  const r2 = runPipelineMemory(params('deterministic'), source);
  assert.equal(r1.alice.blocks_ok, 1);
  assert.deepEqual(r1.alice.digests, r2.alice.digests);
  assert.deepEqual(r1.alice.digests, r1.bob.digests);
  assert.equal(r1.alice.key_provenance, 'simulated-deterministic');
  assert.equal(r1.bob.key_provenance, 'simulated-deterministic');
});

test('pre-shared secret files: 0600, never overwritten, a malformed one refused in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-psk-'));
  try {
    const f = join(dir, 'psk.hex');
    const s = writePreshared(f);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(readPreshared(f), s);
    assert.throws(() => writePreshared(f), /cannot create/);
    writeFileSync(join(dir, 'bad.hex'), 'xyz\n');
    assert.throws(() => readPreshared(join(dir, 'bad.hex')), /does not hold 64 hex digits/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pp-peer --mode pipeline without --preshared or --deterministic-keys: exit 2 before listening', async () => {
  const { runCliInProcess } = await import('./run-in-process.ts');
  const r = await runCliInProcess([
    'pp-peer',
    '--role',
    'alice',
    '--listen',
    '127.0.0.1:0',
    '--mode',
    'pipeline',
  ]);
  assert.equal(r.code, 2);
  assert.match(r.err, /needs --preshared/);
  assert.doesNotMatch(r.out, /listening/);
});
