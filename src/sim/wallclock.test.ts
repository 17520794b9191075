import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation } from './kernel.ts';
import { WallClockRunner } from './wallclock.ts';

test('the wall-clock runner advances simulated time, runs due events in order and stops at untilNs', async () => {
  const sim = new Simulation(1);
  const seen: number[] = [];
  sim.every(1_000_000, (s) => void seen.push(s.nowNs)); // every simulated ms
  const untilNs = 50_000_000;
  await new Promise<void>((resolve) => {
    const runner = new WallClockRunner(sim, {
      speed: 10, // 10 simulated ms per real ms
      tickMs: 5,
      untilNs,
      onTick: (now) => {
        if (now >= untilNs) resolve();
      },
    }).start();
    assert.equal(runner.running, true);
    runner.setSpeed(20); // no jump: continues from the current simulated time
  });
  assert.equal(sim.nowNs, untilNs);
  assert.equal(seen.length, 50);
  assert.ok(seen.every((t, i) => i === 0 || t > seen[i - 1]!));
});

test('the runner refuses a non-positive speed', () => {
  assert.throws(() => new WallClockRunner(new Simulation(1), { speed: 0 }), RangeError);
});
