/**
 * Attacks on the quantum signals, each written as the per-pulse outcome law it imposes (cells, see
 * cells.ts), so the engine samples an attacked link exactly as fast as an honest one.
 *
 * - intercept-resend:f — C. H. Bennett, G. Brassard (1984); Eve measures a fraction f of pulses in a random
 *   basis and resends her result at the same intensity. Idealised in Eve's favour: she obtains the bit
 *   whenever her basis matches. Sifted QBER rises by f·(¼ − e_d/2)·(signal share of detections) — 0.25·f
 *   on the intercepted share for e_d = 0 — and Eve knows f/2 of the sifted bits of non-vacuum classes.
 * - pns — G. Brassard, N. Lütkenhaus, T. Mor, B. C. Sanders, PRL 85, 1330 (2000): a QND measurement of the
 *   photon number; Eve keeps one photon of every multi-photon pulse, forwards the rest over a lossless line
 *   and transmits single photons with the probability that restores the expected signal gain (blocking
 *   multi-photon pulses too when even those alone exceed it). The signal gain looks normal; the decoy gain
 *   does not (H.-K. Lo, X. Ma, K. Chen, PRL 94, 230504, 2005).
 * - blinding — L. Lydersen et al., Nature Photonics 4, 686 (2010): bright light turns Bob's detectors into
 *   linear mode (no dark counts, no afterpulses); Eve measures every pulse in a random basis with an ideal
 *   detector and sends a faked state that clicks Bob's detector of her bit only if Bob chose her basis.
 *   She forwards a fraction of her results so that Bob's detection rate matches the expected one.
 * - trojan-horse:n — N. Gisin et al., PRA 73, 022320 (2006); M. Lucamarini et al., PRX 5, 031030 (2015):
 *   bright light into Alice's modulator returns a coherent probe |±α⟩ of mean photon number n = |α|²
 *   carrying the bit; after the basis announcement Eve discriminates it unambiguously with probability
 *   1 − e^{−2n} (Ivanovic–Dieks–Peres). No disturbance; Alice's monitor photodiode sees the injected light.
 * - time-shift:m — B. Qi, C.-H. F. Fung, H.-K. Lo, X. Ma, QIC 7, 73 (2007): shifting a pulse in time makes
 *   one detector less efficient by the mismatch m; Eve picks the favoured detector at random per pulse and
 *   guesses Bob's bit as the favoured value, correct with probability ≈ 1/(2 − m).
 * - jamming:r — extra background clicks at Bob, r counts/s over both detectors.
 * - fiber-cut — channel transmittance 0: only dark counts remain.
 */
import { binaryEntropy, poissonPmf } from '../common/index.ts';
import { CellTable, packCell } from './cells.ts';
import { addHonestShare, basisProbability, type ModelContext } from './channel.ts';
import { fixedPhotonClicks, poissonClicks, routeTo0, clickProbability } from './detector.ts';
import { ATTACK_KINDS, type AttackKind, type AttackSpec } from './types.ts';

export { ATTACK_KINDS };

/** Default strength of each attack kind, its valid range and what the parameter means. */
export const ATTACK_DEFAULTS: Readonly<
  Record<AttackKind, { param: number; min: number; max: number; doc: string }>
> = {
  'intercept-resend': { param: 1, min: 0, max: 1, doc: 'fraction of pulses intercepted' },
  pns: { param: 1, min: 0, max: 1, doc: 'fraction of pulses Eve treats' },
  blinding: { param: 1, min: 0, max: 1, doc: 'fraction of the block the detectors are blinded' },
  'trojan-horse': { param: 0.1, min: 0, max: 1e6, doc: 'mean photon number returned to Eve per pulse' },
  'time-shift': { param: 0.3, min: 0, max: 1, doc: 'detector efficiency mismatch m' },
  jamming: { param: 1e5, min: 0, max: 1e15, doc: 'extra background counts per second at Bob' },
  'fiber-cut': { param: 0, min: 0, max: 0, doc: 'no parameter' },
};

/**
 * Parses `kind` or `kind:param` (e.g. `intercept-resend:0.05`, `pns`, `jamming:1e5`). Throws a RangeError
 * naming the problem and the accepted kinds otherwise.
 */
