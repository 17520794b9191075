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
