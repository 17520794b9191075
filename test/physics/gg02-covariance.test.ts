/**
 * GG02 with trusted detector noise checked against an independent covariance-matrix evaluation (the
 * entangling-cloner picture of Lodewyck et al., PRA 76, 042305 (2007), App. A; Weedbrook et al., RMP 84, 621
 * (2012), Sec. VI): Alice's EPR state of variance V, the channel (T, ξ), Bob's detector as a beam splitter of
 * transmittance η fed by one half of an EPR state of variance 1 + v_el/(1 − η), homodyne of x on B.
 * χ_BE = S(AB) − S(AFG|x_B), symplectic eigenvalues taken numerically: the eigenvalues of (Ωγ)² are −ν_k²
 * (each twice), recovered from traces of powers by Newton's identities and a cubic. No closed form is shared
 * with src/physics/cv-gg02.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gg02Information, symplecticEntropy } from '../../src/physics/index.ts';

type Mat = number[][];
const zeros = (n: number): Mat => Array.from({ length: n }, () => new Array<number>(n).fill(0));
const mul = (a: Mat, b: Mat): Mat =>
  a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const tr = (a: Mat) => a.reduce((s, row, i) => s + row[i]!, 0);
const transpose = (a: Mat): Mat => a[0]!.map((_, j) => a.map((row) => row[j]!));

/** Places a 2×2 block a·diag(1, s) at modes (i, j) and its transpose at (j, i). */
function block(g: Mat, i: number, j: number, a: number, s: 1 | -1): void {
  g[2 * i]![2 * j] = a;
  g[2 * i + 1]![2 * j + 1] = a * s;
  g[2 * j]![2 * i] = a;
  g[2 * j + 1]![2 * i + 1] = a * s;
}

/** Symplectic eigenvalues of an n-mode covariance matrix, n ≤ 3. */
function symplecticEigenvalues(g: Mat): number[] {
  const n = g.length / 2;
  const omega = zeros(2 * n);
  for (let k = 0; k < n; k++) {
    omega[2 * k]![2 * k + 1] = 1;
    omega[2 * k + 1]![2 * k] = -1;
  }
  const m = mul(omega, g);
  const m2 = mul(m, m);
  const m4 = mul(m2, m2);
  const p = [-tr(m2) / 2, tr(m4) / 2, -tr(mul(m4, m2)) / 2]; // power sums of x_k = ν_k²
  const e1 = p[0]!;
  const e2 = (e1 * p[0]! - p[1]!) / 2;
  const e3 = (e2 * p[0]! - e1 * p[1]! + p[2]!) / 3;
  let xs: number[];
  if (n === 2) {
    const d = Math.sqrt(Math.max(0, e1 * e1 - 4 * e2));
    xs = [(e1 + d) / 2, (e1 - d) / 2];
  } else {
    // x³ − e1 x² + e2 x − e3 = 0, three real roots (trigonometric solution).
    const a = e1 / 3;
    const q = a * a - e2 / 3;
    const r = a * a * a - (a * e2) / 2 + e3 / 2;
    const phi = Math.acos(Math.max(-1, Math.min(1, r / Math.pow(q, 1.5))));
    xs = [0, 1, 2].map((k) => a + 2 * Math.sqrt(q) * Math.cos((phi - 2 * Math.PI * k) / 3));
  }
  return xs.map((x) => Math.sqrt(Math.max(1, x)));
}

function independentGg02(
  T: number,
  VA: number,
  xi: number,
  eta: number,
  vel: number,
): { iAB: number; chiBE: number } {
  const V = VA + 1;
  const v = 1 + vel / (1 - eta);
  // Modes: 0 = A, 1 = B1 (after the channel), 2 = F0, 3 = G.
  const g = zeros(8);
  block(g, 0, 0, V, 1);
  block(g, 1, 1, T * (V + 1 / T - 1 + xi), 1);
  block(g, 0, 1, Math.sqrt(T * (V * V - 1)), -1);
  block(g, 2, 2, v, 1);
  block(g, 3, 3, v, 1);
  block(g, 2, 3, Math.sqrt(v * v - 1), -1);
  // Beam splitter on (B1, F0): B3 = √η B1 + √(1−η) F0, F = −√(1−η) B1 + √η F0.
  const s = zeros(8);
  for (let k = 0; k < 8; k++) s[k]![k] = 1;
  const [c, d] = [Math.sqrt(eta), Math.sqrt(1 - eta)];
  for (const q of [0, 1]) {
    s[2 + q]![2 + q] = c;
    s[2 + q]![4 + q] = d;
    s[4 + q]![2 + q] = -d;
    s[4 + q]![4 + q] = c;
  }
  const h = mul(mul(s, g), transpose(s)); // modes A, B3, F, G
  const gAB = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => g[i]![j]!));
  const rest = [0, 1, 4, 5, 6, 7]; // A, F, G
  const vB = h[2]![2]!;
  const cond = rest.map((i) => rest.map((j) => h[i]![j]! - (h[i]![2]! * h[2]![j]!) / vB));
  const sAB = symplecticEigenvalues(gAB).reduce((acc, l) => acc + symplecticEntropy(l), 0);
  const sCond = symplecticEigenvalues(cond).reduce((acc, l) => acc + symplecticEntropy(l), 0);
  const iAB = 0.5 * Math.log2(vB / (vB - (h[0]![2]! * h[0]![2]!) / (V + 1)));
  return { iAB, chiBE: sAB - sCond };
}

test('GG02 with trusted detector noise equals the covariance-matrix evaluation', () => {
  // Lodewyck et al. 2007 detector (η = 0.606, v_el = 0.041) and others; agreement to 1e-7 bits: the only
  // differences are rounding in 6×6 matrix powers and the cubic.
  for (const [T, VA, xi, eta, vel] of [
    [0.3162, 18.5, 0.005, 0.606, 0.041],
    [0.1, 4, 0.01, 0.606, 0.041],
    [0.5, 10, 0.02, 0.8, 0.1],
    [0.01, 2, 0.005, 0.5, 0.01],
  ] as const) {
    const want = independentGg02(T, VA, xi, eta, vel);
    const got = gg02Information({
      transmittance: T,
      modulationVariance: VA,
      excessNoise: xi,
      detectorEfficiency: eta,
      electronicNoise: vel,
      beta: 1,
    });
    assert.ok(Math.abs(got.iAB - want.iAB) < 1e-9, `I_AB ${got.iAB} vs ${want.iAB}`);
    assert.ok(Math.abs(got.chiBE - want.chiBE) < 1e-7, `χ_BE ${got.chiBE} vs ${want.chiBE} (T=${T})`);
  }
});
