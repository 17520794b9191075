import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryEntropy, createRng } from '../common/index.ts';
import { cascadeImproved, cascadeOriginal } from './cascade.ts';
import { errorCorrection } from './error-correction.ts';
import { CASCADE_IMPROVED, CASCADE_ORIGINAL, passBlockMasks, passShuffle } from './cascade-schedule.ts';
import { errorCorrectionConformance, noisyPair } from './reconciliation-conformance.fixture.ts';
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
  assert.equal(passShuffle(100, 1, 1, 10), null);
  // k = 64: many blocks (one Fisher–Yates); k = 500 and 501 over 1000/1001 bits: two blocks (partition first).
  for (const [n, k] of [
    [1000, 64],
    [1000, 500],
    [1001, 501],
  ] as const) {
    const s = passShuffle(n, 5, 2, k)!;
    const seen = new Uint8Array(n);
    for (const j of s.perm) seen[j]!++;
    assert.ok(seen.every((c) => c === 1));
    for (let i = 0; i < n; i++) assert.equal(s.inv[s.perm[i]!], i);
    assert.deepEqual(passShuffle(n, 5, 3, k)!.perm, passShuffle(n, 5, 3, k)!.perm);
    const blockMasks = passBlockMasks(n, 5, 2, k);
    // Only two-block passes get masks; a pass of many blocks gathers a shuffled copy instead.
    assert.equal(blockMasks === null, Math.ceil(n / k) > 2);
    if (!blockMasks) continue;
    const masks = blockMasks;
    const words = masks.length / Math.ceil(n / k);
    // Block masks agree with the permutation: position perm[i] lies in block ⌊i/k⌋.
    for (let i = 0; i < n; i++) {
      const j = s.perm[i]!;
      assert.equal((masks[Math.floor(i / k) * words + (j >>> 5)]! >>> (j & 31)) & 1, 1);
    }
  }
});

test('a protocol end caches no shuffle (fresh seed per frame) and reuses released arrays, same permutations', () => {
  for (const [n, k] of [
    [1000, 64],
    [1000, 500],
  ] as const) {
    const shared = passShuffle(n, 7, 2, k)!;
    const a = passShuffle(n, 7, 2, k, 'bob')!;
    const b = passShuffle(n, 7, 2, k, 'bob')!;
    assert.notEqual(a, b); // not cached at an end
    assert.deepEqual(a.perm, shared.perm);
    assert.deepEqual(b.perm, shared.perm);
    const inv = a.inv;
    const perm = a.perm;
    a.release();
    assert.throws(() => a.inv, /after release/);
    // The next shuffles of that length take the released arrays and overwrite them whole.
    const c = passShuffle(n, 8, 2, k, 'alice')!;
    assert.ok(c.perm === inv || c.perm === perm);
    assert.deepEqual(c.perm, passShuffle(n, 8, 2, k)!.perm);
    const cInv = c.inv;
    assert.ok(cInv === inv || cInv === perm);
    for (let i = 0; i < n; i++) assert.equal(cInv[c.perm[i]!], i);
    // A cached shuffle is never handed back.
    shared.release();
    assert.deepEqual(passShuffle(n, 7, 2, k)!.perm, b.perm);
    c.release();
    b.release();
  }
});

test('a Cascade corrector refuses replies once error correction has ended (its shuffles are handed back)', () => {
  for (const alg of [cascadeImproved, cascadeOriginal]) {
    const pair = noisyPair(2000, 0.03, createRng(`done:${alg.name}`));
    const c = alg.corrector(pair.bob, { qberEstimate: 0.03, shuffleSeed: 9 });
    const r = alg.responder(pair.alice, { algorithm: alg.name, n: 2000, qberEstimate: 0.03, shuffleSeed: 9 });
    let m = c.start();
    while (m.type !== 'reconcile-done') m = c.receive(r.handle(m));
    // A well-formed reply for the next round: nothing asked, nothing pending.
    const late = {
      type: 'parity-reply',
      round: m.round,
      blockParities: new Uint8Array(0),
      parities: new Uint8Array(0),
    } as const;
    assert.throws(() => c.receive(late), /after error correction ended/);
  }
});

test('two-block partitions are uniform: each position lands in block 0 with probability k/n', () => {
  const n = 64;
  const k = 32;
  const hits = new Float64Array(n);
  const trials = 4000;
  for (let seed = 0; seed < trials; seed++) {
    const m = passBlockMasks(n, seed + 1000, 4, k)!;
    for (let j = 0; j < n; j++) hits[j]! += (m[j >>> 5]! >>> (j & 31)) & 1;
  }
  // Binomial(4000, 1/2): sd ≈ 31.6; 5 sd either side.
  for (let j = 0; j < n; j++) assert.ok(Math.abs(hits[j]! - trials / 2) < 160, `position ${j}: ${hits[j]}`);
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

// Targets: improved ≤ 1.10 at QBER 1–5% on 10⁴ bits (we measure 1.05–1.07, σ ≈ 0.01–0.02 per
// frame, so 40 frames sit > 10 standard errors below the limit) and ≤ 1.05 at 2% on 10⁵ bits
// (Demystifying Fig. 10 shows opt. (8) near 1.04; we measure 1.040).
test('cascade-improved efficiency is ≤ 1.10 on 10⁴-bit frames at QBER 1–5%', () => {
  for (const q of [0.01, 0.02, 0.03, 0.05]) {
    const { mean, wrong } = efficiency(cascadeImproved, 1e4, q, 40);
    assert.ok(mean <= 1.1, `QBER ${q}: efficiency ${mean}`);
    // Frame error rate ≈ 10⁻³ at 10⁴ bits (measured over 800–1,500 frames at 1% and 5%): one is tolerated.
    assert.ok(wrong <= 1, `QBER ${q}: ${wrong} frames wrong`);
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
