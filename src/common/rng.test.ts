import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from './rng.ts';

test('the same seed gives the same sequence', () => {
  const a = createRng(42);
  const b = createRng(42);
  for (let i = 0; i < 1000; i++) assert.equal(a.nextUint32(), b.nextUint32());
});

test('a named stream does not depend on what the parent or siblings drew', () => {
  const a = createRng('s');
  const first = a.stream('link:1').nextUint32();
  const b = createRng('s');
  for (let i = 0; i < 100; i++) b.nextUint32();
  b.stream('link:0').nextUint32();
  assert.equal(b.stream('link:1').nextUint32(), first);
  assert.notEqual(a.stream('link:2').nextUint32(), first);
});

test('nextFloat is uniform: mean 1/2 and variance 1/12 within 5 standard errors (n = 1e5)', () => {
  const r = createRng(7);
  const n = 100_000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const u = r.nextFloat();
    assert.ok(u >= 0 && u < 1);
    s += u;
    s2 += u * u;
  }
  const mean = s / n;
  const variance = s2 / n - mean * mean;
  // standard error of the mean of U(0,1): sqrt(1/12/n) ≈ 9.1e-4
  assert.ok(Math.abs(mean - 0.5) < 5 * Math.sqrt(1 / 12 / n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 0.002, `variance ${variance}`);
});

test('nextInt covers [0, n) evenly (chi-square, 10 cells, 1e5 draws, p ≈ 0.001 critical value 27.9)', () => {
  const r = createRng(9);
  const cells = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) cells[r.nextInt(10)]++;
  const chi2 = cells.reduce((acc, c) => acc + (c - 10_000) ** 2 / 10_000, 0);
  assert.ok(chi2 < 27.9, `chi2 ${chi2}`);
});
