import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BitArray, createRng } from '../common/index.ts';
import { AuthKeyPool } from './auth.ts';
import { cascadeImproved, cascadeOriginal } from './cascade.ts';
import { decodeItem, encodeItem } from './wire-items.ts';
import { noisyPair } from './lim2014-raw-records.ts';
import type { ErrorCorrection } from './reconciliation.ts';
import {
  ReconcileAliceFrame,
  ReconcileBobFrame,
  UNIT_AUTH_BITS,
  UnitPools,
  type UnitOutcome,
} from './two-party.ts';
import { runInMemory, UnitMux, type MuxItem } from './unit-mux.ts';

interface Run {
  alice: Map<number, UnitOutcome>;
  bob: Map<number, UnitOutcome>;
  /** Frames whose corrected key equals Alice's, among those both ends report ok. */
  equalOk: number;
  bobMux: UnitMux;
  aliceMux: UnitMux;
}

/** `frames` frames of n bits at QBER q, both ends in process, items passed through `carry`. */
function run(
  alg: ErrorCorrection,
  frames: number,
  window: number,
  n: number,
  q: number,
  carry?: (item: MuxItem, i: number) => MuxItem | null,
): Run {
  const pairs = Array.from({ length: frames }, (_, f) => noisyPair(n, q, createRng(`tp:${f}`)));
  const preshared = BitArray.random(frames * UNIT_AUTH_BITS, createRng('tp:pool'));
  const aPools = new UnitPools(new AuthKeyPool(preshared));
  const bPools = new UnitPools(new AuthKeyPool(preshared));
  const r: Run = { alice: new Map(), bob: new Map(), equalOk: 0 } as Run;
  const bobKeys = new Map<number, BitArray>();
  const shuffle = createRng('tp:shuffle');
  r.bobMux = new UnitMux({
    role: 'initiator',
    units: frames,
    window,
    create: (id) =>
      new ReconcileBobFrame(id, bPools.take(id), alg, pairs[id]!.bob, {
        qberEstimate: q,
        shuffleSeed: shuffle.nextUint32(),
      }),
    onOutcome: (oc, u) => {
      r.bob.set(oc.unit, oc);
      const k = (u as ReconcileBobFrame).key;
      if (k) bobKeys.set(oc.unit, k);
    },
  });
  r.aliceMux = new UnitMux({
    role: 'responder',
    units: frames,
    window,
    create: (id) =>
      new ReconcileAliceFrame(id, aPools.take(id), alg, pairs[id]!.alice.clone(), createRng(`tp:v${id}`)),
    onOutcome: (oc) => r.alice.set(oc.unit, oc),
  });
  runInMemory(r.bobMux, r.aliceMux, carry);
  for (const [id, oc] of r.bob)
    if (oc.ok && r.alice.get(id)?.ok && bobKeys.get(id)!.equals(pairs[id]!.alice)) r.equalOk++;
  return r;
}

test('both ends hold only their own key; every frame verifies and Bob ends with Alice’s key', () => {
  for (const alg of [cascadeImproved, cascadeOriginal]) {
    const r = run(alg, 6, 3, 3000, 0.03);
    assert.equal(r.equalOk, 6, alg.name);
    assert.ok(r.bobMux.done && r.aliceMux.done);
  }
});

test('the same run over the wire form (as TCP carries it) gives the same outcome', () => {
  const wire = (item: MuxItem) => decodeItem(encodeItem(item));
  const r = run(cascadeImproved, 4, 4, 2000, 0.05, wire);
  assert.equal(r.equalOk, 4);
});

test('one bit flipped in a parity reply on the wire fails that frame at both ends at the checkpoint', () => {
  let hit = false;
  const r = run(cascadeImproved, 3, 3, 2000, 0.03, (item) => {
    const bytes = encodeItem(item);
    if (
      !hit &&
      !('abort' in item) &&
      item.unit === 2 &&
      item.sealed.from === 'alice' &&
      item.sealed.seq === 3
    ) {
      hit = true;
      bytes[bytes.length - 1]! ^= 1; // the last byte holds packed parities
    }
    return decodeItem(bytes);
  });
  assert.ok(hit);
  assert.equal(r.bob.get(2)?.ok, false);
  assert.equal(r.alice.get(2)?.ok, false);
  assert.equal(r.equalOk, 2);
});

