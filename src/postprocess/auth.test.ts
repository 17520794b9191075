import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray, createRng } from '../common/index.ts';
import { AuthKeyPool, AuthSession, type SealedMessage } from './auth.ts';

function pair(bits = 4096, seed = 1) {
  const pool = new AuthKeyPool(BitArray.random(bits, createRng(seed)));
  return { alice: new AuthSession('alice', pool.clone()), bob: new AuthSession('bob', pool.clone()) };
}

function sealOk<T>(s: AuthSession, body: T): SealedMessage<T> {
  const r = s.seal(body);
  assert.ok(r.ok);
  return r.sealed;
}

test('messages in both directions open, and each end pays 128 bits of hash key plus 128 per message', () => {
  const { alice, bob } = pair();
  for (let i = 0; i < 5; i++) {
    const m1 = sealOk(alice, { type: 'q', round: i, data: Uint32Array.of(i, 7) });
    assert.deepEqual(bob.open(m1), { ok: true, body: m1.body });
    const m2 = sealOk(bob, { type: 'a', bits: Uint8Array.of(1, 0, i & 1) });
    assert.equal(alice.open(m2).ok, true);
  }
  assert.equal(alice.bitsUsed, 128 + 10 * 128);
  assert.equal(bob.bitsUsed, alice.bitsUsed);
});

test('authentication rejects any flipped bit in the message or the tag (property)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.nat(),
      fc.boolean(),
      (data, at, inTag) => {
        const { alice, bob } = pair(1024, at);
        const m = sealOk(alice, { data });
        let forged: SealedMessage<{ data: Uint8Array }>;
        if (inTag) {
          const tag = m.tag.slice();
          tag[(at >>> 5) % 4]! ^= 1 << (at & 31);
          forged = { ...m, tag };
        } else {
          const d = data.slice();
          d[(at >>> 3) % d.length]! ^= 1 << (at & 7);
          forged = { ...m, body: { data: d } };
        }
        const r = bob.open(forged);
        return !r.ok && r.reason === 'auth-tag-mismatch' && bob.failure === 'auth-tag-mismatch';
      },
    ),
    { seed: 9, numRuns: 200 },
  );
});

test('a replayed, reordered or reflected message aborts the session', () => {
  {
    const { alice, bob } = pair();
    const m = sealOk(alice, { x: 1 });
    assert.equal(bob.open(m).ok, true);
    assert.deepEqual(bob.open(m), { ok: false, reason: 'auth-out-of-order' });
  }
  {
    const { alice, bob } = pair();
    const first = sealOk(alice, { x: 1 });
    const second = sealOk(alice, { x: 2 });
    assert.deepEqual(bob.open(second), { ok: false, reason: 'auth-out-of-order' });
    assert.deepEqual(bob.open(first), { ok: false, reason: 'auth-aborted' });
  }
  {
    const { alice } = pair();
    const m = sealOk(alice, { x: 1 });
    assert.deepEqual(alice.open({ ...m, seq: 1 }), { ok: false, reason: 'auth-out-of-order' });
  }
});

test('an empty pool refuses to tag, and replenishing refills it', () => {
  const pool = new AuthKeyPool(BitArray.random(200, createRng(2)));
  const s = new AuthSession('alice', pool);
  assert.deepEqual(s.seal({}), { ok: false, reason: 'auth-pool-exhausted' });
  const pool2 = new AuthKeyPool(new BitArray(0));
  pool2.replenish(BitArray.random(512, createRng(3)));
  assert.equal(pool2.availableBits, 512);
  assert.equal(new AuthSession('bob', pool2).seal({ y: 1 }).ok, true);
  assert.equal(pool2.availableBits, 256);
  assert.equal(pool2.consumedBits, 256);
});
