import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { binaryEntropy, createRng } from '../common/index.ts';
import { errorCorrection } from './error-correction.ts';
import {
  BASE_COLUMNS,
  ELKOUSS_2009_DISTRIBUTIONS,
  baseGraph,
  liftShifts,
  ldpcCode,
  syndromeOf,
  type LdpcCode,
} from './ldpc-code.ts';
import { LayeredDecoder, SATURATION, sumProductFlooding } from './ldpc-decoder.ts';
import { BoxPlusReference } from './ldpc-box-plus-decoder.ts';
import { untaintedPuncturing } from './ldpc-untainted-puncturing.ts';
import {
  ldpc,
  planFrame,
  frameLengths,
  LDPC_MAX_FRAME_BITS,
  THRESHOLD_MARGIN,
} from './ldpc-blind-reconciliation.ts';
import { errorCorrectionConformance, noisyPair } from './reconciliation-conformance.fixture.ts';
import { reconcile, type ParityChannel, type ParityResponder } from './reconciliation.ts';

errorCorrectionConformance(ldpc);

const rate = (r: number) => ELKOUSS_2009_DISTRIBUTIONS.find((d) => d.rate === r)!;

/** The dense H of a code, built from the base graph by the definition of a circulant permutation. */
function denseFromBase(code: LdpcCode): Uint8Array[] {
  const { z } = code;
  const H = Array.from({ length: code.m }, () => new Uint8Array(code.n));
  const { row, col, shift } = code.base;
  for (let e = 0; e < row.length; e++)
    for (let i = 0; i < z; i++) H[row[e]! * z + i]![col[e]! * z + ((i + shift[e]!) % z)] = 1;
  return H;
}

test('lifted codes follow the Elkouss et al. 2009 node degrees and their design rate', () => {
  for (const d of ELKOUSS_2009_DISTRIBUTIONS) {
    const code = ldpcCode(d, 3);
    assert.equal(code.n, BASE_COLUMNS * 3);
    assert.equal(code.m, Math.round(BASE_COLUMNS * (1 - d.rate)) * 3);
    const edgesPerBit = code.chkVar.length / code.n;
    const expected = 1 / d.lambda.reduce((a, [deg, l]) => a + l / deg, 0);
    assert.ok(
      Math.abs(edgesPerBit - expected) / expected < 0.03,
      `R ${d.rate}: ${edgesPerBit} vs ${expected}`,
    );
  }
});

test('the sparse syndrome equals the dense product H·x and the lift has girth ≥ 6 once Z is large', () => {
  const code = ldpcCode(rate(0.8), 40);
  const H = denseFromBase(code);
  const rng = createRng('dense');
  const x = Uint8Array.from({ length: code.n }, () => rng.nextUint32() & 1);
  const s = syndromeOf(code, x);
  for (let c = 0; c < code.m; c++) {
    let p = 0;
    for (let v = 0; v < code.n; v++) p ^= H[c]![v]! & x[v]!;
    assert.equal(s[c], p, `check ${c}`);
  }
  // No two checks share two variables (no 4-cycle), checked on the dense matrix.
  const big = ldpcCode(rate(0.8), 400);
  const seen = new Map<number, number>();
  for (let c = 0; c < big.m; c++) {
    const vs = Array.from(big.chkVar.subarray(big.chkPtr[c]!, big.chkPtr[c + 1]!)).sort((a, b) => a - b);
    for (let i = 0; i < vs.length; i++)
      for (let j = i + 1; j < vs.length; j++) {
        const key = vs[i]! * big.n + vs[j]!;
        assert.equal(seen.get(key), undefined, `4-cycle through variables ${vs[i]}, ${vs[j]}`);
        seen.set(key, c);
      }
    if (c > 400) break; // a sample of rows keeps the test fast; the shift rule is the same for all
  }
});

test('codes are deterministic: the same base graph and shifts on every call', () => {
  const a = baseGraph(rate(0.75), createRng('x'));
  const b = baseGraph(rate(0.75), createRng('x'));
  assert.deepEqual(a, b);
  assert.deepEqual(
    liftShifts(a.rows, a.row, a.col, 50, createRng('y')),
    liftShifts(b.rows, b.row, b.col, 50, createRng('y')),
  );
});

test('untainted puncturing: no check holds two punctured symbols', () => {
  const code = ldpcCode(rate(0.7), 30);
  const p = untaintedPuncturing(code);
  assert.ok(p.length > 0.05 * code.n);
  const mark = new Uint8Array(code.n);
  for (const v of p) mark[v] = 1;
  for (let c = 0; c < code.m; c++) {
    let k = 0;
    for (let e = code.chkPtr[c]!; e < code.chkPtr[c + 1]!; e++) k += mark[code.chkVar[e]!]!;
    assert.ok(k <= 1, `check ${c} holds ${k} punctured symbols`);
  }
});

