/**
 * The detectors on a link's quantum statistics, run once per block against the calibrated model.
 *
 * Each test is a binomial (or, for continuous readings, Gaussian) tail test whose level is the operator's
 * false-alarm budget per block divided by the number of tests (Bonferroni: P(any false alarm) ≤ Σ αᵢ).
 * What each test watches, and the attack it reveals:
 *  - errors per class and basis, upper tail → intercept-resend and other QBER-raising attacks (`qber-high`);
 *    lower tail → a QBER too low for the channel: faked states from a blinding attack (`qber-too-low`)
 *    (L. Lydersen et al., Nature Photonics 4, 686, 2010);
 *  - CUSUM and SPRT on the QBER per basis (sequential.ts) → small persistent shifts;
 *  - detections per class and basis against the gains Q_μ → decoy inconsistency, the signature of
 *    photon-number splitting (W.-Y. Hwang, PRL 91, 057901, 2003; Lo, Ma, Chen, PRL 94, 230504, 2005);
 *  - total detections → collapse (`fiber-cut`: below `collapseRatio` of expected), drop, or surge (`jamming`);
 *  - sifted share of detections and Bob's basis shares → basis-dependent efficiency, exploited by
 *    blinding and time-shift (B. Qi et al., Quantum Inf. Comput. 7, 73, 2007) (`detector-control`);
 *  - double clicks → blinded detectors stop producing them, bright light and photon-number splitting (multi-photon
 *    pulses forwarded over a lossless line) raise them (`double-click-rate`; attribution.ts weighs the side);
 *  - Alice's monitor-photodiode power → Trojan-horse light (N. Gisin et al., PRA 73, 022320, 2006);
 *  - countermeasures, where the link has them: the trips of a bright-light watchdog at Bob against
 *    Binomial(windows, its false-trip probability) → blinding light (`bright-light`; src/qkd
 *    bright-light-watchdog.ts), and detections off-centre in the gate against their calibrated rate →
 *    time-shifted pulses (`gate-timing`; src/qkd detector-randomisation.ts).
 */
import { WATCHDOG_FALSE_TRIP, type BasisName, type TelemetrySample } from './deps.ts';
import type { CalibratedModel } from './model.ts';
import { bobZShare } from './model.ts';
import { binomialTest, gaussianTest } from './binomial-test.ts';
import { Cusum, qberLogLikelihoodRatio, Sprt, type ErrorObservation } from './sequential.ts';
import { normalUpperQuantile } from './stats.ts';
import type { Finding } from './finding.ts';
import { DisturbanceShape, type ShapeEvidence } from './disturbance-shape.ts';

/** Operator settings of the quantum detectors. */
export interface QuantumDetectorConfig {
  /** Total false-alarm budget per attack-free block, shared by all tests. */
  readonly falseAlarmPerBlock: number;
  /** QBER shift δ (absolute) the CUSUM and SPRT are tuned to detect. */
  readonly qberShift: number;
  /** SPRT miss probability β per test. */
  readonly sprtMissProbability: number;
  /** Detections below this fraction of expected are a fiber cut rather than extra loss. */
  readonly collapseRatio: number;
}

/** Defaults: the 10⁻³ false alarms per block; δ = 0.5% QBER. */
export const DEFAULT_QUANTUM_CONFIG: QuantumDetectorConfig = {
  falseAlarmPerBlock: 1e-3,
  qberShift: 0.005,
  sprtMissProbability: 0.01,
  collapseRatio: 0.2,
};

const BASES: readonly BasisName[] = ['Z', 'X'];

/** Runs every quantum test on each block; stateful only through the sequential tests. */
export class QuantumDetectors {
  readonly model: CalibratedModel;
  readonly config: QuantumDetectorConfig;
  /** Number of one-sided tests the budget is split over. */
  readonly testCount: number;
  /** Level of each test: falseAlarmPerBlock / testCount. */
  readonly perTestAlpha: number;
  readonly #cusum: Record<BasisName, Cusum>;
  readonly #sprt: Record<BasisName, Sprt>;
  readonly #shape: DisturbanceShape;

