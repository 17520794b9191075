/**
 * Word-wise helpers on packed bit arrays used across post-processing: concatenation and copying a range
 * of bits to another offset, both by 32-bit shifts rather than bit loops (keys here reach 10⁷ bits).
 */
import { BitArray } from '../common/index.ts';

/** Bits [from, from + count) of `src` ORed into `dst` starting at bit `at` (dst bits there must be zero). */
export function copyBits(src: BitArray, from: number, count: number, dst: BitArray, at: number): void {
  if (from < 0 || from + count > src.length || at < 0 || at + count > dst.length)
    throw new RangeError(`copyBits of ${count} bits from ${from}/${src.length} to ${at}/${dst.length}`);
  const s = src.words;
  const d = dst.words;
  let i = 0;
  while (i < count) {
    const sp = from + i;
    const dp = at + i;
    const take = Math.min(32 - (dp & 31), 32 - (sp & 31), count - i);
    const mask = take === 32 ? 0xffffffff : (1 << take) - 1;
    const bits = (s[sp >>> 5]! >>> (sp & 31)) & mask;
    d[dp >>> 5]! |= bits << (dp & 31);
    i += take;
  }
}

/** The concatenation of `parts`, in order. */
export function concatBits(parts: readonly BitArray[]): BitArray {
  const out = new BitArray(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    copyBits(p, 0, p.length, out, at);
    at += p.length;
  }
  return out;
}

/** Byte value → the same byte with its bit order reversed. */
const REVERSED = new Uint8Array(256);
for (let v = 0; v < 256; v++) {
  let r = 0;
  for (let k = 0; k < 8; k++) r |= ((v >>> k) & 1) << (7 - k);
  REVERSED[v] = r;
}

/**
 * `bits.toBytes()` (most significant bit of byte 0 first, last byte zero-padded) a byte at a time through
 * a bit-reversal table instead of bit by bit: final keys are turned into bytes at both ends of every block.
 */
export function bitsToBytes(bits: BitArray): Uint8Array {
  const out = new Uint8Array((bits.length + 7) >>> 3);
  const w = bits.words; // bits past `length` are zero, so the padded last byte comes out right
  const rev = REVERSED;
  for (let i = 0; i < out.length; i++) out[i] = rev[(w[i >>> 2]! >>> ((i & 3) << 3)) & 0xff]!;
  return out;
}
