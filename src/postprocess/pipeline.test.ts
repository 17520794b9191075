import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray, binaryEntropy, createRng } from '../common/index.ts';
import { lim2014KeyLength } from '../physics/index.ts';
import { AuthKeyPool, type SealedMessage } from './auth.ts';
import { cascadeOriginal } from './cascade.ts';
import { linkPostprocessFields, runPipeline } from './pipeline.ts';
import { verificationMessage, verifyKey } from './poly-hash.ts';
import { EXAMPLE_LINK, simulateRawRecord } from './lim2014-raw-records.ts';
import { noisyPair } from './reconciliation-conformance.fixture.ts';
import { reconcile } from './reconciliation.ts';
import { estimate, sift } from '../qkd/index.ts';

const raw = simulateRawRecord(EXAMPLE_LINK, createRng('pipeline-test'), 'alice-bob', 7);

test('runPipeline emits identical final key blocks at both ends with their estimates', () => {
  const r = runPipeline(raw, { timeNs: 42 }, createRng(1));
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.deepEqual(r.alice.key, r.bob.key);
  assert.equal(r.alice.bits, r.stats.final_key_bits);
  assert.equal(r.alice.key.length, Math.ceil(r.alice.bits / 8));
  assert.equal(r.alice.blockId, 'alice-bob:7');
  assert.equal(r.alice.createdNs, 42);
  assert.equal(r.alice.estimates.leakedBits, r.stats.leak_ec_bits);
  assert.ok(r.stats.keys_equal);
  // Transcript authentication: one hash key and one checkpoint tag per direction.
  assert.equal(r.stats.auth_bits_used, 3 * 128);
  assert.equal(r.stats.final_key_bits, r.stats.pa_output_bits - r.stats.auth_bits_used);
});

test('the output length is Lim et al. 2014 Eq. 6 on the block counts with the measured leakage', () => {
  const r = runPipeline(raw, {}, createRng(2));
  const est = estimate(sift(raw), raw, { epsSec: 1e-10 });
  assert.ok(est.bound);
  assert.equal(r.stats.pa_output_bits, lim2014KeyLength(est.bound, r.stats.leak_ec_bits, 1e-10, 1e-15));
  // Efficiency as the issue defines it: parities / (n·h(QBER)), QBER from the corrected errors.
  const parities = r.stats.leak_ec_bits - 128;
  assert.ok(
    Math.abs(r.stats.efficiency - parities / (r.stats.sifted_bits * binaryEntropy(r.stats.qber))) < 1e-12,
  );
  assert.ok(r.stats.efficiency > 1 && r.stats.efficiency < 1.06, `efficiency ${r.stats.efficiency}`);
});

test('PA output length follows Lim 2014 Eq. 6 for any link and block (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3e7, max: 1e8 }),
      fc.double({ min: 0.005, max: 0.04, noNaN: true }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      (pulses, misalignment, seed) => {
        const rr = simulateRawRecord({ ...EXAMPLE_LINK, pulses, misalignment }, createRng(seed));
        const r = runPipeline(rr, {}, createRng(seed + 1));
        const est = estimate(sift(rr), rr, { epsSec: 1e-10, epsCor: 1e-15, errorCorrectionEfficiency: 1.05 });
        if (!est.secure || !est.bound) return !r.ok && r.reason === 'insecure-estimate';
        const l = lim2014KeyLength(est.bound, r.stats.leak_ec_bits, 1e-10, 1e-15);
        return (
          r.stats.pa_output_bits === l && r.stats.final_key_bits === Math.max(0, l - r.stats.auth_bits_used)
        );
      },
    ),
    { seed: 21, numRuns: 6 },
  );
});

test('the same seed gives the same keys and figures', () => {
  const a = runPipeline(raw, {}, createRng(3));
  const b = runPipeline(raw, {}, createRng(3));
  assert.deepEqual(a.stats, b.stats);
  assert.ok(a.ok && b.ok);
  assert.deepEqual(a.alice.key, b.alice.key);
});

