import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRng } from '../common/index.ts';
import { KeyPool, simulatedKeySource } from './key-material.ts';
import {
  relayInProcess,
  relayReceive,
  splitKey,
  startRelay,
  xorBytes,
  type HopKeys,
  type RelayRoute,
} from './relay.ts';

const SEED = 6;

/** Hop keys over simulated pools: both ends of a link read the same bytes by offset. */
function hopKeys(seed: string): HopKeys {
  const pools = new Map<string, KeyPool>();
  return {
    take(linkId, n) {
      let p = pools.get(linkId);
      if (!p) pools.set(linkId, (p = new KeyPool(1e9, 1e9)));
      const ref = p.take(n * 8);
      return { ref, key: simulatedKeySource(seed, linkId).read(ref, n) };
    },
    fetch: (linkId, ref, n) => simulatedKeySource(seed, linkId).read(Number(ref), n),
  };
}

function randomFrom(seed: number): (n: number) => Uint8Array {
  const rng = createRng(seed);
  return (n) => Uint8Array.from({ length: n }, () => rng.nextInt(256));
}

/** k node-disjoint routes src → m_i1 → … → dst with `hops` intermediate nodes each. */
function routes(k: number, hops: number): RelayRoute[] {
  return Array.from({ length: k }, (_, i) => {
    const mid = Array.from({ length: hops }, (_, j) => `m${i}-${j}`);
    const nodes = ['src', ...mid, 'dst'];
    return { nodes, links: nodes.slice(1).map((n, j) => `${nodes[j]}~${n}`) };
  });
}

test('relay round-trips: the destination reassembles exactly the source key over any k paths', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 96 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 4 }),
      fc.integer(),
      (key, k, hops, s) => {
        const r = relayInProcess('k1', key, routes(k, hops), hopKeys(`s${s}`), randomFrom(s));
        assert.ok(r.ok);
        assert.deepEqual(r.key, key);
      },
    ),
    { seed: SEED, numRuns: 200 },
  );
});

test('XOR shares recombine to the key, and any k − 1 of them are independent of it', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 2, max: 5 }), (key, k) => {
      const shares = splitKey(key, k, randomFrom(k));
      assert.deepEqual(
        shares.reduce((a, b) => xorBytes(a, b)),
        key,
      );
      // The first k − 1 shares come from the random source alone: the same for any other key.
      const other = splitKey(
        key.map((b) => b ^ 0xff),
        k,
        randomFrom(k),
      );
      assert.deepEqual(shares.slice(0, -1), other.slice(0, -1));
    }),
    { seed: SEED, numRuns: 100 },
  );
});

test('with two disjoint paths a compromised trusted node learns nothing: its view is uncorrelated with the key', () => {
  // The view of node m1-0 (on path 2) over 4000 relays of fresh random keys: if it carried information,
  // view bits would agree with key bits more (or less) often than half the time. With n = 4000·256
  // bit pairs the agreement rate has σ = 0.5/√n ≈ 5e-4; we allow 5σ.
  const rand = randomFrom(99);
  const keysRng = createRng('keys');
  let agree = 0;
  let total = 0;
  for (let i = 0; i < 4000; i++) {
    const key = Uint8Array.from({ length: 32 }, () => keysRng.nextInt(256));
    const r = relayInProcess(`k${i}`, key, routes(2, 2), hopKeys('mp'), rand);
    assert.ok(r.ok);
    const view = r.views.get('m1-0')![0]!;
    assert.notDeepEqual(view, key);
    for (let b = 0; b < 32; b++) {
      const same = ~(view[b]! ^ key[b]!) & 0xff;
      for (let j = 0; j < 8; j++) agree += (same >> j) & 1;
      total += 8;
    }
  }
  const rate = agree / total;
  assert.ok(Math.abs(rate - 0.5) < 5 * (0.5 / Math.sqrt(total)), `agreement ${rate}`);
});

test('on a single path every trusted node sees the key in the clear (the exposure we count)', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const r = relayInProcess('k', key, routes(1, 3), hopKeys('sp'), randomFrom(1));
  assert.ok(r.ok);
  assert.equal(r.views.size, 3);
  for (const [, v] of r.views) assert.deepEqual(v[0], key);
});

test('what travels on a wire is the key one-time-padded with the link key, never the key itself', () => {
  const key = new Uint8Array(32).fill(7);
  const keys = hopKeys('wire');
  const start = startRelay('k', key, routes(1, 2), keys, randomFrom(3));
  assert.ok(start.ok);
  const msg = start.messages[0]!;
  assert.notDeepEqual(msg.ciphertext, key);
  assert.deepEqual(xorBytes(msg.ciphertext, keys.fetch(msg.links[0]!, msg.linkKeyRef, 32)!), key);
  const step = relayReceive('m0-0', msg, keys);
  assert.equal(step.kind, 'forward');
  if (step.kind === 'forward') {
    assert.notDeepEqual(step.message.ciphertext, key);
  }
  assert.deepEqual(relayReceive('intruder', msg, keys), { kind: 'error', reason: 'not-on-path' });
});

test('a relay without link key fails as a value, naming the reason', () => {
  const empty: HopKeys = { take: () => undefined, fetch: () => undefined };
  const r = relayInProcess('k', new Uint8Array(8), routes(1, 1), empty, randomFrom(1));
  assert.deepEqual(r, { ok: false, reason: 'no-link-key' });
});
