/**
 * The conformance suite every error-correction algorithm passes: it corrects keys or leaves
 * them for verification to reject, never touches Bob's input, counts every disclosed parity and round trip
 * exactly, is deterministic for a seed and rejects malformed input. Call `errorCorrectionConformance(alg)`
 * from the algorithm's test file; every random key comes from an explicit seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray, createRng } from '../common/index.ts';
import { noisyPair } from './lim2014-raw-records.ts';
import { randomHashKey, verificationMessage, verifyKey } from './poly-hash.ts';
import {
  reconcile,
  type ErrorCorrection,
  type ParityChannel,
  type ParityResponder,
} from './reconciliation.ts';

export { noisyPair };

/** A channel that counts what crosses it. */
function countingChannel(alg: ErrorCorrection, alice: BitArray) {
  let responder: ParityResponder | undefined;
  const counts = { exchanges: 0, parities: 0 };
  const channel: ParityChannel = {
    exchange(req) {
      if (req.setup) responder = alg.responder(alice, req.setup);
      const reply = responder!.handle(req);
      counts.exchanges++;
      counts.parities += reply.blockParities.length + reply.parities.length;
      return reply;
    },
  };
  return { channel, counts };
}

/** Registers the shared conformance tests for `alg`. */
export function errorCorrectionConformance(alg: ErrorCorrection): void {
  // Reconciliation fails on a small fraction of frames (Cascade on 2000 bits at 5%: ≈ 2–3·10⁻³ measured
  // over 1,500 frames), which verification then discards; so one miss in 40 is tolerated, and a miss must
  // leave a key that differs from Alice's (never a silently "corrected" wrong one).
  test(`${alg.name} corrects every error of 2000-bit keys at QBER 1–8% (40 seeded keys, ≤ 1 miss)`, () => {
    const rng = createRng(`conformance:${alg.name}`);
    let misses = 0;
    for (let i = 0; i < 40; i++) {
      const q = [0.01, 0.03, 0.05, 0.08][i % 4]!;
      const { alice, bob, errors } = noisyPair(2000, q, rng);
      const r = reconcile(alg, alice, bob, { qberEstimate: q, shuffleSeed: i });
      if (!r.key.equals(alice)) {
        misses++;
        continue;
      }
      assert.equal(r.bitsFlipped, errors);
      assert.equal(r.converged, true);
    }
    assert.ok(misses <= 1, `${misses} of 40 keys not corrected`);
  });

  test(`${alg.name} terminates and reports non-convergence when Alice's answers are inconsistent`, () => {
    const { alice, bob } = noisyPair(4000, 0.03, createRng(14));
    let responder: ParityResponder | undefined;
    let k = 0;
    const liar: ParityChannel = {
      exchange(req) {
        if (req.setup) responder = alg.responder(alice, req.setup);
        const reply = responder!.handle(req);
        const flip = (a: Uint8Array) => a.map((x) => (k++ % 3 === 0 ? x ^ 1 : x));
        return { ...reply, blockParities: flip(reply.blockParities), parities: flip(reply.parities) };
      },
    };
    const r = reconcile(alg, alice, bob, { qberEstimate: 0.03, shuffleSeed: 1 }, liar);
    assert.ok(!r.key.equals(alice));
    assert.ok(r.roundTrips < 20 * 14 * 14);
  });

  test(`${alg.name} counts every disclosed parity and every round trip`, () => {
    const { alice, bob } = noisyPair(5000, 0.03, createRng(11));
    const { channel, counts } = countingChannel(alg, alice);
    const r = reconcile(alg, alice, bob, { qberEstimate: 0.03, shuffleSeed: 3 }, channel);
    // Every bit Alice sent is leaked except syndrome bits one-time padded by private random symbols.
    assert.equal(r.leakedBits, counts.parities - (r.maskedBits ?? 0));
    assert.ok((r.maskedBits ?? 0) >= 0 && (r.maskedBits ?? 0) < counts.parities);
    assert.equal(r.roundTrips, counts.exchanges);
  });

  test(`${alg.name} leaves Bob's input untouched and is deterministic for a seed`, () => {
    const { alice, bob } = noisyPair(3000, 0.04, createRng(12));
    const before = bob.clone();
    const opts = () => ({ qberEstimate: 0.04, shuffleSeed: 9, aliceRandom: createRng('alice private') });
    const r1 = reconcile(alg, alice, bob, opts());
    const r2 = reconcile(alg, alice, bob, opts());
    assert.ok(bob.equals(before));
    assert.deepEqual([r1.leakedBits, r1.roundTrips], [r2.leakedBits, r2.roundTrips]);
    assert.ok(r1.key.equals(r2.key));
  });

  test(`${alg.name} handles empty and identical keys`, () => {
    const empty = reconcile(alg, new BitArray(0), new BitArray(0), { qberEstimate: 0.02, shuffleSeed: 1 });
    assert.equal(empty.leakedBits, 0);
    const k = BitArray.random(1000, createRng(13));
    const same = reconcile(alg, k, k.clone(), { qberEstimate: 0.02, shuffleSeed: 1 });
    assert.ok(same.key.equals(k));
    assert.equal(same.bitsFlipped, 0);
  });

  test(`${alg.name} rejects keys of different lengths and impossible QBER estimates`, () => {
    const a = new BitArray(10);
    assert.throws(
      () => reconcile(alg, a, new BitArray(11), { qberEstimate: 0.02, shuffleSeed: 1 }),
      RangeError,
    );
    assert.throws(() => reconcile(alg, a, a, { qberEstimate: 0.7, shuffleSeed: 1 }), RangeError);
  });

  test(`${alg.name} returns Alice's key or a key that differs from it, never flips more than it says (property)`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.double({ min: 0.001, max: 0.15, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (n, q, seed) => {
          const { alice, bob } = noisyPair(n, q, createRng(seed));
          const r = reconcile(alg, alice, bob, { qberEstimate: q, shuffleSeed: seed });
          return r.key.length === n && r.key.hammingDistance(bob) === r.bitsFlipped;
        },
      ),
      { seed: 4, numRuns: 150 },
    );
  });

  test(`${alg.name} never yields a silently wrong key after verification, even over a lying channel (property)`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.double({ min: 0, max: 0.12, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 0, max: 5 }),
        (n, q, seed, lieEvery) => {
          const rng = createRng(seed);
          const { alice, bob } = noisyPair(n, q, rng);
          let responder: ParityResponder | undefined;
          let k = 0;
          // lieEvery = 0: an honest channel; otherwise every lieEvery-th disclosed bit is flipped.
          const channel: ParityChannel = {
            exchange(req) {
              if (req.setup) responder = alg.responder(alice, req.setup, rng.stream('alice'));
              const reply = responder!.handle(req);
              if (lieEvery === 0) return reply;
              const flip = (a: Uint8Array) => a.map((x) => (++k % lieEvery === 0 ? x ^ 1 : x));
              return { ...reply, blockParities: flip(reply.blockParities), parities: flip(reply.parities) };
            },
          };
          const r = reconcile(alg, alice, bob, { qberEstimate: q, shuffleSeed: seed }, channel);
          const accepted = verifyKey(r.key, verificationMessage(alice, randomHashKey(rng)));
          // Verification may reject a frame (it is then discarded), but never accepts a wrong key.
          return r.key.length === n && (!accepted || r.key.equals(alice));
        },
      ),
      { seed: 5, numRuns: 60 },
    );
  });
}
