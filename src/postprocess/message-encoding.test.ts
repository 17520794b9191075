import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray } from '../common/index.ts';
import { encodeMessage, encodeMessageWords } from './message-encoding.ts';

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

test('encodeMessageWords gives the bytes of encodeMessage, zero-padded to 16-byte blocks', () => {
  const msg = fc.record({
    round: fc.nat(),
    data: fc.uint8Array({ maxLength: 40 }),
    words: fc.uint32Array({ maxLength: 9 }),
    tag: fc.string({ maxLength: 5 }),
  });
  fc.assert(
    fc.property(msg, (x) => {
      const want = encodeMessage(x);
      const { words, bytes } = encodeMessageWords(x);
      const got = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
      return (
        bytes === want.length &&
        got.length === Math.ceil(want.length / 16) * 16 &&
        want.every((b, i) => got[i] === b) &&
        got.subarray(want.length).every((b) => b === 0)
      );
    }),
    { seed: 11, numRuns: 300 },
  );
});