/** A tiny code from explicit checks (for brute-force maximum-likelihood comparison). */
function tinyCode(checks: number[][], n: number): LdpcCode {
  const chkPtr = new Int32Array(checks.length + 1);
  checks.forEach((c, i) => (chkPtr[i + 1] = chkPtr[i]! + c.length));
  const chkVar = Int32Array.from(checks.flat());
  const varPtr = new Int32Array(n + 1);
  for (const v of chkVar) varPtr[v + 1]!++;
  for (let v = 0; v < n; v++) varPtr[v + 1]! += varPtr[v]!;
  const varChk = new Int32Array(chkVar.length);
  const fill = varPtr.slice(0, n);
  checks.forEach((c, i) => c.forEach((v) => (varChk[fill[v]!++] = i)));
  const none = new Int32Array(0);
  return {
    rate: 1 - checks.length / n,
    n,
    m: checks.length,
    z: 1,
    chkPtr,
    chkVar,
    varPtr,
    varChk,
    base: { rows: 0, row: none, col: none, shift: none },
  };
}

test('decoders agree with brute-force maximum likelihood on a tiny code (every word, ≤ 1 error)', () => {
  // A 4-cycle-free (12, 8-check) code: every variable in two checks, columns distinct.
  const checks = [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
    [9, 10, 11],
    [0, 3, 6],
    [1, 4, 9],
    [2, 7, 10],
    [5, 8, 11],
  ];
  const code = tinyCode(checks, 12);
  const llr = Math.log(0.97 / 0.03);
  // Every 12-bit word once, filed by its syndrome: the ML search below scans only the coset it needs.
  const bits = (w: number) => Uint8Array.from({ length: 12 }, (_, i) => (w >>> i) & 1);
  const cosets = new Map<string, number[]>();
  for (let w = 0; w < 1 << 12; w++) {
    const key = syndromeOf(code, bits(w)).join('');
    cosets.set(key, [...(cosets.get(key) ?? []), w]);
  }
  for (let x = 0; x < 1 << 12; x += 37) {
    const word = Uint8Array.from({ length: 12 }, (_, i) => (x >>> i) & 1);
    const s = syndromeOf(code, word);
    for (let err = -1; err < 12; err++) {
      const y = word.slice();
      if (err >= 0) y[err]! ^= 1;
      // ML: the word meeting the syndrome nearest to y (unique here: distinct columns of weight 2).
      let best = -1;
      let bestD = 99;
      for (const w of cosets.get(s.join(''))!) {
        const d = bits(w).reduce((a, b, i) => a + (b ^ y[i]!), 0);
        if (d < bestD) [best, bestD] = [w, d];
      }
      const channel = Float32Array.from(y, (b) => (b ? -llr : llr));
      const dec = new LayeredDecoder(code);
      dec.reset(channel);
      assert.ok(dec.run(s, 50).ok);
      const got = dec.decision().reduce((a, b, i) => a | (b << i), 0);
      assert.equal(got, best, `word ${x}, error at ${err}`);
      const fixed = new BoxPlusReference(code);
      fixed.reset(channel);
      assert.ok(fixed.run(s, 50).ok);
      assert.equal(
        fixed.decision().reduce((a, b, i) => a | (b << i), 0),
        best,
        `box-plus: word ${x}, error at ${err}`,
      );
      const ref = sumProductFlooding(code, channel, s, 50);
      assert.equal(
        ref.word.reduce((a, b, i) => a | (b << i), 0),
        best,
      );
    }
  }
});

test('the layered decoder matches flooding sum-product on a lifted code and honours pinned symbols', () => {
  const code = ldpcCode(rate(0.75), 8);
  const rng = createRng('floods');
  const x = Uint8Array.from({ length: code.n }, () => rng.nextUint32() & 1);
  const s = syndromeOf(code, x);
  const llr = Math.log(0.98 / 0.02);
  const channel = Float32Array.from(x, (b) => (b ^ (rng.nextFloat() < 0.02 ? 1 : 0) ? -llr : llr));
  const dec = new LayeredDecoder(code);
  dec.reset(channel);
  assert.ok(dec.run(s, 100).ok);
  assert.deepEqual(dec.decision(), x);
  assert.deepEqual(sumProductFlooding(code, channel, s, 100).word, x);
  dec.setChannel(0, x[0] ? -SATURATION : SATURATION);
  assert.ok(dec.run(s, 10).ok);
});

test('frame plans: leak follows f₀·h(q̂)·n, puncturing stays within the untainted set, frames split', () => {
  for (const [n, q] of [
    [10000, 0.02],
    [20000, 0.05],
    [3000, 0.08],
  ] as const) {
    const p = planFrame(n, q);
    assert.equal(p.keyPos.length + p.punctured.length + p.shortened.length, p.code.n);
    assert.equal(new Set([...p.keyPos, ...p.punctured, ...p.shortened]).size, p.code.n);
    const leak = p.code.m - p.punctured.length;
    assert.ok(
      leak / (n * binaryEntropy(q)) < 1.3,
      `n ${n} q ${q}: starting f ${leak / (n * binaryEntropy(q))}`,
    );
  }
  assert.deepEqual(frameLengths(LDPC_MAX_FRAME_BITS), [LDPC_MAX_FRAME_BITS]);
  // 2·2²⁰ + 1 bits need three frames; they differ by at most one bit.
  assert.deepEqual(frameLengths(2 * LDPC_MAX_FRAME_BITS + 1), [699051, 699051, 699051]);
});

