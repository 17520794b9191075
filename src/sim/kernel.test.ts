import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, SimulationFailure } from './kernel.ts';

test('events run in time order, simultaneous ones by priority then by scheduling order', () => {
  const sim = new Simulation(1);
  const log: string[] = [];
  sim.at(10, () => log.push('t10-b'), { priority: 1 });
  sim.at(10, () => log.push('t10-a'), { priority: 0 });
  sim.at(10, () => log.push('t10-c'), { priority: 1 });
  sim.at(5, (s) => {
    log.push('t5');
    s.schedule(5, () => log.push('t10-d'), { priority: 1 });
  });
  sim.run();
  assert.deepEqual(log, ['t5', 't10-a', 't10-b', 't10-c', 't10-d']);
  assert.equal(sim.nowNs, 10);
});

test('a cancelled event does not run; run(until) stops at the horizon and sets the clock', () => {
  const sim = new Simulation(1);
  let ran = 0;
  const h = sim.schedule(100, () => ran++);
  sim.schedule(200, () => ran++);
  sim.schedule(300, () => ran++);
  h.cancel();
  assert.equal(sim.run(250), 1);
  assert.equal(sim.nowNs, 250);
  assert.equal(sim.pending, 1);
  assert.equal(ran, 1);
});

test('every() repeats with its period until cancelled or the handler returns false', () => {
  const sim = new Simulation(1);
  const times: number[] = [];
  const h = sim.every(10, (s) => void times.push(s.nowNs));
  sim.run(35);
  h.cancel();
  sim.run(100);
  assert.deepEqual(times, [10, 20, 30]);
  let n = 0;
  sim.every(1, () => ++n < 3);
  sim.run(200);
  assert.equal(n, 3);
});

test('an unhandled failure stops the run loudly and the kernel refuses to continue', () => {
  const sim = new Simulation(1);
  let after = false;
  sim.at(
    7,
    () => {
      throw new Error('boom');
    },
    { label: 'exploding' },
  );
  sim.at(8, () => (after = true));
  assert.throws(
    () => sim.run(),
    (e: unknown) => e instanceof SimulationFailure && e.timeNs === 7 && e.label === 'exploding',
  );
  assert.equal(after, false);
  assert.throws(() => sim.step(), SimulationFailure);
});

test('each entity has its own seeded stream: same seed, same numbers; other entities do not interfere', () => {
  const a = new Simulation('s');
  const b = new Simulation('s');
  b.rng('other').nextUint32();
  assert.equal(a.rng('link:x').nextUint32(), b.rng('link:x').nextUint32());
  assert.notEqual(
    new Simulation('t').rng('link:x').nextUint32(),
    new Simulation('s').rng('link:x').nextUint32(),
  );
});

test('scheduling in the past or with a fractional delay is refused', () => {
  const sim = new Simulation(1);
  sim.run(100);
  assert.throws(() => sim.at(50, () => {}), RangeError);
  assert.throws(() => sim.schedule(0.5, () => {}), RangeError);
  assert.throws(() => sim.schedule(-1, () => {}), RangeError);
});
