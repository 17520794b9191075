import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { binaryEntropy, createRng } from '../common/index.ts';
import { ldpc } from './ldpc-blind-reconciliation.ts';
import { noisyPair } from './reconciliation-conformance.fixture.ts';
import { reconcile } from './reconciliation.ts';
import { ELKOUSS_2009_DISTRIBUTIONS, ldpcCode, syndromeOf, type LdpcCode } from './ldpc-code.ts';
import { LayeredDecoder, SATURATION, sumProductFlooding } from './ldpc-decoder.ts';
import {
  BoxPlusDecoder,
  BoxPlusReference,
  KNOWN,
  quantise,
  syndromeDecoder,
} from './ldpc-box-plus-decoder.ts';

const rate = (r: number) => ELKOUSS_2009_DISTRIBUTIONS.find((d) => d.rate === r)!;

/** A word, its syndrome and Bob's channel LLRs: errors at rate q, a share of symbols punctured (LLR 0)
 * and of symbols shortened (value 0, known). */
function frame(code: LdpcCode, q: number, seed: string, punct = 0.05, short = 0.05) {
  const rng = createRng(seed);
  const x = Uint8Array.from({ length: code.n }, () => rng.nextUint32() & 1);
  const llr = Math.log((1 - q) / q);
  const ch = new Float32Array(code.n);
  for (let v = 0; v < code.n; v++) {
    const u = rng.nextFloat();
    if (u < punct) ch[v] = 0;
    else if (u < punct + short) {
      x[v] = 0;
      ch[v] = SATURATION;
    } else ch[v] = (x[v]! ^ (rng.nextFloat() < q ? 1 : 0)) === 1 ? -llr : llr;
  }
  return { x, ch, s: syndromeOf(code, x) };
}

test('the WebAssembly kernel equals the TypeScript reference bit for bit (Z not a multiple of 8, wraps, failures)', () => {
  let failures = 0;
  let successes = 0;
  for (const [r, z, q] of [
    [0.5, 3, 0.06],
    [0.75, 13, 0.03],
    [0.8, 61, 0.025],
    [0.7, 64, 0.045],
    [0.9, 37, 0.012],
    [0.6, 29, 0.09],
  ] as const) {
    const code = ldpcCode(rate(r), z);
    const { ch, s } = frame(code, q, `kernel ${r} ${z}`);
    const ref = new BoxPlusReference(code);
    const fast = new BoxPlusDecoder(code);
    ref.reset(ch);
    fast.reset(ch);
    // Two passes with a reveal between them: the decoders resume with the same messages.
    for (const iters of [7, 40]) {
      const a = ref.run(s, iters, 6);
      const b = fast.run(s, iters, 6);
      assert.deepEqual(b, a, `R ${r} Z ${z}`);
      assert.deepEqual(Array.from(fast.posterior), Array.from(ref.posterior), `R ${r} Z ${z}`);
      if (a.ok) successes++;
      else failures++;
      ref.setChannel(1, -SATURATION);
      fast.setChannel(1, -SATURATION);
    }
    assert.equal(fast.edgeUpdates, ref.edgeUpdates);
  }
  assert.ok(failures > 0 && successes > 0, `${successes} ok, ${failures} failed: both paths exercised`);
});

test('the box-plus decoder finds the word on a lifted code where sum-product does, and honours pins', () => {
  const code = ldpcCode(rate(0.75), 8);
  const { x, ch, s } = frame(code, 0.02, 'lifted', 0, 0);
  const dec = syndromeDecoder(code);
  assert.ok(dec instanceof BoxPlusDecoder);
  dec.reset(ch);
  assert.ok(dec.run(s, 100).ok);
  assert.deepEqual(dec.decision(), x);
  const spa = new LayeredDecoder(code);
  spa.reset(ch);
  assert.ok(spa.run(s, 100).ok);
  assert.deepEqual(sumProductFlooding(code, ch, s, 100).word, x);
  // Pinning the true value of a decoded bit saturates its posterior and keeps the word decoded.
  dec.setChannel(0, x[0] ? -SATURATION : SATURATION);
  assert.ok(Math.abs(dec.posterior[0]!) >= KNOWN && dec.posterior[0]! < 0 === (x[0] === 1));
  assert.ok(dec.run(s, 10).ok);
});

test('near the code threshold the fixed-point box-plus decoder converges like floating-point sum-product', () => {
  // Rate-0.75 code (density-evolution threshold 3.9 %), 10⁴·Z-scale frame: success and iteration counts.
  const code = ldpcCode(rate(0.75), 100);
  for (const q of [0.02, 0.03, 0.034]) {
    let spaIt = 0;
    let bpIt = 0;
    for (let t = 0; t < 3; t++) {
      const { x, ch, s } = frame(code, q, `thr ${q} ${t}`, 0, 0);
      const spa = new LayeredDecoder(code);
      spa.reset(ch);
      const a = spa.run(s, 200, 40);
      const dec = new BoxPlusDecoder(code);
      dec.reset(ch);
      const b = dec.run(s, 200, 40);
      assert.ok(a.ok, `sum-product at ${q}`);
      assert.ok(b.ok, `box-plus at ${q}`);
      assert.deepEqual(dec.decision(), x);
      spaIt += a.iterations;
      bpIt += b.iterations;
    }
    assert.ok(bpIt <= 1.5 * spaIt + 3, `QBER ${q}: ${bpIt} iterations vs sum-product ${spaIt}`);
  }
});

test('quantisation: nats to 1/16 units, known bits saturate', () => {
  assert.equal(quantise(1), 16);
  assert.equal(quantise(-0.03), 0);
  assert.equal(quantise(-0.04), -1);
  assert.equal(quantise(SATURATION), KNOWN);
  assert.equal(quantise(-SATURATION), -KNOWN);
  assert.equal(quantise(999), 15984);
});

test('the WebAssembly module shipped matches its AssemblyScript source', () => {
  execFileSync(process.execPath, ['scripts/build-wasm-ldpcfast.mjs', '--check'], { stdio: 'pipe' });
});

test('posteriors of unknown bits never saturate: a frame that diverged after a reveal now ends near f 1.2', () => {
  // 10⁴ bits at 5 %: with messages capped at 125 nat the highest-degree posteriors saturated Int16, the
  // layered bookkeeping L ← L − R + R' drifted, decoding diverged after the first reveal and the frame
  // ended at f ≈ 2.4 (the float decoder: 1.195).
  const n = 10000;
  const q = 0.05;
  const rng = createRng(`bench-ldpc:${n}:${q}:run0:frame25`);
  const { alice, bob, errors } = noisyPair(n, q, rng.stream('pair'));
  const res = reconcile(ldpc, alice, bob, {
    qberEstimate: q,
    shuffleSeed: 26,
    aliceRandom: rng.stream('alice'),
  });
  assert.ok(res.key.equals(alice));
  const f = res.leakedBits / (n * binaryEntropy(errors / n));
  assert.ok(f < 1.3, `f = ${f}`);
});
