import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray } from '../common/index.ts';
import { encodeMessage } from './message-encoding.ts';
import { decodeMessage, MessageDecodeError } from './message-decoding.ts';

test('decoding inverts encoding: the decoded message encodes to the same bytes (property)', () => {
  const msg = fc.record({
    type: fc.constantFrom('parity-request', 'parity-reply', 'verify'),
    round: fc.nat(),
    ok: fc.boolean(),
    name: fc.string({ maxLength: 8 }),
    u8: fc.uint8Array({ maxLength: 40 }),
    u32: fc.uint32Array({ maxLength: 10 }),
    f64: fc.float64Array({ maxLength: 4, noDefaultInfinity: true }),
    list: fc.array(fc.record({ a: fc.integer(), b: fc.uint16Array({ maxLength: 3 }) }), { maxLength: 4 }),
    bits: fc.uint8Array({ maxLength: 9 }).map((b) => BitArray.fromBytes(b, Math.max(0, b.length * 8 - 3))),
  });
  fc.assert(
    fc.property(msg, (m) => {
      const bytes = encodeMessage(m);
      const back = decodeMessage(bytes);
      return Buffer.from(encodeMessage(back)).equals(Buffer.from(bytes));
    }),
    { seed: 7, numRuns: 200 },
  );
  const d = decodeMessage(encodeMessage({ k: BitArray.fromString('1011'), p: Uint32Array.of(7) })) as {
    k: BitArray;
    p: Uint32Array;
  };
  assert.equal(d.k.toString(), '1011');
  assert.deepEqual(d.p, Uint32Array.of(7));
});

test('malformed or truncated bytes throw MessageDecodeError, never anything else (property)', () => {
  const good = encodeMessage({ type: 'parity-reply', round: 3, parities: Uint8Array.of(1, 0, 1) });
  for (let cut = 0; cut < good.length; cut++)
    assert.throws(() => decodeMessage(good.subarray(0, cut)), MessageDecodeError, `cut at ${cut}`);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeMessage(bytes);
      } catch (e) {
        return e instanceof MessageDecodeError;
      }
      return true;
    }),
    { seed: 3, numRuns: 500 },
  );
  // Keys out of canonical order, and a typed array kind a message never carries, are refused.
  const unsorted = Uint8Array.of(5, 2, 0, 0, 0, 1, 0, 0, 0, 0x62, 0, 1, 0, 0, 0, 0x61, 0);
  assert.throws(() => decodeMessage(unsorted), MessageDecodeError);
  assert.throws(() => decodeMessage(encodeMessage(new BigInt64Array(1))), MessageDecodeError);
});

test('detection slots (increasing integers) travel as varint gaps and decode to the same array (property)', () => {
  const slots = fc
    .array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 60 })
    .map((xs) => Float64Array.from([...new Set(xs)].sort((a, b) => a - b)));
  fc.assert(
    fc.property(slots, (slot) => {
      const bytes = encodeMessage({ slot });
      const back = decodeMessage(bytes) as { slot: Float64Array };
      return (
        back.slot instanceof Float64Array &&
        back.slot.length === slot.length &&
        back.slot.every((x, i) => x === slot[i]) &&
        Buffer.from(encodeMessage(back)).equals(Buffer.from(bytes))
      );
    }),
    { seed: 12, numRuns: 300 },
  );
  // One or two bytes a slot instead of eight; arrays that are not strictly increasing non-negative
  // integers (−0, a repeat, a fraction) keep the general form and decode exactly.
  const dense = Float64Array.from({ length: 1000 }, (_, i) => 1e9 + 700 * i);
  assert.ok(encodeMessage(dense).length < 2.1 * 1000);
  for (const odd of [
    Float64Array.of(3, 3),
    Float64Array.of(-0, 1),
    Float64Array.of(1.5),
    Float64Array.of(2, 1),
  ]) {
    const back = decodeMessage(encodeMessage(odd)) as Float64Array;
    assert.ok(back.length === odd.length && back.every((x, i) => Object.is(x, odd[i])));
  }
  // Different arrays, different bytes (the forms' tags differ), and a varint not in its shortest form
  // or past the end is refused.
  assert.notDeepEqual(encodeMessage(Float64Array.of(0, 1)), encodeMessage(Float64Array.of(-0, 1)));
  const tagged = encodeMessage(Float64Array.of(5));
  assert.equal(tagged[0], 10);
  assert.throws(() => decodeMessage(Uint8Array.of(10, 1, 0, 0, 0, 0x85, 0x00)), MessageDecodeError);
  assert.throws(() => decodeMessage(Uint8Array.of(10, 2, 0, 0, 0, 5)), MessageDecodeError);
});
