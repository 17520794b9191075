import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitArray, createRng } from '../common/index.ts';
import { AuthKeyPool, AuthSession } from './auth.ts';
import { encodeMessage } from './message-encoding.ts';
import { decodeMessage, MessageDecodeError } from './message-decoding.ts';
import { decodeItem, encodeItem } from './wire-items.ts';
import type { ParityReply, ParityRequest } from './reconciliation.ts';

const request = fc
  .record({
    round: fc.nat(),
    blockPass: fc.integer({ min: -1, max: 13 }),
    blockSize: fc.nat({ max: 2e6 }),
    blockCount: fc.nat({ max: 5000 }),
    ranges: fc.array(
      fc.record({ p: fc.nat({ max: 13 }), s: fc.nat({ max: 2e6 }), l: fc.nat({ max: 70000 }) }),
      { maxLength: 60 },
    ),
    setup: fc.boolean(),
  })
  .map((r): ParityRequest => {
    const base = {
      type: 'parity-request' as const,
      round: r.round,
      blockPass: r.blockPass,
      blockSize: r.blockSize,
      blockCount: r.blockCount,
      pass: Uint8Array.from(r.ranges, (x) => x.p),
      start: Uint32Array.from(r.ranges, (x) => x.s),
      end: Uint32Array.from(r.ranges, (x) => x.s + x.l),
    };
    const setup = { algorithm: 'cascade-improved' as const, n: 100000, qberEstimate: 0.02, shuffleSeed: 7 };
    return r.setup ? { ...base, setup } : base;
  });

const reply = fc
  .record({ round: fc.nat(), b: fc.array(fc.nat({ max: 1 })), p: fc.array(fc.nat({ max: 1 })) })
  .map((r): ParityReply => ({
    type: 'parity-reply',
    round: r.round,
    blockParities: Uint8Array.from(r.b),
    parities: Uint8Array.from(r.p),
  }));

test('parity requests and replies round-trip through the compact form (property)', () => {
  fc.assert(
    fc.property(fc.oneof(request, reply), (m) => {
      const bytes = encodeMessage(m);
      assert.deepEqual(decodeMessage(bytes), { ...m });
      assert.ok(bytes[0] === 7 || bytes[0] === 8 || bytes[0] === 5);
    }),
    { seed: 21, numRuns: 300 },
  );
});

test('a question costs about 4 bytes and an answer one bit; other shapes keep the general form', () => {
  const m = 1000;
  const req: ParityRequest = {
    type: 'parity-request',
    round: 9,
    blockPass: -1,
    blockSize: 0,
    blockCount: 0,
    pass: new Uint8Array(m).fill(3),
    start: Uint32Array.from({ length: m }, (_, i) => i * 97),
    end: Uint32Array.from({ length: m }, (_, i) => i * 97 + 40),
  };
  const bytes = encodeMessage(req);
  assert.equal(bytes[0], 7);
  assert.ok(bytes.length <= 4.1 * m, `${bytes.length} bytes for ${m} ranges`);
  const rep = {
    type: 'parity-reply',
    round: 9,
    blockParities: new Uint8Array(8),
    parities: new Uint8Array(m),
  };
  assert.ok(encodeMessage(rep).length <= 20 + m / 8);
  // Not bits, an extra field, or a reversed range: the general form, still decoded exactly.
  for (const odd of [
    { ...rep, parities: Uint8Array.of(2) },
    { ...rep, extra: 1 },
    { ...req, end: req.start.map((s) => Math.max(0, s - 1)) },
  ]) {
    const b = encodeMessage(odd);
    assert.equal(b[0], 5);
    assert.deepEqual(decodeMessage(b), { ...odd });
  }
});

test('cut or corrupted compact bytes and items throw MessageDecodeError, never anything else', () => {
  const good = encodeMessage({
    type: 'parity-request',
    round: 1,
    blockPass: 2,
    blockSize: 64,
    blockCount: 3,
    pass: Uint8Array.of(1, 2),
    start: Uint32Array.of(5, 900),
    end: Uint32Array.of(9, 1000),
  });
  for (let cut = 0; cut < good.length; cut++)
    assert.throws(() => decodeMessage(good.subarray(0, cut)), MessageDecodeError, `cut at ${cut}`);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      for (const decode of [decodeMessage, decodeItem])
        try {
          decode(bytes);
        } catch (e) {
          if (!(e instanceof MessageDecodeError)) return false;
        }
      return true;
    }),
    { seed: 5, numRuns: 500 },
  );
});

test('the receiver authenticates the bytes that arrived: a changed padding bit fails, though the body decodes alike', () => {
  const bits = BitArray.random(1024, createRng('wire-auth'));
  const alice = new AuthSession('alice', new AuthKeyPool(bits), 'per-message');
  const bob = new AuthSession('bob', new AuthKeyPool(bits), 'per-message');
  const body = {
    type: 'parity-reply',
    round: 0,
    blockParities: new Uint8Array(0),
    parities: Uint8Array.of(1),
  };
  const s = alice.seal(body);
  assert.ok(s.ok);
  const wire = encodeItem({ unit: 4, sealed: s.sealed });
  const ok = decodeItem(wire);
  assert.ok(!('abort' in ok));
  assert.deepEqual(bob.open(ok.sealed), { ok: true, body: { ...body } });

  const bob2 = new AuthSession('bob', new AuthKeyPool(bits), 'per-message');
  const bad = wire.slice();
  bad[bad.length - 1]! ^= 0x80; // a padding bit of the packed parities
  const item = decodeItem(bad);
  assert.ok(!('abort' in item));
  assert.deepEqual(item.sealed.body, { ...body });
  assert.deepEqual(bob2.open(item.sealed), { ok: false, reason: 'auth-tag-mismatch' });
  assert.deepEqual(decodeItem(encodeItem({ unit: 3, abort: 'peer-aborted' })), {
    unit: 3,
    abort: 'peer-aborted',
  });
});