export function parseAttack(text: string): AttackSpec {
  const [rawKind = '', rawParam, ...extra] = text.trim().split(':');
  const kind = rawKind.trim().toLowerCase();
  if (!(ATTACK_KINDS as readonly string[]).includes(kind))
    throw new RangeError(`Unknown attack "${rawKind}": expected one of ${ATTACK_KINDS.join(', ')}`);
  const spec = ATTACK_DEFAULTS[kind as AttackKind];
  if (extra.length > 0) throw new RangeError(`Attack "${text}" has more than one ":parameter"`);
  if (rawParam === undefined) return { kind: kind as AttackKind, param: spec.param };
  if (kind === 'fiber-cut') throw new RangeError('Attack "fiber-cut" takes no parameter');
  const v = rawParam.trim() === '' ? NaN : Number(rawParam);
  if (!Number.isFinite(v) || v < spec.min || v > spec.max)
    throw new RangeError(
      `Attack ${kind}: parameter "${rawParam}" must be a number in ${spec.min}..${spec.max} (${spec.doc})`,
    );
  return { kind: kind as AttackKind, param: v };
}

/** Formats a spec back to its `kind:param` text. */
export function formatAttack(a: AttackSpec): string {
  return a.kind === 'fiber-cut' ? a.kind : `${a.kind}:${a.param}`;
}

/** Probability that Eve reads a Trojan-horse probe of mean photon number n: 1 − e^{−2n} (USD of |±α⟩). */
export function trojanLeak(n: number): number {
  return -Math.expm1(-2 * n);
}

/** Intercept-resend on a fraction `share` of pulses (pulses of a vacuum class carry nothing to measure). */
export function addInterceptResend(table: CellTable, ctx: ModelContext, share: number): void {
  const rx = { eff0: ctx.etaBob, eff1: ctx.etaBob, dark: ctx.dark };
  ctx.intensities.forEach((cls, k) => {
    const photons = cls.mu * ctx.etaChannel;
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 2; b++)
        for (let x = 0; x < 2; x++) {
          const w = share * cls.probability * basisProbability(ctx, a) * basisProbability(ctx, b) * 0.5;
          if (cls.mu === 0) {
            table.addClicks(w, k, a, x, b, poissonClicks(0, 0.5, rx), 0);
            continue;
          }
          for (let e = 0; e < 2; e++) {
            if (e === a) {
              // Right basis: Eve learns x and resends it; Bob sees the honest statistics.
              table.addClicks(
                w * 0.5,
                k,
                a,
                x,
                b,
                poissonClicks(photons, routeTo0(a, x, b, ctx.misalignment), rx),
                1,
              );
            } else {
              // Wrong basis: a random result r, resent in Eve's basis.
              for (let r = 0; r < 2; r++) {
                const o = poissonClicks(photons, routeTo0(e, r, b, ctx.misalignment), rx);
                table.addClicks(w * 0.25, k, a, x, b, o, 0);
              }
            }
          }
        }
  });
}

/** Yield of class μ under PNS with single-photon transmission t1 and multi-photon transmission tm. */
function pnsGain(ctx: ModelContext, mu: number, t1: number, tm: number, nMax: number): number {
  const rx = { eff0: ctx.etaBob, eff1: ctx.etaBob, dark: ctx.dark };
  const y = (m: number) => clickProbability(fixedPhotonClicks(m, 0.5, rx));
  const y0 = y(0);
  let q = poissonPmf(0, mu) * y0 + poissonPmf(1, mu) * (t1 * y(1) + (1 - t1) * y0);
  for (let n = 2; n <= nMax; n++) q += poissonPmf(n, mu) * (tm * y(n - 1) + (1 - tm) * y0);
  return q;
}

/** Photon numbers beyond which the Poisson tail is below 1e-17 for μ ≤ 2 (and Eve's yields ≤ 1). */
function photonCutoff(mu: number): number {
  let n = 1;
  while (n < 200 && poissonPmf(n, mu) > 1e-17) n++;
  return n;
}

/**
 * PNS on a fraction `share` of pulses; Eve targets the honest gain of the strongest class (the signal).
 * Returns Eve's transmissions {t1, tm}.
 */
