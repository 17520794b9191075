import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryEntropy, createRng } from '../common/index.ts';
import { PRESETS, fiberTransmittance, gainQ, type LinkParams } from '../physics/index.ts';
import { ATTACK_KINDS, parseAttack } from './attacks.ts';
import { simulateBlock } from './engine.ts';
import { estimate } from './estimate.ts';
import { countsByClass, sift } from './sift.ts';
import type { AttackSpec, LinkBlock } from './types.ts';

const GYS: LinkParams = PRESETS.gys!.params;
const KM = 25;
const ETA =
  GYS.detectorEfficiency * fiberTransmittance({ distanceKm: KM, attenuationDbPerKm: 0.21, extraLossDb: 0 });
const Y0 = GYS.darkCountProbability;
const SOURCE = [
  { mu: 0.5, p: 0.7 },
  { mu: 0.1, p: 0.2 },
  { mu: 0, p: 0.1 },
];

function run(
  attack?: string,
  over: { pulses?: number; km?: number; params?: LinkParams; seed?: string } = {},
): LinkBlock {
  return simulateBlock(
    {
      linkId: 'l',
      blockId: 1,
      pulses: over.pulses ?? 2e8,
      params: over.params ?? GYS,
      distanceKm: over.km ?? KM,
      ...(attack ? { attack: parseAttack(attack) } : {}),
    },
    createRng(over.seed ?? `attack:${attack}`),
  );
}

/** Z-basis sifted count and errors summed over classes (optionally only classes with μ > 0). */
function zStats(b: LinkBlock, nonVacuum = false) {
  let n = 0;
  let e = 0;
  for (const [name, c] of Object.entries(countsByClass(b.raw))) {
    if (nonVacuum && name === 'vacuum') continue;
    n += c.Z.sifted;
    e += c.Z.errors;
  }
  return { n, e, q: e / n };
}

function gainOf(b: LinkBlock, name: string): { gain: number; sent: number } {
  const c = countsByClass(b.raw)[name]!;
  const sent = c.Z.sent + c.X.sent;
  return { gain: (c.Z.detected + c.X.detected) / sent, sent };
}

test('parseAttack reads every kind with its default and refuses bad input with a clear RangeError', () => {
  for (const k of ATTACK_KINDS) assert.equal(parseAttack(k).kind, k);
  assert.deepEqual(parseAttack('intercept-resend:0.05'), { kind: 'intercept-resend', param: 0.05 });
  assert.deepEqual(parseAttack('jamming:1e5'), { kind: 'jamming', param: 1e5 });
  assert.deepEqual(parseAttack(' Trojan-Horse:0.1 '), { kind: 'trojan-horse', param: 0.1 });
  assert.throws(
    () => parseAttack('laser-damage'),
    /Unknown attack "laser-damage": expected one of intercept-resend/,
  );
  assert.throws(() => parseAttack('intercept-resend:1.5'), /must be a number in 0..1/);
  assert.throws(() => parseAttack('time-shift:abc'), RangeError);
  assert.throws(() => parseAttack('pns:0.5:1'), RangeError);
  assert.throws(() => parseAttack('fiber-cut:1'), /takes no parameter/);
});

test('intercept-resend:f raises QBER_Z by 0.25·f (e_d = 0, within 3σ) and Eve knows f/2 of the sifted bits', () => {
  const f = 0.4;
  const params = { ...GYS, misalignmentError: 0 };
  const honest = zStats(run(undefined, { params, seed: 'ir0' }));
  const attacked = run(`intercept-resend:${f}`, { params, seed: 'ir1' });
  const z = zStats(attacked);
  const sigma = Math.sqrt((z.q * (1 - z.q)) / z.n + (honest.q * (1 - honest.q)) / honest.n);
  // Dark-count detections (share ≈ Y0/Q < 1e-3) already carry 50 % errors: the rise is 0.25·f on the rest.
  assert.ok(
    Math.abs(z.q - honest.q - 0.25 * f) < 3 * sigma + 0.25 * f * 1e-3,
    `rise ${z.q - honest.q} vs ${0.25 * f}`,
  );
  // Eve's knowledge: she measured in the right basis on half of the intercepted non-vacuum pulses.
  const nz = zStats(attacked, true).n;
  const known = attacked.eve.knownKeyBits / nz;
  assert.ok(
    Math.abs(known - f / 2) < 3 * Math.sqrt(((f / 2) * (1 - f / 2)) / nz),
    `known ${known} vs ${f / 2}`,
  );
  assert.equal(attacked.eve.informationBits, attacked.eve.knownKeyBits);
});