  constructor(model: CalibratedModel, config: Partial<QuantumDetectorConfig> = {}) {
    this.model = model;
    this.config = { ...DEFAULT_QUANTUM_CONFIG, ...config };
    const { falseAlarmPerBlock: fa } = this.config;
    if (!(fa > 0 && fa < 1)) throw new RangeError(`falseAlarmPerBlock must be in (0, 1), got ${fa}`);
    if (!(this.config.qberShift > 0 && this.config.qberShift < 0.5))
      throw new RangeError(`qberShift must be in (0, 0.5), got ${this.config.qberShift}`);
    // per class and basis: errors ×2, detections ×2, sift ×2; totals ×2; double clicks ×2;
    // Bob's basis share ×2; monitor ×1; CUSUM ×2; SPRT ×2
    this.testCount =
      model.classes.length * 2 * 6 +
      2 +
      2 +
      (model.bobBasisZShare ? 2 : 0) +
      (model.monitorPowerW ? 1 : 0) +
      (model.watchdog ? 1 : 0) +
      (model.gateEdgeProb !== undefined ? 1 : 0) +
      4;
    this.perTestAlpha = fa / this.testCount;
    const cusum = () => new Cusum(this.perTestAlpha);
    const sprt = () => new Sprt(this.perTestAlpha, this.config.sprtMissProbability);
    this.#cusum = { Z: cusum(), X: cusum() };
    this.#sprt = { Z: sprt(), X: sprt() };
    this.#shape = new DisturbanceShape(model);
  }

  /** Restarts the sequential tests (after the link is restored). */
  reset(): void {
    for (const b of BASES) {
      this.#cusum[b].reset();
      this.#sprt[b].reset();
    }
    this.#shape.reset();
  }

  /**
   * Background light or resent states: the disturbance-shape likelihood ratio over the recent blocks
   * (disturbance-shape.ts), for attribution when a QBER detector fired.
   */
  shape(): ShapeEvidence | undefined {
    return this.#shape.evidence();
  }

  /** All findings for one block (empty when the block is consistent with the model). */
  observe(s: TelemetrySample): Finding[] {
    const out: Finding[] = [];
    const window = s.blockId === undefined ? 'block' : `block ${s.blockId}`;
    const a = this.perTestAlpha;
    const m = this.model;
    const phi = (key: string) => m.dispersion?.[key] ?? 1;
    let expectedDetections = 0;
    let observedDetections = 0;
    let pulsesCounted = 0;
    this.#shape.update(s);
    for (const b of BASES) {
      const errObs: ErrorObservation[] = [];
      for (const c of m.classes) {
        const k = s.counts?.[c.name]?.[b];
        if (!k) continue;
        const tag = `${c.name},${b}`;
        expectedDetections += k.sent * c.detectProb[b];
        observedDetections += k.detected;
        pulsesCounted += k.sent;
        errObs.push({
          sifted: k.sifted,
          errors: k.errors,
          errorProb: c.errorProb[b],
          dispersion: phi(`qber[${tag}]`),
        });
        const err = binomialTest(k.errors, k.sifted, c.errorProb[b], a, a, phi(`qber[${tag}]`));
        if (err.side) {
          const kind = isVacuum(c)
            ? 'decoy-inconsistent'
            : err.side === 'high'
              ? 'qber-high'
              : 'qber-too-low';
          out.push(rateFinding(kind, `qber[${tag}]`, err, window, 'quarantine-link'));
        }
        const det = binomialTest(k.detected, k.sent, c.detectProb[b], a, a, phi(`gain[${tag}]`));
        if (det.side)
          out.push(rateFinding('decoy-inconsistent', `gain[${tag}]`, det, window, 'quarantine-link'));
        const sift = binomialTest(k.sifted, k.detected, c.siftProb[b], a, a, phi(`sifted-share[${tag}]`));
        if (sift.side)
          out.push(rateFinding('detector-control', `sifted-share[${tag}]`, sift, window, 'quarantine-link'));
      }
      this.#sequential(b, errObs, s, out);
    }
    if (pulsesCounted > 0) {
      const meanP = expectedDetections / pulsesCounted;
      const tot = binomialTest(observedDetections, pulsesCounted, meanP, a, a, phi('detections-per-pulse'));
      if (tot.side) {
        const ratio = observedDetections / Math.max(expectedDetections, 1e-300);
        const kind =
          tot.side === 'high'
            ? 'jamming'
            : ratio < this.config.collapseRatio
              ? 'fiber-cut'
              : 'click-rate-drop';
        out.push(rateFinding(kind, 'detections-per-pulse', tot, window, 'quarantine-link'));
      }
    }
    if (s.detections !== undefined && s.doubleClicks !== undefined) {
      const dc = binomialTest(
        s.doubleClicks,
        s.detections,
        m.doubleClickProb,
        a,
        a,
        phi('double-clicks-per-detection'),
      );
      if (dc.side)
        out.push(
          rateFinding('double-click-rate', 'double-clicks-per-detection', dc, window, 'quarantine-link'),
        );
    }
    this.#gaussianChecks(s, window, out);
    this.#countermeasures(s, window, out);
    return out;
  }

