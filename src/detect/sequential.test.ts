import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, sampleBinomial } from '../common/index.ts';
import { Cusum, qberLogLikelihoodRatio, Sprt } from './sequential.ts';

test('the block LLR is the Bernoulli log-likelihood ratio', () => {
  // 10 errors in 100 bits, e0 = 5%, e1 = 10%: 10·ln 2 + 90·ln(0.9/0.95)
  const llr = qberLogLikelihoodRatio([{ sifted: 100, errors: 10, errorProb: 0.05 }], 0.05);
  assert.ok(Math.abs(llr - (10 * Math.log(2) + 90 * Math.log(0.9 / 0.95))) < 1e-12);
  // vacuum (e0 = 1/2) carries no information
  assert.equal(qberLogLikelihoodRatio([{ sifted: 100, errors: 50, errorProb: 0.5 }], 0.01), 0);
});

test('CUSUM and SPRT keep false alarms under α per block (Ville/Wald bound), seeded', () => {
  const alpha = 0.01;
  const cusum = new Cusum(alpha);
  const sprt = new Sprt(alpha, 0.01);
  const rng = createRng('h0');
  let c = 0;
  let s = 0;
  const blocks = 20000;
  for (let i = 0; i < blocks; i++) {
    const k = sampleBinomial(1000, 0.03, rng);
    const llr = qberLogLikelihoodRatio([{ sifted: 1000, errors: k, errorProb: 0.03 }], 0.01);
    if (cusum.update(llr).alarm) c++;
    if (sprt.update(llr).alarm) s++;
  }
  // bound: ≤ α·blocks = 200 expected at most; the bounds are conservative so far fewer occur
  assert.ok(c <= 200 && s <= 200, `cusum ${c}, sprt ${s}`);
});

test('SPRT and CUSUM detect a shift within a few blocks', () => {
  const cusum = new Cusum(1e-5);
  const sprt = new Sprt(1e-5);
  const rng = createRng('h1');
  let cAt = -1;
  let sAt = -1;
  for (let i = 0; i < 50; i++) {
    const k = sampleBinomial(2000, 0.04, rng);
    const llr = qberLogLikelihoodRatio([{ sifted: 2000, errors: k, errorProb: 0.03 }], 0.01);
    if (cusum.update(llr).alarm && cAt < 0) cAt = i;
    if (sprt.update(llr).alarm && sAt < 0) sAt = i;
  }
  assert.ok(cAt >= 0 && cAt < 15 && sAt >= 0 && sAt < 15, `cusum ${cAt}, sprt ${sAt}`);
});

test('thresholds are ln(1/α) and reject bad levels', () => {
  assert.ok(Math.abs(new Cusum(1e-3).threshold - Math.log(1000)) < 1e-12);
  assert.throws(() => new Sprt(2), RangeError);
});
