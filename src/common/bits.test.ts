import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray, parity32, popcount32 } from './bits.ts';

test('popcount32 and parity32 agree with a bit loop', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (x) => {
      let c = 0;
      for (let i = 0; i < 32; i++) c += (x >>> i) & 1;
      return popcount32(x) === c && parity32(x) === (c & 1);
    }),
  );
});

test('parityRange equals the parity of the bits in the range', () => {
  fc.assert(
    fc.property(
      fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }),
      fc.nat(),
      fc.nat(),
      (bits, x, y) => {
        const b = BitArray.fromString(bits.map((v) => (v ? '1' : '0')).join(''));
        const from = x % (bits.length + 1);
        const to = from + (y % (bits.length - from + 1));
        let p = 0;
        for (let i = from; i < to; i++) p ^= bits[i] ? 1 : 0;
        return b.parityRange(from, to) === p;
      },
    ),
  );
});

test('bytes round-trip MSB first, and slices keep their bits', () => {
  const b = BitArray.fromString('1010000011');
  assert.deepEqual([...b.toBytes()], [0xa0, 0xc0]);
  assert.equal(BitArray.fromBytes(b.toBytes(), 10).toString(), '1010000011');
  assert.equal(b.slice(2, 9).toString(), '1000001');
  assert.equal(b.xor(BitArray.fromString('1111111111')).toString(), '0101111100');
  assert.equal(b.hammingDistance(BitArray.fromString('0010000011')), 1);
});