  #countermeasures(s: TelemetrySample, window: string, out: Finding[]): void {
    const a = this.perTestAlpha;
    const m = this.model;
    if (m.watchdog && s.watchdogWindows !== undefined && s.watchdogTrips !== undefined) {
      const w = binomialTest(s.watchdogTrips, s.watchdogWindows, WATCHDOG_FALSE_TRIP, a, 0);
      if (w.side)
        out.push({
          ...rateFinding('bright-light', 'watchdog-trips-per-window', w, window, 'quarantine-link'),
          message: `Bright light at Bob's detectors (blinding?): the watchdog tripped in ${s.watchdogTrips} of ${s.watchdogWindows} windows, above its upper limit ${w.criticalRate.toExponential(3)} per window (p = ${w.pValue.toExponential(2)})`,
        });
    }
    if (m.gateEdgeProb !== undefined && s.gateEdgeDetections !== undefined && s.detections) {
      const g = binomialTest(s.gateEdgeDetections, s.detections, m.gateEdgeProb, a, 0);
      if (g.side) out.push(rateFinding('gate-timing', 'gate-edge-share', g, window, 'quarantine-link'));
    }
  }

  #sequential(b: BasisName, obs: ErrorObservation[], s: TelemetrySample, out: Finding[]): void {
    if (obs.length === 0) return;
    const llr = qberLogLikelihoodRatio(obs, this.config.qberShift);
    const tests = [
      ['qber-cusum', this.#cusum[b].update(llr)],
      ['qber-sprt', this.#sprt[b].update(llr)],
    ] as const;
    for (const [kind, r] of tests) {
      if (!r.alarm) continue;
      const last = s.blockId ?? 0;
      out.push({
        kind,
        statistic: `${kind === 'qber-cusum' ? 'cusum' : 'sprt'}-llr[${b}]`,
        value: r.statistic,
        threshold: r.threshold,
        side: 'above',
        window: r.runBlocks > 1 ? `blocks ${last - r.runBlocks + 1}..${last}` : `block ${last}`,
        pValue: Math.exp(-r.statistic),
        action: 'quarantine-link',
        message: `QBER in basis ${b} has shifted up (log-likelihood ratio ${r.statistic.toFixed(1)} ≥ ${r.threshold.toFixed(1)} over ${r.runBlocks} block(s))`,
      });
    }
  }

  #gaussianChecks(s: TelemetrySample, window: string, out: Finding[]): void {
    const m = this.model;
    const z = normalUpperQuantile(this.perTestAlpha);
    const share = bobZShare(s);
    if (m.bobBasisZShare && share !== undefined) {
      const g = m.bobBasisZShare;
      // with the detection count known, Bob's Z detections are Binomial(D, share₀); else Gaussian on the share
      const d = s.detections;
      const bin =
        d !== undefined && d > 0
          ? binomialTest(
              Math.round(share * d),
              d,
              g.mean,
              this.perTestAlpha,
              this.perTestAlpha,
              m.dispersion?.['bob-basis-z-share'] ?? 1,
            )
          : undefined;
      const r = bin
        ? { side: bin.side, threshold: bin.criticalRate }
        : gaussianTest(share, g.mean, g.sd, m.calibrationBlocks, z, z);
      if (r.side)
        out.push({
          kind: 'detector-control',
          statistic: 'bob-basis-z-share',
          value: share,
          threshold: r.threshold,
          side: r.side === 'high' ? 'above' : 'below',
          window,
          pValue: bin?.pValue ?? this.perTestAlpha,
          action: 'quarantine-link',
          message: `Detections depend on Bob's basis: Z share ${share.toFixed(4)} vs calibrated ${g.mean.toFixed(4)}`,
        });
    }
    if (m.monitorPowerW && s.monitorPowerW !== undefined) {
      const g = m.monitorPowerW;
      const r = gaussianTest(s.monitorPowerW, g.mean, g.sd, m.calibrationBlocks, z, 0);
      if (r.side)
        out.push({
          kind: 'trojan-horse',
          statistic: 'monitor-power-w',
          value: s.monitorPowerW,
          threshold: r.threshold,
          side: 'above',
          window,
          pValue: this.perTestAlpha,
          action: 'quarantine-link',
          message: `Light entering Alice's device: monitor photodiode ${s.monitorPowerW.toExponential(3)} W above ${r.threshold.toExponential(3)} W`,
        });
    }
  }
}