test('intercept-resend:f with misalignment matches the exact QBER e0·Y0 + (1−e^{−ημ})[(1−f)e_d + f(e_d/2 + ¼)] (3σ)', () => {
  const f = 0.2;
  const b = run(`intercept-resend:${f}`);
  const z = zStats(b);
  const ed = GYS.misalignmentError;
  let eq = 0;
  let q = 0;
  for (const { mu, p } of SOURCE) {
    const signal = -Math.expm1(-ETA * mu);
    eq += p * (0.5 * Y0 + signal * ((1 - f) * ed + f * (ed / 2 + 0.25)));
    q += p * gainQ(mu, ETA, Y0);
  }
  const expected = eq / q;
  const tol = 3 * Math.sqrt((expected * (1 - expected)) / z.n) + (ETA * 0.5) ** 2;
  assert.ok(Math.abs(z.q - expected) < tol, `QBER ${z.q} vs ${expected} ± ${tol}`);
});

test('pns keeps the signal gain as without attack but breaks the decoy gain, and the decoy estimate fails', () => {
  const honest = run(undefined, { km: 50, pulses: 1e9, seed: 'pns0' });
  const b = run('pns', { km: 50, pulses: 1e9, seed: 'pns1' });
  const eta50 =
    GYS.detectorEfficiency * fiberTransmittance({ distanceKm: 50, attenuationDbPerKm: 0.21, extraLossDb: 0 });
  const sig = gainOf(b, 'signal');
  const qSig = gainQ(0.5, eta50, Y0);
  assert.ok(Math.abs(sig.gain - qSig) < 4 * Math.sqrt(qSig / sig.sent), `signal gain ${sig.gain} vs ${qSig}`);
  const dec = gainOf(b, 'decoy');
  const qDec = gainQ(0.1, eta50, Y0);
  assert.ok(qDec - dec.gain > 10 * Math.sqrt(qDec / dec.sent), `decoy gain ${dec.gain} vs honest ${qDec}`);
  const eHonest = estimate(sift(honest.raw), honest.raw);
  const e = estimate(sift(b.raw), b.raw);
  assert.ok(eHonest.y1Lower > 0, 'honest block bounds Y1 away from zero');
  assert.equal(e.secure, false);
  assert.equal(e.reason, 'decoy-inconsistent');
  // Eve holds a photon of every multi-photon pulse; at 50 km those are nearly all of Bob's detections.
  assert.ok(b.eve.knownKeyBits / zStats(b).n > 0.95);
});

test('blinding lowers QBER to ≈ 0 while the detection statistics change (no vacuum clicks, no double clicks, decoy/signal ratio)', () => {
  const honest = run(undefined, { seed: 'bl0' });
  const b = run('blinding', { seed: 'bl1' });
  assert.ok(zStats(b).q < 0.002, `QBER ${zStats(b).q}`);
  assert.ok(zStats(honest).q > 0.03);
  assert.equal(gainOf(b, 'vacuum').gain, 0);
  assert.ok(gainOf(honest, 'vacuum').gain > 0);
  assert.equal(b.telemetry.doubleClicks, 0);
  // Eve's detector at Alice's output: decoy/signal = (1−e^{−0.1})/(1−e^{−0.5}) = 0.2419 instead of ≈ 0.2.
  const ratio = gainOf(b, 'decoy').gain / gainOf(b, 'signal').gain;
  const ratioHonest = gainOf(honest, 'decoy').gain / gainOf(honest, 'signal').gain;
  assert.ok(Math.abs(ratio - -Math.expm1(-0.1) / -Math.expm1(-0.5)) < 0.01, `ratio ${ratio}`);
  assert.ok(Math.abs(ratioHonest - 0.2) < 0.01, `honest ratio ${ratioHonest}`);
  // Eve forwards just enough to keep Bob's detection rate, and knows every sifted bit.
  assert.ok(Math.abs(b.raw.count / honest.raw.count - 1) < 0.01);
  assert.equal(b.eve.knownKeyBits, zStats(b).n);
});

