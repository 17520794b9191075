import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BitArray, createRng, seededSecretSource, systemSecretSource } from '../common/index.ts';
import type { LinkBlock } from '../qkd/index.ts';
import { AuthKeyPool } from './auth.ts';
import { blockStream, distillBlock, linkAuthBootstrap } from './distill.ts';
import { EXAMPLE_LINK, simulateRawRecord } from './lim2014-raw-records.ts';

// A block whose raw record comes from the fast count-level fixture (the engine's own blocks that give key
// take ~10 s; the four entry points are compared on them in distill-entry-points.slow.test.ts).
const input = { seed: 'd', linkId: 'l', blockIndex: 3, pulses: EXAMPLE_LINK.pulses, params: {} as never };
const fixtureBlock = (): LinkBlock =>
  ({ raw: simulateRawRecord(EXAMPLE_LINK, createRng('distill-fixture'), 'l', 3) }) as unknown as LinkBlock;

function distil(keys: 'secret' | 'deterministic', pool = linkAuthBootstrap('d', 'l', keys)) {
  const d = distillBlock(input, { keys, authPool: pool, simulated: fixtureBlock() });
  assert.ok(d.result.ok, d.result.ok ? '' : d.result.reason);
  return { key: Buffer.from(d.result.alice.key), stats: d.result.stats, provenance: d.provenance };
}

test('deterministic keys repeat from the seed and say so', () => {
  const a = distil('deterministic');
  const b = distil('deterministic');
  assert.deepEqual(a.key, b.key);
  assert.equal(a.provenance, 'simulated-deterministic');
});

test('secret keys never repeat, yet every figure follows the seed exactly', () => {
  const a = distil('secret');
  const b = distil('secret');
  const c = distil('deterministic');
  assert.notDeepEqual(a.key, b.key);
  assert.notDeepEqual(a.key, c.key);
  assert.equal(a.provenance, 'qkd');
  // The secret relabelling keeps every error where it was: sifted length, QBER, Cascade's leak and round
  // trips and the output length are those of the deterministic run.
  assert.deepEqual(a.stats, c.stats);
  assert.deepEqual(a.stats, b.stats);
});

test('secret key bits are not the engine’s: the relabelled raw bits differ from the seeded ones', () => {
  const plain = fixtureBlock();
  const relabelled = fixtureBlock();
  distillBlock(input, {
    keys: 'secret',
    authPool: linkAuthBootstrap('d', 'l', 'secret'),
    simulated: relabelled,
  });
  const agree = plain.raw.aliceBit.hammingDistance(relabelled.raw.aliceBit);
  const n = plain.raw.aliceBit.length;
  // Half the bits flip (a fresh uniform mask): far from 0 and from n (6σ of Binomial(n, ½)).
  assert.ok(Math.abs(agree - n / 2) < 6 * Math.sqrt(n / 4), `${agree} of ${n}`);
});

test("keys 'secret' refuses a deterministic source, so a seeded stand-in can never label itself qkd", () => {
  assert.throws(
    () =>
      distillBlock(input, {
        keys: 'secret',
        authPool: linkAuthBootstrap('d', 'l', 'secret'),
        secretSource: seededSecretSource(createRng(1)),
        simulated: fixtureBlock(),
      }),
    TypeError,
  );
});

test('a carried pool: each block draws fresh hash keys and pads, and is replenished from its key', () => {
  const drawn: string[] = [];
  class Recording extends AuthKeyPool {
    override take128() {
      const v = super.take128();
      if (v) drawn.push(Buffer.from(v.buffer, v.byteOffset, 16).toString('hex'));
      return v;
    }
  }
  const pool = new Recording(BitArray.random(4096, systemSecretSource));
  for (let i = 0; i < 4; i++) {
    const before = pool.availableBits;
    const d = distillBlock(
      { ...input, blockIndex: i },
      { keys: 'secret', authPool: pool, simulated: fixtureBlock() },
    );
    assert.ok(d.result.ok);
    assert.equal(pool.availableBits, before, 'what the block used came back from its final key');
  }
  // Alice's session draws r and two pads per block; Bob's copy draws the same three (not recorded).
  assert.equal(drawn.length, 4 * 3);
  assert.equal(new Set(drawn).size, drawn.length);
});

test('the stream rule: block i of link L under seed s is createRng(s).stream(link:L).stream(block:i)', () => {
  assert.equal(blockStream('s', 'L', 2).seedHex, createRng('s').stream('link:L').stream('block:2').seedHex);
  assert.notEqual(blockStream('s', 'L', 2).seedHex, blockStream('s', 'L', 3).seedHex);
  assert.throws(() => blockStream('s', 'L', -1), RangeError);
});
