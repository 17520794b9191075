import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from './rng.ts';
import { keyedSecretSource, seededSecretSource, systemSecretSource } from './secret-random.ts';

test('the system source is not reproducible; the seeded one is, and says so', () => {
  const a = systemSecretSource.fillBytes(new Uint8Array(32));
  const b = systemSecretSource.fillBytes(new Uint8Array(32));
  assert.notDeepEqual(a, b);
  assert.equal(systemSecretSource.deterministic, false);
  const s1 = seededSecretSource(createRng('x')).fillBytes(new Uint8Array(13));
  const s2 = seededSecretSource(createRng('x')).fillBytes(new Uint8Array(13));
  assert.deepEqual(s1, s2);
  assert.equal(seededSecretSource(createRng('x')).deterministic, true);
});

test('keyedSecretSource: two holders of one key draw the same stream; another key or label, another stream', () => {
  const key = systemSecretSource.fillBytes(new Uint8Array(32));
  const a = keyedSecretSource(key, 'channel 0');
  const b = keyedSecretSource(Uint8Array.from(key), 'channel 0');
  assert.equal(a.deterministic, false);
  const x = a.fillBytes(new Uint8Array(100));
  assert.deepEqual(b.fillBytes(new Uint8Array(60)), x.subarray(0, 60));
  assert.deepEqual(new Uint8Array(b.fillUint32(new Uint32Array(10)).buffer), x.subarray(60, 100));
  const other = keyedSecretSource(key, 'channel 1').fillBytes(new Uint8Array(100));
  assert.notDeepEqual(other, x);
  key[0]! ^= 1;
  assert.notDeepEqual(keyedSecretSource(key, 'channel 0').fillBytes(new Uint8Array(100)), x);
  assert.throws(() => keyedSecretSource(new Uint8Array(8), 'x'), RangeError);
});