/** The vacuum class: μ = 0, or (for a telemetry-calibrated model, where μ is unknown) e₀ near ½. */
function isVacuum(c: CalibratedModel['classes'][number]): boolean {
  return c.mu === 0 || (Number.isNaN(c.mu) && (c.name === 'vacuum' || c.errorProb.Z > 0.25));
}

const DESCRIBE: Readonly<Record<string, string>> = {
  'qber-high': 'QBER above the calibrated channel',
  'qber-too-low': 'QBER too low for the channel (faked states?)',
  'decoy-inconsistent': 'yields inconsistent with the calibrated decoy model (photon-number splitting?)',
  'detector-control': 'detection depends on basis (blinding or time-shift?)',
  jamming: 'detection rate surged (jamming?)',
  'fiber-cut': 'detections collapsed (fiber cut?)',
  'click-rate-drop': 'detection rate dropped (loss or jamming?)',
  'gate-timing': 'detections arrive off-centre in the gate (time-shift?)',
  'double-click-rate':
    'double-click rate off the model (below: blinded detectors; above: photon-number splitting or bright light)',
};

function rateFinding(
  kind: string,
  statistic: string,
  v: { side?: 'high' | 'low'; pValue: number; rate: number; criticalRate: number },
  window: string,
  action: Finding['action'],
): Finding {
  const side = v.side === 'high' ? 'above' : 'below';
  return {
    kind,
    statistic,
    value: v.rate,
    threshold: v.criticalRate,
    side,
    window,
    pValue: v.pValue,
    action,
    message: `${DESCRIBE[kind] ?? kind}: ${statistic} = ${v.rate.toExponential(4)}, ${side} its ${side === 'above' ? 'upper' : 'lower'} limit ${v.criticalRate.toExponential(4)} (p = ${v.pValue.toExponential(2)})`,
  };
}
