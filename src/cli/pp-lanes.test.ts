import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureReconcileMemory } from './commands/reconcile.ts';
import { emptyReport, laneFrames, reconcileEnd } from './pp-reconcile.ts';
import { runInMemory } from '../postprocess/index.ts';

const p = {
  mode: 'reconcile' as const,
  algorithm: 'ldpc',
  qber: 0.03,
  blockSize: 4000,
  frames: 7,
  window: 4,
  seed: 'lanes',
};

test('lanes deal every frame to exactly one lane, round-robin', () => {
  assert.deepEqual(
    [0, 1, 2].map((index) => laneFrames(7, { index, count: 3 })),
    [3, 2, 2],
  );
  const seen: number[] = [];
  for (const index of [0, 1, 2]) {
    const lane = { index, count: 3 };
    const bob = emptyReport('bob', p.frames);
    const alice = emptyReport('alice', p.frames);
    runInMemory(reconcileEnd('bob', p, bob, lane), reconcileEnd('alice', p, alice, lane));
    bob.frame_ok.forEach((ok, f) => ok && seen.push(f));
    for (let f = 0; f < p.frames; f++) {
      assert.equal(bob.frame_ok[f], f % 3 === index, `frame ${f} in lane ${index}`);
      assert.equal(bob.digests[f], alice.digests[f]);
    }
  }
  assert.deepEqual(
    seen.sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6],
  );
});

test('the memory channel in two worker-thread lanes reconciles the same frames as one thread', async () => {
  const one = await measureReconcileMemory(p);
  const two = await measureReconcileMemory({ ...p, threads: 2 });
  assert.equal(two.threads, 2);
  assert.equal(two.frames_discarded, 0);
  assert.equal(two.frame_error_rate, 0);
  // Frames come from the shared seed whatever the lane; LDPC's leak depends only on the frame and its
  // plan (the confirmation ranges are drawn from the shuffle seed but cost the same), so f agrees.
  assert.ok(Math.abs(two.efficiency_mean - one.efficiency_mean) < 0.02, `${two.efficiency_mean}`);
  assert.ok(two.cpu_seconds_bob > 0 && two.cpu_seconds_alice > 0);
});
