import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  confirmationTag,
  nodeDisjoint,
  RelayAssembler,
  shareDigest,
  type RelayAnnouncement,
} from './relay-integrity.ts';
import { splitKey, xorBytes } from './relay.ts';

const PATHS = [
  ['a', 'b', 'c'],
  ['a', 'd', 'c'],
];
const rnd = (n: number) => new Uint8Array(randomBytes(n));

function announced(keyId = 'k1') {
  const key = rnd(32);
  const shares = splitKey(key, 2, rnd);
  const macKey = rnd(32);
  const a: RelayAnnouncement = {
    keyId,
    paths: PATHS,
    keyBytes: 32,
    macKey,
    digests: shares.map((s, i) => shareDigest(macKey, keyId, PATHS[i]!, i, 2, s)),
  };
  return { key, shares, a };
}

test('honest shares assemble, and mutual confirmation hands over the same key once', () => {
  const asm = new RelayAssembler('c', { shareTimeoutMs: 1000 });
  const { key, shares, a } = announced();
  assert.deepEqual(asm.announce('a', a, 0), { ok: true });
  assert.deepEqual(asm.share('b', 'k1', PATHS[0]!, 0, 2, shares[0]!.slice()), {
    ok: true,
    status: 'pending',
  });
  assert.deepEqual(asm.share('d', 'k1', PATHS[1]!, 1, 2, shares[1]!.slice()), {
    ok: true,
    status: 'assembled',
  });
  const nonce = rnd(32);
  const r = asm.confirm('a', 'k1', nonce, confirmationTag(nonce, 'source', 'k1', 'a', 'c', key));
  assert.ok(r.ok);
  assert.deepEqual(r.key, key);
  assert.deepEqual(r.tag, confirmationTag(nonce, 'destination', 'k1', 'a', 'c', key));
  assert.equal(asm.pending, 0);
  assert.equal(asm.confirm('a', 'k1', nonce, r.tag).ok, false); // once only
});

test('a share claiming another count, path, sender or content is a forgery that drops the key', () => {
  const cases: [string, (s: Uint8Array[]) => Parameters<RelayAssembler['share']>][] = [
    ['count', (s) => ['b', 'k1', PATHS[0]!, 0, 1, s[0]!]],
    ['path', (s) => ['b', 'k1', ['a', 'b', 'x', 'c'], 0, 2, s[0]!]],
    ['sender', (s) => ['d', 'k1', PATHS[0]!, 0, 2, s[0]!]],
    ['content', (s) => ['b', 'k1', PATHS[0]!, 0, 2, xorBytes(s[0]!, new Uint8Array(32).fill(1))]],
  ];
  for (const [what, args] of cases) {
    const asm = new RelayAssembler('c', { shareTimeoutMs: 1000 });
    const { shares, a } = announced();
    asm.announce('a', a, 0);
    const r = asm.share(...args(shares));
    assert.ok(!r.ok && r.reason === 'forged-share', what);
    assert.equal(asm.pending, 0, what);
    // The honest share arriving afterwards is refused too: the key is gone for good.
    assert.equal(asm.share('d', 'k1', PATHS[1]!, 1, 2, shares[1]!).ok, false, what);
  }
});

test('shares of an unannounced key are refused; another peer cannot cancel or confirm a key', () => {
  const asm = new RelayAssembler('c', { shareTimeoutMs: 1000 });
  assert.equal(asm.share('b', 'zz', PATHS[0]!, 0, 1, rnd(32)).ok, false);
  const { a } = announced();
  asm.announce('a', a, 0);
  assert.equal(asm.announce('b', { ...a, paths: [['b', 'c']], digests: [a.digests[0]!] }, 0).ok, false);
  assert.equal(asm.abort('b', 'k1', 0), false);
  assert.equal(asm.confirm('b', 'k1', rnd(32), rnd(32)).ok, false);
  assert.equal(asm.pending, 1);
});

test('missing share: confirmation and timeout both refuse and name the path it should have taken', () => {
  const asm = new RelayAssembler('c', { shareTimeoutMs: 1000 });
  const { key, shares, a } = announced();
  asm.announce('a', a, 0);
  asm.share('d', 'k1', PATHS[1]!, 1, 2, shares[1]!);
  const nonce = rnd(32);
  const r = asm.confirm('a', 'k1', nonce, confirmationTag(nonce, 'source', 'k1', 'a', 'c', key));
  assert.ok(!r.ok && r.reason === 'missing-share');
  assert.deepEqual(r.paths, [PATHS[0]]);
  const later = announced('k2');
  asm.announce('a', later.a, 0);
  assert.deepEqual(asm.expire(999), []);
  const expired = asm.expire(1000);
  assert.equal(expired.length, 1);
  assert.equal(expired[0]!.reason, 'missing-share');
  assert.deepEqual(expired[0]!.paths, PATHS);
});

test('a confirmation under a different key fails and drops the key', () => {
  const asm = new RelayAssembler('c', { shareTimeoutMs: 1000 });
  const { shares, a } = announced();
  asm.announce('a', a, 0);
  asm.share('b', 'k1', PATHS[0]!, 0, 2, shares[0]!);
  asm.share('d', 'k1', PATHS[1]!, 1, 2, shares[1]!);
  const nonce = rnd(32);
  const r = asm.confirm('a', 'k1', nonce, confirmationTag(nonce, 'source', 'k1', 'a', 'c', rnd(32)));
  assert.ok(!r.ok && r.reason === 'confirmation-failed');
  assert.equal(asm.pending, 0);
});

test('nodeDisjoint: shared intermediate nodes, loops and a doubled direct link are refused', () => {
  assert.equal(nodeDisjoint(PATHS), true);
  assert.equal(
    nodeDisjoint([
      ['a', 'b', 'c'],
      ['a', 'b', 'd', 'c'],
    ]),
    false,
  );
  assert.equal(nodeDisjoint([['a', 'b', 'a', 'c']]), false);
  assert.equal(
    nodeDisjoint([
      ['a', 'c'],
      ['a', 'c'],
    ]),
    false,
  );
  assert.equal(
    nodeDisjoint([
      ['a', 'c'],
      ['a', 'b', 'c'],
    ]),
    true,
  );
});
