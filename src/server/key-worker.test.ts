import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveLinkParams } from '../network/index.ts';
import type { KmeHandle } from '../kms/index.ts';
import { answerRequest, type KeyBlockRequest } from './key-worker.ts';
import { LinkKeySupply } from './key-supply.ts';

function request(pulses: number): KeyBlockRequest {
  return {
    linkId: 'a-b',
    blockId: 0,
    pulses,
    params: resolveLinkParams('gys', []),
    distanceKm: 12,
    attack: null,
    seed: 'test',
    keys: 'secret',
    auth: { bits: 2048, words: new Uint32Array(64).buffer },
    timeNs: 0,
  };
}

test('a bug in the worker is not turned into a failed block: answerRequest rethrows it', () => {
  // A negative pulse count can only come from a defect in the parent; the link engine says RangeError.
  assert.throws(() => answerRequest(request(-1)), RangeError);
});

test('a block that gives no key is an answer with its reason, and the unused reservation comes back', () => {
  const out = answerRequest(request(1000)); // far too few pulses for finite-key secret bits
  assert.equal(out.answer.ok, false);
  assert.ok(!out.answer.ok && typeof out.answer.reason === 'string' && out.answer.reason.length > 0);
  assert.ok(!out.answer.ok && out.answer.auth !== null && out.answer.auth.bits > 0);
});

test('when the worker thread crashes the supply stops, reports every link and calls onCrash once', async () => {
  const outcomes: string[] = [];
  let crashes = 0;
  let supply!: LinkKeySupply;
  // The supply's worker is unref'd (it never holds the process open), so an overall timeout keeps the
  // test alive while it boots and fails the test if the crash is never reported.
  let guard!: ReturnType<typeof setTimeout>;
  await new Promise<void>((resolve, reject) => {
    guard = setTimeout(() => reject(new Error('the crash was never reported')), 60_000);
    supply = new LinkKeySupply({
      links: [{ id: 'a-b', from: 'a', to: 'b', params: resolveLinkParams('gys', []), distanceKm: 12 }],
      kmes: new Map<string, KmeHandle>(),
      seed: 'test',
      pulsesPerBlock: -1, // makes the worker hit its RangeError
      usable: () => true,
      attackOf: () => null,
      nowNs: () => 0,
      onBlock: (_id, o) => void outcomes.push('reason' in o ? o.reason : `bits ${o.bits}`),
      onCrash: () => {
        crashes++;
        clearTimeout(guard);
        resolve();
      },
    });
  });
  assert.equal(crashes, 1);
  assert.equal(supply.stopped, true);
  assert.equal(outcomes.length, 1);
  assert.match(outcomes[0]!, /^worker-crashed: pulses must be an integer/);
  await supply.close();
});