test("trojan-horse:n leaks 1 − e^{−2n} of the bits without disturbance and lights Alice's monitor diode", () => {
  const n = 0.1;
  const honest = run(undefined, { seed: 'th0' });
  const b = run(`trojan-horse:${n}`, { seed: 'th1' });
  const z = zStats(b);
  const leak = 1 - Math.exp(-2 * n);
  assert.ok(Math.abs(b.eve.knownKeyBits / z.n - leak) < 3 * Math.sqrt((leak * (1 - leak)) / z.n));
  const zh = zStats(honest);
  assert.ok(Math.abs(z.q - zh.q) < 3 * Math.sqrt(z.q / z.n + zh.q / zh.n), 'QBER unchanged');
  assert.ok(b.telemetry.monitorPowerW! > 1e3 * honest.telemetry.monitorPowerW!);
});

test('time-shift:m lowers detections by (2−m)/2 and gives Eve 1 − h(1/(2−m)) bits per sifted bit', () => {
  const m = 0.6;
  const honest = run(undefined, { seed: 'ts0' });
  const b = run(`time-shift:${m}`, { seed: 'ts1' });
  const ratio = b.raw.count / honest.raw.count;
  assert.ok(Math.abs(ratio - (2 - m) / 2) < 5 * Math.sqrt(2 / honest.raw.count), `ratio ${ratio}`);
  const info = b.eve.informationBits / zStats(b).n;
  const expected = 1 - binaryEntropy(1 / (2 - m)); // Qi et al. 2007, linear regime; darks perturb < 1e-3
  assert.ok(Math.abs(info - expected) < 2e-3, `info ${info} vs ${expected}`);
});

test('jamming:r adds about N·r/R clicks and pushes QBER towards ½; fiber-cut leaves only dark counts', () => {
  const r = 1e3;
  const honest = run(undefined, { seed: 'j0' });
  const b = run(`jamming:${r}`, { seed: 'j1' });
  const extra = b.raw.count - honest.raw.count;
  const expected = (2e8 * r) / GYS.repetitionRateHz;
  assert.ok(Math.abs(extra - expected) < 5 * Math.sqrt(b.raw.count + honest.raw.count), `extra ${extra}`);
  assert.ok(zStats(b).q > zStats(honest).q + 0.01);
  const cut = run('fiber-cut', { pulses: 1e10, seed: 'fc' });
  const perPulse = cut.raw.count / 1e10;
  assert.ok(Math.abs(perPulse - Y0) < 4 * Math.sqrt(Y0 / 1e10), `dark rate ${perPulse}`);
  const zc = zStats(cut);
  assert.ok(Math.abs(zc.q - 0.5) < 4 * Math.sqrt(0.25 / zc.n));
  assert.equal(estimate(sift(cut.raw), cut.raw).secure, false);
});

test("an attack spec is recorded in Eve's knowledge", () => {
  const spec: AttackSpec = parseAttack('pns:0.5');
  const b = run('pns:0.5', { pulses: 1e6 });
  assert.deepEqual(b.eve.attack, spec);
  assert.ok('t1' in b.eve.details && 'tm' in b.eve.details);
});

test('pns at 5 km has photons to spare: Eve forwards some single photons (t1 > 0), the signal gain still matches', () => {
  const b = run('pns', { km: 5, pulses: 5e7, seed: 'pns5' });
  const eta5 =
    GYS.detectorEfficiency * fiberTransmittance({ distanceKm: 5, attenuationDbPerKm: 0.21, extraLossDb: 0 });
  assert.ok(b.eve.details.t1! > 0 && b.eve.details.t1! < 1 && b.eve.details.tm === 1);
  const sig = gainOf(b, 'signal');
  const q = gainQ(0.5, eta5, Y0);
  assert.ok(Math.abs(sig.gain - q) < 4 * Math.sqrt(q / sig.sent), `signal gain ${sig.gain} vs ${q}`);
});
