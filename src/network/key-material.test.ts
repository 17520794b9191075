import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulatedKeySource } from './key-material.ts';

test('word-aligned reads (fast path) give the same bytes as byte-at-a-time reads, at any offset', () => {
  const src = simulatedKeySource('7', 'hq-dcn');
  for (const offset of [0, 1, 2, 3, 4, 8, 1 << 20, 2 ** 33]) {
    for (const length of [1, 3, 4, 5, 8, 33]) {
      const bulk = src.read(offset, length);
      const bytewise = Uint8Array.from({ length }, (_, i) => src.read(offset + i, 1)[0]!);
      assert.deepEqual(bulk, bytewise, `offset ${offset}, length ${length}`);
    }
  }
});

test('the stream is little-endian words: byte k of word w is bits 8k..8k+7, whatever the host', () => {
  const src = simulatedKeySource('7', 'hq-dcn');
  const four = src.read(0, 4);
  const word = four[0]! | (four[1]! << 8) | (four[2]! << 16) | (four[3]! << 24);
  // Reading the same word one byte at a time from offset 1 sees its upper three bytes in order.
  assert.deepEqual([...src.read(1, 3)], [(word >>> 8) & 255, (word >>> 16) & 255, (word >>> 24) & 255]);
});