export function addPns(table: CellTable, ctx: ModelContext, share: number): { t1: number; tm: number } {
  const rx = { eff0: ctx.etaBob, eff1: ctx.etaBob, dark: ctx.dark };
  const signal = ctx.intensities.reduce((s, c) => (c.mu > s.mu ? c : s));
  const target = clickProbability(poissonClicks(signal.mu * ctx.etaChannel, 0.5, rx));
  const nSig = photonCutoff(signal.mu);
  let t1 = 0;
  let tm = 1;
  const qMulti = pnsGain(ctx, signal.mu, 0, 1, nSig);
  if (qMulti >= target) {
    const q0 = pnsGain(ctx, signal.mu, 0, 0, nSig);
    tm = qMulti > q0 ? Math.max(0, (target - q0) / (qMulti - q0)) : 0;
  } else {
    const q1 = pnsGain(ctx, signal.mu, 1, 1, nSig);
    t1 = q1 > qMulti ? Math.min(1, (target - qMulti) / (q1 - qMulti)) : 1;
  }
  ctx.intensities.forEach((cls, k) => {
    const nMax = photonCutoff(cls.mu);
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 2; b++)
        for (let x = 0; x < 2; x++) {
          const w = share * cls.probability * basisProbability(ctx, a) * basisProbability(ctx, b) * 0.5;
          const route = routeTo0(a, x, b, ctx.misalignment);
          const dark = fixedPhotonClicks(0, route, rx);
          table.addClicks(w * poissonPmf(0, cls.mu), k, a, x, b, dark, 0);
          const p1 = poissonPmf(1, cls.mu);
          table.addClicks(w * p1 * t1, k, a, x, b, fixedPhotonClicks(1, route, rx), 0);
          table.addClicks(w * p1 * (1 - t1), k, a, x, b, dark, 0);
          for (let n = 2; n <= nMax; n++) {
            const pn = poissonPmf(n, cls.mu);
            // Eve holds a photon of every multi-photon pulse: she knows its bit once bases are announced.
            table.addClicks(w * pn * tm, k, a, x, b, fixedPhotonClicks(n - 1, route, rx), 1);
            table.addClicks(w * pn * (1 - tm), k, a, x, b, dark, 1);
          }
        }
  });
  return { t1, tm };
}

/**
 * Blinding with faked states on a fraction `share` of pulses. `targetDetection` is the honest detection
 * probability per pulse that Eve reproduces. Returns the fraction of her results she forwards.
 */
export function addBlinding(
  table: CellTable,
  ctx: ModelContext,
  share: number,
  targetDetection: number,
): { forward: number } {
  const eveRx = { eff0: 1, eff1: 1, dark: 0 }; // Eve's ideal detectors at Alice's output
  const fake = new CellTable();
  ctx.intensities.forEach((cls, k) => {
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 2; b++)
        for (let x = 0; x < 2; x++) {
          const w = cls.probability * basisProbability(ctx, a) * basisProbability(ctx, b) * 0.5;
          for (let e = 0; e < 2; e++) {
            if (e !== b) continue; // a faked state in the other basis never clicks Bob's detectors
            const o = poissonClicks(cls.mu, routeTo0(a, x, e, 0), eveRx);
            // Eve's bit r decides which of Bob's detectors clicks, singly; she knows Bob's bit.
            fake.add(packCell(k, a, x, b, 0, 0, 1), w * 0.5 * (o.only0 + o.both / 2));
            fake.add(packCell(k, a, x, b, 1, 0, 1), w * 0.5 * (o.only1 + o.both / 2));
          }
        }
  });
  const eveTotal = fake.total();
  const forward = eveTotal > 0 ? Math.min(1, targetDetection / eveTotal) : 0;
  fake.fields.forEach((f, i) => table.add(f, share * forward * fake.weights[i]!));
  return { forward };
}

/** Time-shift with mismatch m: Eve favours detector 0 or 1 at random; returns her information per bit. */
export function addTimeShift(table: CellTable, ctx: ModelContext, share: number, m: number): number {
  const low = ctx.etaBob * (1 - m);
  const favour0 = new CellTable();
  addHonestShare(favour0, ctx, 1, 0, { eff0: ctx.etaBob, eff1: low, dark: ctx.dark });
  addHonestShare(table, ctx, share / 2, 0, { eff0: ctx.etaBob, eff1: low, dark: ctx.dark });
  addHonestShare(table, ctx, share / 2, 0, { eff0: low, eff1: ctx.etaBob, dark: ctx.dark });
  // P(Bob's Z-sifted bit = favoured value): from the favour-0 cells, which mirror the favour-1 ones.
  let right = 0;
  let all = 0;
  favour0.fields.forEach((f, i) => {
    const a = (f >> 4) & 1;
    const b = (f >> 6) & 1;
    if (a !== 0 || b !== 0) return;
    all += favour0.weights[i]!;
    if (((f >> 7) & 1) === 0) right += favour0.weights[i]!;
  });
  const pGuess = all > 0 ? right / all : 0.5;
  return 1 - binaryEntropy(pGuess);
}
