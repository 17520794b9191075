/**
 * Parameter estimation of one block of decoy-state BB84: gains and QBERs per intensity and basis, the
 * decoy bounds on the single-photon yield Y1 and phase error e1 — asymptotic (X. Ma, B. Qi, Y. Zhao,
 * H.-K. Lo, PRA 72, 012326, 2005, Eqs. 34 and 37, generalised to a weak third intensity as in Lim et al.
 * with δ = 0) and finite-size (C. C.-W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, PRA 89, 022307,
 * 2014, with the block's actual counts, via src/physics lim2014Bounds) — and a verdict. The verdict is a
 * value (CONVENTIONS errors kind 3): `secure: false` with `reason`
 *   too-few-counts        a basis/class has fewer sifted events than its finite-size deviation, or the
 *                         finite-key length (Lim Eq. 1, leak f·n·h(Q)) is zero;
 *   qber-above-threshold  QBER of the key or test basis above the threshold (default 11 %: one-way BB84
 *                         with perfect error correction, Shor–Preskill);
 *   decoy-inconsistent    the decoy statistics admit no single-photon contribution even asymptotically
 *                         (Y1 lower bound ≤ 0 or e1 not below ½) — the signature of a PNS attack; when
 *                         only the finite-size bound vanishes the reason is too-few-counts.
 */
import { binaryEntropy, type IntensityClass, type RawRecord } from '../common/index.ts';
import {
  hoeffdingDelta,
  lim2014Bounds,
  lim2014KeyLength,
  tau,
  type Lim2014Counts,
} from '../physics/index.ts';
import { sentByClassBasis, tally, type Tally } from './sift.ts';
import type { ClassEstimate, EstimateFailure, Estimates, Sifted } from './types.ts';

/** Options of `estimate`. */
export interface EstimateOptions {
  /** Secrecy parameter ε_sec of the finite-key bound; default 1e-10. */
  epsSec?: number;
  /** Correctness parameter ε_cor (key-length check only); default 1e-15. */
  epsCor?: number;
  /** QBER above which the block is rejected; default 0.11. */
  qberThreshold?: number;
  /** Error-correction inefficiency f for the key-length check; default 1.22 (GYS convention). */
  errorCorrectionEfficiency?: number;
}

/** Asymptotic Y1 lower bound and single-photon error upper bound from per-pulse gains (index 0..2 by μ). */
export function asymptoticDecoy(
  mu: readonly [number, number, number],
  gain: readonly [number, number, number],
  errorGain: readonly [number, number, number],
): { y1Lower: number; e1Upper: number } {
  const [m1, m2, m3] = mu;
  const e = (k: 0 | 1 | 2) => gain[k] * Math.exp(mu[k]);
  const y0 = Math.max(0, (m2 * e(2) - m3 * e(1)) / (m2 - m3));
  const y1 =
    (m1 / (m1 * (m2 - m3) - m2 * m2 + m3 * m3)) *
    (e(1) - e(2) - ((m2 * m2 - m3 * m3) / (m1 * m1)) * (e(0) - y0));
  const e1 = y1 > 0 ? (errorGain[1] * Math.exp(m2) - errorGain[2] * Math.exp(m3)) / ((m2 - m3) * y1) : 0.5;
  return { y1Lower: Math.max(0, y1), e1Upper: Math.min(0.5, Math.max(0, e1)) };
}

/** Gains, QBERs, decoy bounds and the verdict of one block. */
export function estimate(sifted: Sifted, raw: RawRecord, opts: EstimateOptions = {}): Estimates {
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  return estimateFromTally(
    raw.intensities,
    sentByClassBasis(raw),
    tally(raw),
    {
      qberZ: ratio(sifted.key.alice.hammingDistance(sifted.key.bob), sifted.key.alice.length),
      qberX: ratio(sifted.test.alice.hammingDistance(sifted.test.bob), sifted.test.alice.length),
      nKey: sifted.key.alice.length,
    },
    opts,
  );
}

/**
 * The sifted key of a tally: Z-sifted bits (both bases Z, every class) and the QBER of each basis — what
 * `sift` would find in a record with these counts (count-sampler.ts blocks have counts, no bits).
 */
export function siftedOfTally(t: Tally): { qberZ: number; qberX: number; nKey: number } {
  let nKey = 0;
  let eZ = 0;
  let nX = 0;
  let eX = 0;
  for (let i = 0; i < t.detected.length; i += 4) {
    nKey += t.detected[i]!;
    eZ += t.errors[i]!;
    nX += t.detected[i + 3]!;
    eX += t.errors[i + 3]!;
  }
  return { qberZ: nKey > 0 ? eZ / nKey : 0, qberX: nX > 0 ? eX / nX : 0, nKey };
}

/**
 * `estimate` from counts: pulses sent and the tally per (k, a, b) at k·4 + a·2 + b, and the sifted key's
 * size and QBERs. The one estimate both a simulated record and a count-level block go through.
 */
