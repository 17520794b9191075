import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryEntropy, createRng } from '../common/index.ts';
import { lim2014Bounds, lim2014KeyLength } from '../physics/index.ts';
import { estimate } from '../qkd/index.ts';
import { runPipeline } from './pipeline.ts';
import { EXAMPLE_LINK, expectedCounts, simulateRawRecord } from './raw-fixture.ts';

// 10⁴ small blocks through the whole pipeline. Blocks this small have no finite-key length at
// ε_sec = 1e-10, so the estimate is replaced by a generous test double (φ = 1%) to make every block try to
// emit a key; one block in ten gets a badly low QBER estimate so that Cascade often fails and
// verification has to catch it. Requirement (issue 4): zero mismatched final keys emitted.
test('10⁴ blocks end to end: every emitted key pair is identical, failed corrections are discarded', () => {
  const small = { ...EXAMPLE_LINK, pulses: 4e5, misalignment: 0.03 };
  const rng = createRng('e2e-10k');
  let emitted = 0;
  let discarded = 0;
  for (let b = 0; b < 1e4; b++) {
    const raw = simulateRawRecord(small, rng, 'e2e', b);
    const r = runPipeline(
      raw,
      {
        algorithm: 'cascade-original',
        estimate: (s, rr, o) => {
          const e = estimate(s, rr, o);
          const n = s.key.alice.length;
          const bound = { sKey0: 0, sKey1: n, sTest1: n, vTest1: 0, phaseError: 0.01 };
          return { ...e, secure: true, bound, qberX: b % 10 === 0 ? 0.001 : e.qberX };
        },
      },
      rng.stream(`b${b}`),
    );
    if (r.ok) {
      emitted++;
      assert.deepEqual(r.alice.key, r.bob.key, `block ${b} emitted different keys`);
    } else {
      assert.ok(['verification-failed', 'no-secure-key'].includes(r.reason), `block ${b}: ${r.reason}`);
      if (r.reason === 'verification-failed') discarded++;
    }
  }
  assert.ok(emitted > 8000, `only ${emitted} blocks emitted keys`);
  assert.ok(discarded > 10, `only ${discarded} blocks exercised the verification failure path`);
});

// The finite-key model on expected counts (Lim et al. 2014 Eq. 6 with the fixture's closed-form counts
// and the efficiency Cascade reached) against what the pipeline produced from sampled blocks. The physics
// `bb84-decoy-finite` model optimises its own intensities, so it is not the same operating point; the
// comparison is made with the same bound on expected counts instead (the fallback issue 4 allows).
test('the simulated final key length agrees with the finite-key bound on expected counts within 5%', () => {
  const rng = createRng('rate-vs-model');
  const blocks = 6;
  let pa = 0;
  let eff = 0;
  for (let b = 0; b < blocks; b++) {
    const r = runPipeline(simulateRawRecord(EXAMPLE_LINK, rng, 'rate', b), {}, rng.stream(`pp${b}`));
    assert.ok(r.ok, r.ok ? '' : r.reason);
    pa += r.stats.pa_output_bits;
    eff += r.stats.efficiency;
  }
  const { counts, qberKey } = expectedCounts(EXAMPLE_LINK);
  const nKey = counts.nKey[0] + counts.nKey[1] + counts.nKey[2];
  const leak = (eff / blocks) * nKey * binaryEntropy(qberKey) + 128;
  const model = lim2014KeyLength(lim2014Bounds(counts, 1e-10), leak, 1e-10, 1e-15);
  const ratio = pa / blocks / model;
  assert.ok(Math.abs(ratio - 1) < 0.05, `simulated/model = ${ratio}`);
});
