import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from './rng.ts';
import { seededSecretSource, systemSecretSource } from './secret-random.ts';

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