test('a tampered parity reply fails that frame at both ends by authentication; the others succeed', () => {
  let hit = false;
  const r = run(cascadeImproved, 4, 2, 2000, 0.03, (item) => {
    if (hit || 'abort' in item || item.unit !== 1) return item;
    const body = item.sealed.body as { type?: string; parities?: Uint8Array };
    if (body.type !== 'parity-reply' || !body.parities || body.parities.length === 0) return item;
    hit = true;
    const parities = body.parities.slice();
    parities[0]! ^= 1;
    return { unit: 1, sealed: { ...item.sealed, body: { ...body, parities } } };
  });
  assert.ok(hit);
  assert.deepEqual(r.bob.get(1), { ok: false, unit: 1, reason: 'auth-tag-mismatch' });
  const a = r.alice.get(1)!;
  assert.ok(!a.ok && (a.reason === 'peer-aborted' || a.reason === 'auth-tag-mismatch'), JSON.stringify(a));
  assert.equal(r.equalOk, 3);
});

test('a replayed message fails its frame as out of order', () => {
  let replay: MuxItem | null = null;
  let sent = false;
  const r = run(cascadeImproved, 3, 3, 2000, 0.03, (item, i) => {
    if (i === 4) replay = item;
    if (i === 9 && replay && !sent) {
      sent = true;
      return replay; // item 9 is lost in the exchange and item 4 arrives a second time in its place
    }
    return item;
  });
  assert.ok(sent);
  const failed = [...r.bob.values(), ...r.alice.values()].filter((o) => !o.ok);
  assert.ok(
    failed.some((o) => !o.ok && o.reason === 'auth-out-of-order'),
    JSON.stringify(failed),
  );
  assert.ok(r.equalOk <= 2);
});

test('messages relabelled between two frames fail both frames by authentication', () => {
  let swapped = 0;
  const r = run(cascadeImproved, 2, 2, 2000, 0.03, (item) => {
    // Bob's second message of frame 0 and of frame 1 travel with each other's frame id (same sender, same
    // sequence number, so only the transcript can tell).
    if ('abort' in item || item.sealed.from !== 'bob' || item.sealed.seq !== 2) return item;
    swapped++;
    return { unit: 1 - item.unit, sealed: item.sealed };
  });
  assert.equal(swapped, 2);
  assert.equal(r.equalOk, 0);
  assert.ok([...r.bob.values()].every((o) => !o.ok));
});

test('a dropped message leaves its frame open at both ends; ending the connection discards it, nothing is emitted', () => {
  const r = run(cascadeImproved, 3, 3, 2000, 0.03, (item, i) => (i === 7 ? null : item));
  const open = 3 - r.equalOk;
  assert.ok(open >= 1);
  r.bobMux.abortAll('peer-disconnected', 'test: connection closed');
  r.aliceMux.abortAll('peer-disconnected', 'test: connection closed');
  const failed = [...r.bob.values()].filter((o) => !o.ok);
  assert.ok(failed.every((o) => !o.ok && o.reason === 'peer-disconnected'));
  assert.equal(failed.length, open);
});

test('unit pools are carved in unit order, so both ends draw the same bits whatever the arrival order', () => {
  const bits = BitArray.random(4 * UNIT_AUTH_BITS, createRng('carve'));
  const a = new UnitPools(new AuthKeyPool(bits));
  const b = new UnitPools(new AuthKeyPool(bits));
  const a2 = a.take(2)!.take128()!;
  const b0 = b.take(0)!.take128()!;
  const b2 = b.take(2)!.take128()!;
  assert.deepEqual(a2, b2);
  assert.notDeepEqual(a2, b0);
  assert.equal(new UnitPools(new AuthKeyPool(new BitArray(100))).take(0), null); // exhausted: fails closed
});
