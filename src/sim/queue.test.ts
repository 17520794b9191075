import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventQueue } from './queue.ts';

const SEED = 20261123;

test('the event queue pops in (time, priority, insertion) order: a stable total order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ t: fc.integer({ min: 0, max: 20 }), p: fc.integer({ min: -2, max: 2 }) }), {
        maxLength: 200,
      }),
      (items) => {
        const q = new EventQueue<number>();
        items.forEach((it, i) => q.push(it.t, it.p, i));
        const expected = items
          .map((it, i) => ({ ...it, i }))
          .sort((a, b) => a.t - b.t || a.p - b.p || a.i - b.i)
          .map((x) => x.i);
        const got: number[] = [];
        for (let e = q.pop(); e; e = q.pop()) got.push(e.payload);
        assert.deepEqual(got, expected);
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
});

test('cancelled entries never leave the queue, and the size counts only live ones', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 100 }),
      (items) => {
        const q = new EventQueue<number>();
        const entries = items.map(([t], i) => q.push(t, 0, i));
        items.forEach(([, cancel], i) => cancel && q.cancel(entries[i]!));
        items.forEach(([, cancel], i) => cancel && q.cancel(entries[i]!)); // idempotent
        const live = items.filter(([, c]) => !c).length;
        assert.equal(q.size, live);
        const got: number[] = [];
        for (let e = q.pop(); e; e = q.pop()) got.push(e.payload);
        assert.equal(got.length, live);
        assert.ok(got.every((i) => !items[i]![1]));
      },
    ),
    { seed: SEED, numRuns: 200 },
  );
});

test('push() refuses a time that is not an integer number of nanoseconds', () => {
  const q = new EventQueue<null>();
  assert.throws(() => q.push(1.5, 0, null), RangeError);
  assert.throws(() => q.push(Number.NaN, 0, null), RangeError);
});