function flipFirstParity(msg: SealedMessage<unknown>): SealedMessage<unknown> {
  const body = msg.body as { type?: string; replies?: { blockParities: Uint8Array }[] };
  if (body.type !== 'frame-replies' || !body.replies?.[0]?.blockParities.length) return msg;
  const first = body.replies[0];
  const bp = first.blockParities.slice();
  bp[0]! ^= 1;
  return { ...msg, body: { ...body, replies: [{ ...first, blockParities: bp }, ...body.replies.slice(1)] } };
}

test('a tampered classical message aborts the block in both authentication modes', () => {
  for (const authMode of ['transcript', 'per-message'] as const) {
    let hits = 0;
    const r = runPipeline(
      raw,
      { authMode, tamper: (m, i) => (i === 1 ? (hits++, flipFirstParity(m)) : m) },
      createRng(4),
    );
    assert.equal(hits, 1);
    assert.equal(r.ok, false);
    assert.equal(r.ok ? '' : r.reason, 'auth-tag-mismatch', authMode);
  }
});

test('a replayed or reordered message aborts the block', () => {
  let saved: SealedMessage<unknown> | undefined;
  const replay = runPipeline(
    raw,
    { tamper: (m, i) => (i === 2 ? (saved = m) : i === 4 ? saved! : m) },
    createRng(5),
  );
  assert.deepEqual([replay.ok, replay.ok ? '' : replay.reason], [false, 'auth-out-of-order']);
});

test('an authentication pool too small for the block fails closed and emits nothing', () => {
  const r = runPipeline(raw, { authPool: new AuthKeyPool(BitArray.random(200, createRng(6))) }, createRng(6));
  assert.deepEqual([r.ok, r.ok ? '' : r.reason], [false, 'auth-pool-exhausted']);
  assert.equal(linkPostprocessFields(r).final_key_bits, 0);
});

test('the pool is replenished from the block output with what the block consumed', () => {
  const pool = new AuthKeyPool(BitArray.random(1024, createRng(7)));
  const r = runPipeline(raw, { authPool: pool }, createRng(7));
  assert.ok(r.ok);
  assert.equal(pool.availableBits, 1024);
  assert.equal(pool.consumedBits, 384);
});

test('a QBER above 11% gives no key, with the reason', () => {
  const noisy = simulateRawRecord({ ...EXAMPLE_LINK, misalignment: 0.2 }, createRng(8));
  const r = runPipeline(noisy, {}, createRng(8));
  assert.equal(r.ok, false);
  assert.equal(r.ok ? '' : r.reason, 'insecure-estimate');
  assert.equal(r.ok ? '' : r.detail, 'qber-above-threshold');
});

test('linkPostprocessFields gives exactly the six fields of `link simulate --postprocess`', () => {
  const f = linkPostprocessFields(runPipeline(raw, {}, createRng(9)));
  assert.deepEqual(Object.keys(f).sort(), [
    'auth_bits_used',
    'efficiency',
    'final_key_bits',
    'keys_equal',
    'leak_ec_bits',
    'secret_key_rate_per_pulse',
  ]);
  assert.ok(f.final_key_bits > 0 && f.keys_equal);
  assert.equal(f.secret_key_rate_per_pulse, f.final_key_bits / EXAMPLE_LINK.pulses);
});

// Cascade with a badly underestimated QBER often leaves errors; verification must then reject the key.
test('after verification a key is never silently wrong: Cascade corrects it or the hash rejects it (property)', () => {
  let failures = 0;
  fc.assert(
    fc.property(fc.integer({ min: 64, max: 3000 }), fc.integer({ min: 0, max: 2 ** 31 }), (n, seed) => {
      const rng = createRng(seed);
      const { alice, bob } = noisyPair(n, 0.12, rng);
      const r = reconcile(cascadeOriginal, alice, bob, { qberEstimate: 0.01, shuffleSeed: seed });
      const accepted = verifyKey(r.key, verificationMessage(alice, rng.fillUint32(new Uint32Array(4))));
      if (!r.key.equals(alice)) failures++;
      return accepted === r.key.equals(alice);
    }),
    { seed: 13, numRuns: 300 },
  );
  assert.ok(failures > 20, `only ${failures} Cascade failures: the property did not exercise rejection`);
});