test('the mother code keeps a threshold margin over the QBER estimate when one fits', () => {
  // At 3% the rate-0.8 code (threshold 2.98%) would decode past its threshold: the 0.75 code is taken.
  for (const [n, q] of [
    [100000, 0.03],
    [1000000, 0.03],
    [100000, 0.05],
    [100000, 0.02],
  ] as const) {
    const p = planFrame(n, q);
    const d = ELKOUSS_2009_DISTRIBUTIONS.find((x) => x.rate === p.code.rate)!;
    assert.ok(d.threshold >= (1 + THRESHOLD_MARGIN) * q, `n ${n} q ${q}: R0 ${d.rate}`);
  }
  assert.equal(planFrame(100000, 0.03).code.rate, 0.75);
});

test('when no code clears the margin (QBER 1 %), the plan falls back to a code puncturable within limits', () => {
  // Regression: the rate-0.5 code used to win here, punctured past its untainted set, leaking ≈ n/2 bits.
  for (const n of [10000, 100000]) {
    const p = planFrame(n, 0.01);
    assert.ok(p.code.rate >= 0.8, `n ${n}: R0 ${p.code.rate}`);
    const leak = p.code.m - p.punctured.length;
    assert.ok(
      leak / (n * binaryEntropy(0.01)) < 1.3,
      `n ${n}: starting f ${leak / (n * binaryEntropy(0.01))}`,
    );
  }
  const rng = createRng('ldpc-1pc');
  const { alice, bob, errors } = noisyPair(10000, 0.01, rng);
  const res = reconcile(ldpc, alice, bob, {
    qberEstimate: 0.01,
    shuffleSeed: 1,
    aliceRandom: rng.stream('a'),
  });
  assert.ok(res.key.equals(alice));
  const f = res.leakedBits / (10000 * binaryEntropy(errors / 10000));
  assert.ok(f < 1.6, `f = ${f}`);
});

test('ldpc efficiency on 2·10⁴-bit frames at QBER 3% and 5% (all disclosed bits counted)', () => {
  for (const q of [0.03, 0.05]) {
    const rng = createRng(`ldpc-eff-${q}`);
    let f = 0;
    for (let r = 0; r < 3; r++) {
      const { alice, bob, errors } = noisyPair(20000, q, rng);
      const res = reconcile(ldpc, alice, bob, {
        qberEstimate: q,
        shuffleSeed: r,
        aliceRandom: rng.stream(`a${r}`),
      });
      assert.ok(res.key.equals(alice));
      f += res.leakedBits / (20000 * binaryEntropy(errors / 20000)) / 3;
    }
    assert.ok(f < 1.25, `QBER ${q}: f = ${f}`);
  }
});

test('ldpc is in the registry and its responder rejects malformed requests', () => {
  assert.equal(errorCorrection('ldpc'), ldpc);
  const { alice } = noisyPair(2000, 0.03, createRng(1));
  const setup = { algorithm: 'ldpc' as const, n: 2000, qberEstimate: 0.03, shuffleSeed: 1 };
  const r = ldpc.responder(alice, setup, createRng(2));
  const base = {
    type: 'parity-request',
    round: 0,
    blockSize: 0,
    pass: new Uint8Array(0),
    start: new Uint32Array(0),
    end: new Uint32Array(0),
  } as const;
  assert.throws(() => r.handle({ ...base, blockPass: 0, blockCount: 5 }), RangeError);
  assert.throws(() => r.handle({ ...base, blockPass: 3, blockCount: 0 }), RangeError);
  const bad = {
    ...base,
    blockPass: -1,
    blockCount: 0,
    pass: Uint8Array.of(0),
    start: Uint32Array.of(10),
    end: Uint32Array.of(10 ** 7),
  };
  assert.throws(() => r.handle(bad), RangeError);
  assert.throws(() => ldpc.responder(alice, { ...setup, n: 1999 }), RangeError);
});

test('a tampered syndrome bit is never silently accepted: the corrector reports non-convergence (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 0, max: 999 }), (seed, at) => {
      const { alice, bob } = noisyPair(1000, 0.04, createRng(seed));
      let responder: ParityResponder | undefined;
      const channel: ParityChannel = {
        exchange(req) {
          if (req.setup) responder = ldpc.responder(alice, req.setup, createRng(seed + 1));
          const reply = responder!.handle(req);
          if (req.round !== 0) return reply;
          const s = reply.blockParities.slice();
          s[at % s.length]! ^= 1;
          return { ...reply, blockParities: s };
        },
      };
      const r = reconcile(ldpc, alice, bob, { qberEstimate: 0.04, shuffleSeed: seed }, channel);
      // No word meets both the tampered syndrome and Alice's honest confirmations and reveals.
      return !r.converged;
    }),
    { seed: 3, numRuns: 15 },
  );
});