export function estimateFromTally(
  cls: readonly IntensityClass[],
  sent: Float64Array,
  t: Tally,
  sifted: { readonly qberZ: number; readonly qberX: number; readonly nKey: number },
  opts: EstimateOptions = {},
): Estimates {
  const epsSec = opts.epsSec ?? 1e-10;
  const epsCor = opts.epsCor ?? 1e-15;
  const qberThreshold = opts.qberThreshold ?? 0.11;
  const f = opts.errorCorrectionEfficiency ?? 1.22;
  if (!(epsSec > 0 && epsSec < 1)) throw new RangeError(`epsSec must be in (0, 1), got ${epsSec}`);
  if (!(qberThreshold > 0 && qberThreshold <= 0.5))
    throw new RangeError(`qberThreshold must be in (0, 0.5], got ${qberThreshold}`);
  const { detected, errors } = t;
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  const classes: ClassEstimate[] = cls.map((c, k) => {
    const i = k * 4;
    return {
      name: c.name,
      mu: c.mu,
      gain: ratio(
        detected[i]! + detected[i + 1]! + detected[i + 2]! + detected[i + 3]!,
        sent[i]! + sent[i + 1]! + sent[i + 2]! + sent[i + 3]!,
      ),
      qberZ: ratio(errors[i]!, detected[i]!),
      qberX: ratio(errors[i + 3]!, detected[i + 3]!),
    };
  });
  const { qberZ, qberX } = sifted;
  const base = { qberZ, qberX, qber: qberX, classes, epsSec, qberThreshold };

  // Lim et al. need three classes with μ1 > μ2 + μ3, μ2 > μ3 ≥ 0; order them by μ.
  const order = cls.map((_, k) => k).sort((x, y) => cls[y]!.mu - cls[x]!.mu);
  const valid =
    order.length === 3 &&
    cls[order[0]!]!.mu > cls[order[1]!]!.mu + cls[order[2]!]!.mu &&
    cls[order[1]!]!.mu > cls[order[2]!]!.mu;
  if (!valid) {
    return {
      ...base,
      asymptotic: { y1Lower: 0, e1Upper: 0.5 },
      y1Lower: 0,
      e1Upper: 0.5,
      limCounts: null,
      bound: { sKey0: 0, sKey1: 0, sTest1: 0, vTest1: 0, phaseError: 0.5 },
      keyLengthBits: 0,
      secure: false,
      reason: 'decoy-inconsistent',
    };
  }
  const three = <T>(g: (k: number) => T) => order.map(g) as [T, T, T];
  const mu = three((k) => cls[k]!.mu);
  const limCounts: Lim2014Counts = {
    mu,
    p: three((k) => cls[k]!.probability),
    nKey: three((k) => detected[k * 4]!),
    nTest: three((k) => detected[k * 4 + 3]!),
    mTest: three((k) => errors[k * 4 + 3]!),
  };
  const zGain = three((k) => ratio(detected[k * 4]!, sent[k * 4]!));
  const xGain = three((k) => ratio(detected[k * 4 + 3]!, sent[k * 4 + 3]!));
  const xErr = three((k) => ratio(errors[k * 4 + 3]!, sent[k * 4 + 3]!));
  const asymZ = asymptoticDecoy(mu, zGain, xErr);
  const asymX = asymptoticDecoy(mu, xGain, xErr);
  const asymptotic = { y1Lower: asymZ.y1Lower, e1Upper: asymX.e1Upper };
  const bound = lim2014Bounds(limCounts, epsSec);
  const nZZ = three((k) => sent[k * 4]!).reduce((s, v) => s + v, 0);
  const y1Lower = ratio(bound.sKey1, nZZ * tau(1, limCounts.mu, limCounts.p));
  const nKey = sifted.nKey;
  const leak = f * nKey * binaryEntropy(qberZ);
  const keyLengthBits = lim2014KeyLength(bound, leak, epsSec, epsCor);
  const out = {
    ...base,
    asymptotic,
    y1Lower,
    e1Upper: bound.phaseError,
    limCounts,
    bound,
    keyLengthBits,
  };
  const asymptoticLength = bound.sKey0 + bound.sKey1 * (1 - binaryEntropy(asymX.e1Upper)) - leak;
  const reason = verdict(
    limCounts,
    epsSec,
    qberZ,
    qberX,
    qberThreshold,
    y1Lower,
    asymptotic,
    bound.phaseError,
    keyLengthBits,
    asymptoticLength,
  );
  return reason ? { ...out, secure: false, reason } : { ...out, secure: true };
}

function verdict(
  c: Lim2014Counts,
  epsSec: number,
  qberZ: number,
  qberX: number,
  threshold: number,
  y1Lower: number,
  asymptotic: { y1Lower: number; e1Upper: number },
  phaseError: number,
  keyLengthBits: number,
  asymptoticLength: number,
): EstimateFailure | undefined {
  for (const counts of [c.nKey, c.nTest]) {
    const delta = hoeffdingDelta(counts[0] + counts[1] + counts[2], epsSec / 21);
    if (counts[0] <= delta || counts[1] <= delta) return 'too-few-counts';
  }
  if (qberZ > threshold || qberX > threshold) return 'qber-above-threshold';
  // Inconsistent decoy statistics show without finite-size corrections; a bound that only the
  // finite-size terms push to zero means the block is too small.
  if (!(asymptotic.y1Lower > 0) || !(asymptotic.e1Upper < 0.5)) return 'decoy-inconsistent';
  if (!(y1Lower > 0) || !(phaseError < 0.5)) return 'too-few-counts';
  // No key: blame the finite-size penalty only if the asymptotic phase error would have left a key.
  if (keyLengthBits <= 0) return asymptoticLength > 0 ? 'too-few-counts' : 'qber-above-threshold';
  return undefined;
}
