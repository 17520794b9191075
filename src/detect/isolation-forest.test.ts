import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../common/index.ts';
import { PRESETS } from '../physics/index.ts';
import { averagePathLength, IsolationForest } from './isolation-forest.ts';
import { modelFromParams, siftedPerPulse } from './model.ts';
import { syntheticTelemetry } from './synthetic.ts';
import { trainAnomalyDetector } from './anomaly.ts';

test('c(n) follows Liu et al. 2008 eq. (1)', () => {
  // c(256) = 2(ln 255 + γ) − 2·255/256 = 10.2448 (independent evaluation)
  assert.ok(
    Math.abs(averagePathLength(256) - (2 * (Math.log(255) + 0.5772156649015329) - 510 / 256)) < 1e-12,
  );
  assert.equal(averagePathLength(1), 0);
  assert.equal(averagePathLength(2), 1);
});

test('an outlier scores above every normal point and the forest is reproducible from its seed', () => {
  const rng = createRng('data');
  const data = Array.from({ length: 500 }, () => [
    rng.nextGaussian(),
    rng.nextGaussian(),
    rng.nextGaussian(),
  ]);
  const f1 = IsolationForest.train(data, createRng('forest'));
  const f2 = IsolationForest.train(data, createRng('forest'));
  const outlier = [6, -6, 6];
  const normalMax = Math.max(...data.slice(0, 100).map((x) => f1.score(x)));
  assert.ok(f1.score(outlier) > normalMax, `${f1.score(outlier)} vs ${normalMax}`);
  assert.ok(f1.score(outlier) > 0.6);
  assert.equal(f1.score([0.1, 0.2, 0.3]), f2.score([0.1, 0.2, 0.3]));
});

test('the anomaly detector measures its own false-alarm rate and flags a multivariate shift', () => {
  const model = modelFromParams(PRESETS.gys!.params, 25);
  const pulses = Math.round(1e5 / siftedPerPulse(model));
  const rng = createRng('anom');
  const gen = (i: number, shift = 0) =>
    syntheticTelemetry(
      model,
      { linkId: 'l', blockId: i, pulses, distortion: { qberShift: shift, doubleClickFactor: shift ? 2 : 1 } },
      rng,
    );
  const normal = Array.from({ length: 400 }, (_, i) => gen(i));
  const evaluation = Array.from({ length: 400 }, (_, i) => gen(400 + i));
  const det = trainAnomalyDetector(model, normal, evaluation, createRng('if'));
  // threshold at the top held-out score of 200: expected FAR ≈ 1/201; allow up to 4× for 400 blocks
  assert.ok(det.measuredFalseAlarmRate <= 0.02, `FAR ${det.measuredFalseAlarmRate}`);
  assert.equal(det.evaluationBlocks, 400);
  assert.equal(det.observe(gen(999, 0.03))[0]?.kind, 'anomaly');
});
