import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';
import { createRng } from '../common/index.ts';
import {
  ML_KEM_768,
  establishPqcSecret,
  hybridKey,
  mlKemDecapsulate,
  mlKemEncapsulate,
  mlKemKeygen,
  pqcKey,
} from './pqc.ts';

const seeded = (seed: string) => {
  const rng = createRng(seed);
  return (n: number) => Uint8Array.from({ length: n }, () => rng.nextInt(256));
};

test('ML-KEM-768 round-trips and has the FIPS 203 sizes (ek 1184, dk 2400, ct 1088, K 32 bytes)', () => {
  const pair = mlKemKeygen();
  assert.equal(pair.publicKey.length, ML_KEM_768.publicKeyBytes);
  assert.equal(pair.secretKey.length, ML_KEM_768.secretKeyBytes);
  const { cipherText, sharedSecret } = mlKemEncapsulate(pair.publicKey);
  assert.equal(cipherText.length, ML_KEM_768.cipherTextBytes);
  assert.equal(sharedSecret.length, 32);
  assert.deepEqual(mlKemDecapsulate(cipherText, pair.secretKey), sharedSecret);
});

test('a tampered ciphertext yields an unrelated secret (implicit rejection), not an error', () => {
  const pair = mlKemKeygen(seeded('a'));
  const { cipherText, sharedSecret } = mlKemEncapsulate(pair.publicKey, seeded('b'));
  cipherText[0]! ^= 1;
  assert.notDeepEqual(mlKemDecapsulate(cipherText, pair.secretKey), sharedSecret);
});

test('with injected randomness the exchange is deterministic (simulation) and both ends agree', () => {
  const a = establishPqcSecret(seeded('x'));
  const b = establishPqcSecret(seeded('x'));
  assert.deepEqual(a.initiatorSecret, a.responderSecret);
  assert.deepEqual(a.initiatorSecret, b.initiatorSecret);
  assert.equal(a.wireBytes, 1184 + 1088);
});

test('hybridKey is HKDF-SHA-256 over QKD key ‖ ML-KEM secret (checked against node:crypto hkdfSync)', () => {
  const qkd = Uint8Array.from({ length: 32 }, (_, i) => i);
  const pq = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  const ours = hybridKey(qkd, pq, 'key-1', 32);
  const ref = new Uint8Array(
    hkdfSync('sha256', Buffer.concat([qkd, pq]), 'qkdnet/v1/hybrid-qkd-mlkem768', 'app\u0000key-1', 32),
  );
  assert.deepEqual(ours, ref);
  const pqOnly = new Uint8Array(hkdfSync('sha256', pq, 'qkdnet/v1/pqc-mlkem768', 'app\u0000key-1', 32));
  assert.deepEqual(pqcKey(pq, 'key-1', 32), pqOnly);
});

test('hybrid and pqc derivations are domain-separated and bound to the key_ID and both inputs', () => {
  const qkd = new Uint8Array(32).fill(1);
  const pq = new Uint8Array(32).fill(2);
  const h = hybridKey(qkd, pq, 'k', 32);
  assert.notDeepEqual(h, pqcKey(pq, 'k', 32));
  assert.notDeepEqual(h, hybridKey(qkd, pq, 'k2', 32));
  assert.notDeepEqual(h, hybridKey(new Uint8Array(32).fill(3), pq, 'k', 32));
  assert.notDeepEqual(h, hybridKey(qkd, new Uint8Array(32).fill(3), 'k', 32));
  assert.throws(() => hybridKey(new Uint8Array(0), pq, 'k', 32), RangeError);
  assert.throws(() => pqcKey(new Uint8Array(0), 'k', 32), RangeError);
});
