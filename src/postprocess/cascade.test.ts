import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryEntropy, createRng } from '../common/index.ts';
import { cascadeImproved, cascadeOriginal } from './cascade.ts';
import { errorCorrection } from './error-correction.ts';
import { CASCADE_IMPROVED, CASCADE_ORIGINAL, passShuffle } from './cascade-schedule.ts';
import { errorCorrectionConformance, noisyPair } from './reconciliation-conformance.ts';
import { reconcile, type ErrorCorrection } from './reconciliation.ts';

errorCorrectionConformance(cascadeOriginal);
errorCorrectionConformance(cascadeImproved);

/** Mean efficiency leak / (n·h(e/n)) over `runs` seeded frames, and how many frames stayed wrong. */
function efficiency(alg: ErrorCorrection, n: number, q: number, runs: number) {
  const rng = createRng(`eff:${alg.name}:${n}:${q}`);
  let sum = 0;
  let wrong = 0;
  for (let r = 0; r < runs; r++) {
    const { alice, bob, errors } = noisyPair(n, q, rng);
    const res = reconcile(alg, alice, bob, { qberEstimate: q, shuffleSeed: r });
    sum += res.leakedBits / (n * binaryEntropy(errors / n));
    if (!res.key.equals(alice)) wrong++;
  }
  return { mean: sum / runs, wrong };
}

test('block sizes follow Brassard–Salvail 1993 and Martinez-Mateo et al. 2015 opt. (8)', () => {
  // BS93: k1 = ⌈0.73/Q⌉ = 37 at Q = 2%, doubling per pass.
  assert.deepEqual(
    [1, 2, 3, 4].map((p) => CASCADE_ORIGINAL.blockSize(p, 0.02, 1e6)),
    [37, 74, 148, 296],
  );
  // Opt. (8) at Q = 2%: α = log2(50) − 0.5 = 5.14 → k1 = 2^6, k2 = 2^⌈8.57⌉ = 512, k3 = 4096, then n/2.
  assert.deepEqual(
    [1, 2, 3, 4, 14].map((p) => CASCADE_IMPROVED.blockSize(p, 0.02, 1e5)),
    [64, 512, 4096, 5e4, 5e4],
  );
  assert.equal(CASCADE_IMPROVED.blockSize(3, 0.02, 1000), 1000); // never above the key length
});

test('pass shuffles are permutations, identical for the same seed, and pass 1 is unshuffled', () => {
  assert.equal(passShuffle(100, 1, 1), null);
  const s = passShuffle(1000, 5, 2)!;
  const seen = new Uint8Array(1000);
  for (const j of s.perm) seen[j]!++;
  assert.ok(seen.every((c) => c === 1));
  for (let i = 0; i < 1000; i++) assert.equal(s.inv[s.perm[i]!], i);
  assert.deepEqual(passShuffle(1000, 5, 3)!.perm, passShuffle(1000, 5, 3)!.perm);
});

// Published efficiencies: original Cascade on 10⁴-bit frames ≈ 1.14–1.19 for QBER 1–5% (Martinez-Mateo
// et al. 2015, Fig. 1; Rijsman's cascade-cpp reproduction of it). Our measured means are 1.135–1.18; the
// band [1.12, 1.21] is the published range widened by ±0.02, about three standard errors of 30 frames.
test('cascade-original efficiency on 10⁴-bit frames at QBER 1–5% is near the published 1.14–1.19', () => {
  for (const q of [0.01, 0.02, 0.03, 0.05]) {
    const { mean, wrong } = efficiency(cascadeOriginal, 1e4, q, 30);
    assert.ok(mean > 1.12 && mean < 1.21, `QBER ${q}: efficiency ${mean}`);
    assert.equal(wrong, 0);
  }
});

// Issue 4 targets: improved ≤ 1.10 at QBER 1–5% on 10⁴ bits (we measure 1.05–1.07, σ ≈ 0.01–0.02 per
// frame, so 40 frames sit > 10 standard errors below the limit) and ≤ 1.05 at 2% on 10⁵ bits
// (Demystifying Fig. 10 shows opt. (8) near 1.04; we measure 1.040).
test('cascade-improved efficiency is ≤ 1.10 on 10⁴-bit frames at QBER 1–5%', () => {
  for (const q of [0.01, 0.02, 0.03, 0.05]) {
    const { mean, wrong } = efficiency(cascadeImproved, 1e4, q, 40);
    assert.ok(mean <= 1.1, `QBER ${q}: efficiency ${mean}`);
    assert.equal(wrong, 0);
  }
});

test('cascade-improved efficiency is ≤ 1.05 at QBER 2% on 10⁵-bit frames', () => {
  const { mean, wrong } = efficiency(cascadeImproved, 1e5, 0.02, 12);
  assert.ok(mean <= 1.05, `efficiency ${mean}`);
  assert.equal(wrong, 0);
});

test('errorCorrection() finds both algorithms by name and rejects others', () => {
  assert.equal(errorCorrection('cascade-original'), cascadeOriginal);
  assert.equal(errorCorrection('cascade-improved'), cascadeImproved);
  assert.throws(() => errorCorrection('turbo'), /Unknown reconciliation algorithm "turbo"/);
});
