import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray } from '../common/index.ts';
import { encodeMessage } from './message-encoding.ts';

test('encoding ignores key order but distinguishes every field and type', () => {
  assert.deepEqual(encodeMessage({ a: 1, b: 'x' }), encodeMessage({ b: 'x', a: 1 }));
  assert.notDeepEqual(encodeMessage({ a: 1 }), encodeMessage({ a: '1' }));
  assert.notDeepEqual(encodeMessage({ a: Uint8Array.of(1) }), encodeMessage({ a: Int8Array.of(1) }));
  assert.notDeepEqual(
    encodeMessage({ k: BitArray.fromString('1') }),
    encodeMessage({ k: BitArray.fromString('10') }),
  );
  assert.throws(() => encodeMessage({ f: () => 1 }), TypeError);
});

test('different messages have different encodings (property)', () => {
  const msg = fc.record({
    round: fc.nat(),
    data: fc.uint8Array({ maxLength: 20 }),
    tag: fc.string({ maxLength: 5 }),
  });
  fc.assert(
    fc.property(msg, msg, (x, y) => {
      const same = x.round === y.round && x.tag === y.tag && x.data.join() === y.data.join();
      const ex = encodeMessage(x);
      const ey = encodeMessage(y);
      return same === (ex.length === ey.length && ex.every((b, i) => b === ey[i]));
    }),
    { seed: 10, numRuns: 300 },
  );
});
