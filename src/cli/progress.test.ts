import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, ProgressBar, setProgressMode, type ProgressSink } from './util.ts';

/** A sink with a hand-moved clock: progress output depends on time, never on a real timer here. */
function fakeSink(isTTY: boolean): ProgressSink & { out: string[]; t: number } {
  const s = {
    out: [] as string[],
    t: 0,
    isTTY,
    write: (x: string) => void s.out.push(x),
    now: () => s.t,
  };
  return s;
}

test('off a terminal, auto mode prints a line every interval with percent and ETA, then a closing line', () => {
  const sink = fakeSink(false);
  const bar = new ProgressBar('simulating', 100, true, { sink, intervalMs: 5000 });
  sink.t = 1000;
  bar.update(10); // before the first interval: nothing
  assert.deepEqual(sink.out, []);
  sink.t = 5000;
  bar.update(25);
  assert.equal(sink.out.length, 1);
  assert.match(sink.out[0]!, /^simulating: 25% after 5s, about 15s left\n$/);
  sink.t = 7000;
  bar.update(30); // within the interval: still one line
  assert.equal(sink.out.length, 1);
  sink.t = 20000;
  bar.done();
  assert.equal(sink.out.at(-1), 'simulating: done in 20s\n');
});

test('short work off a terminal prints nothing at all', () => {
  const sink = fakeSink(false);
  const bar = new ProgressBar('keyrate', 10, true, { sink });
  for (let i = 0; i <= 10; i++) bar.update(i);
  bar.done();
  assert.deepEqual(sink.out, []);
});

test('on a terminal, auto mode redraws one bar with an ETA', () => {
  const sink = fakeSink(true);
  const bar = new ProgressBar('reconcile', 4, true, { sink });
  sink.t = 2000;
  bar.update(1);
  assert.match(sink.out[0]!, /^\rreconcile \[#{7,8}\.+\]  25%  ETA 6s/);
  bar.done();
  assert.equal(sink.out.at(-1), '\n');
});

test('json mode prints parseable objects with percent and eta_s', () => {
  const sink = fakeSink(true);
  const bar = new ProgressBar('detect', 200, true, { sink, mode: 'json', intervalMs: 1000 });
  sink.t = 1000;
  bar.update(50);
  const o = JSON.parse(sink.out[0]!) as Record<string, unknown>;
  assert.deepEqual(o, { progress: 'detect', done: 50, total: 200, percent: 25, elapsed_s: 1, eta_s: 3 });
  bar.done();
  assert.equal((JSON.parse(sink.out.at(-1)!) as { percent: number }).percent, 100);
});

test('none mode and enabled=false print nothing; unknown modes are usage errors', () => {
  const sink = fakeSink(true);
  new ProgressBar('x', 1, true, { sink, mode: 'none' }).update(1);
  new ProgressBar('x', 1, false, { sink }).update(1);
  assert.deepEqual(sink.out, []);
  assert.throws(
    () => setProgressMode('loud'),
    /--progress: "loud" is not one of auto, bar, lines, json, none/,
  );
});

test('formatDuration reads at a glance', () => {
  assert.equal(formatDuration(42.4), '42s');
  assert.equal(formatDuration(65), '1m05s');
  assert.equal(formatDuration(3 * 3600 + 120), '3h02m');
  assert.equal(formatDuration(NaN), '?');
});
