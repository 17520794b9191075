import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isQkdnetError } from '../common/index.ts';
import { Keyring, rowAd, SEAL_OVERHEAD, SealError, sealedVersion } from './store-crypto.ts';

test('a sealed row opens with its key and identity, and hides its plaintext', () => {
  const ring = Keyring.generate();
  const plain = randomBytes(32);
  const ad = rowAd('chunks', 'id-1', 'kme-b', 1);
  const sealed = ring.seal(plain, ad);
  assert.equal(sealed.length, plain.length + SEAL_OVERHEAD);
  assert.equal(sealed.indexOf(plain.subarray(0, 8)), -1);
  assert.deepEqual(ring.open(sealed, ad), plain);
  assert.equal(sealedVersion(sealed), 1);
  // Same plaintext, same row: a fresh salt, so a different value (no equality leak between rows).
  assert.notDeepEqual(ring.seal(plain, ad), sealed);
});

test('every seal takes a salt of its own, also across refills of the salt pool (a salt repeated would repeat a row key and IV)', () => {
  const ring = Keyring.generate();
  const plain = randomBytes(32);
  const ad = rowAd('chunks', 'id-1', 'kme-b', 1);
  const salts = new Set<string>();
  const n = 1000; // the pool holds 256 salts: several refills
  for (let i = 0; i < n; i++) {
    const sealed = ring.seal(plain, ad);
    salts.add(sealed.subarray(5, 21).toString('hex'));
    assert.deepEqual(ring.open(sealed, ad), plain);
  }
  assert.equal(salts.size, n);
});

test('a row swapped to another id, owner or table, or tampered with, fails authentication', () => {
  const ring = Keyring.generate();
  const sealed = ring.seal(randomBytes(32), rowAd('chunks', 'id-1', 'kme-b', 1));
  for (const other of [
    rowAd('chunks', 'id-2', 'kme-b', 1),
    rowAd('chunks', 'id-1', 'kme-b', 0),
    rowAd('chunks', 'id-1', 'kme-c', 1),
    rowAd('keys', 'id-1', 'kme-b', 1),
  ])
    assert.throws(() => ring.open(sealed, other), SealError);
  for (const at of [0, 3, 10, SEAL_OVERHEAD - 16 + 1, sealed.length - 1]) {
    const t = Buffer.from(sealed);
    t[at]! ^= 1;
    assert.throws(() => ring.open(t, rowAd('chunks', 'id-1', 'kme-b', 1)), SealError);
  }
  assert.throws(() => Keyring.generate().open(sealed, rowAd('chunks', 'id-1', 'kme-b', 1)), SealError);
});

test('key versions: the newest seals, each opens its own; check values tell keys apart', () => {
  const v1 = Keyring.generate();
  const both = Keyring.parse(v1.withNewKey().format(), 'test');
  assert.deepEqual(both.versions(), [1, 2]);
  const old = v1.seal(Buffer.from('x'.repeat(32)), 'ad');
  const fresh = both.seal(Buffer.from('y'.repeat(32)), 'ad');
  assert.equal(sealedVersion(fresh), 2);
  assert.equal(both.open(old, 'ad').toString(), 'x'.repeat(32));
  assert.throws(() => v1.open(fresh, 'ad'), /v2, not held/);
  assert.ok(both.verifies(v1.checkValue(1)));
  assert.ok(!Keyring.generate().verifies(v1.checkValue(1)));
  assert.deepEqual(both.only([2]).versions(), [2]);
});

test('keyring text: hex, base64, versions, comments; errors never echo the text', () => {
  const hex = randomBytes(32).toString('hex');
  const b64 = randomBytes(32).toString('base64');
  const r = Keyring.parse(`# store key\nv3:${b64}\n ${hex}\n`, 'file k');
  assert.deepEqual(r.versions(), [1, 3]);
  assert.equal(r.current, 3);
  assert.deepEqual(Keyring.parse(`v1:${hex}, v2:${b64}`, 'env').versions(), [1, 2]);
  const secret = randomBytes(31).toString('hex');
  for (const bad of [secret, `v1:${hex} v1:${hex}`, '', `v0:${hex}`]) {
    try {
      Keyring.parse(bad, 'file k');
      assert.fail('parsed');
    } catch (e) {
      assert.ok(isQkdnetError(e, 'STORE_KEY_INVALID'));
      assert.ok(!(e as Error).message.includes(secret.slice(0, 16)));
    }
  }
});
