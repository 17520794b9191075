/**
 * Which disturbance raised the QBER: resent states or background light? A generalised likelihood ratio
 * between two one-parameter linear models of a link's counts (GLRT for the linear model: S. M. Kay,
 * Fundamentals of Statistical Signal Processing, Vol. II: Detection Theory, Prentice Hall 1998, ch. 7), run
 * over the last few blocks once a QBER detector has fired.
 *
 * Per intensity class c and Alice's basis b, a block splits its pulses' detections into three counts that are
 * independent and ≈ Poisson when detections are rare (Q ≪ 1): errors, correct sifted bits and unsifted
 * detections, with calibrated means N·Q·s·e, N·Q·s·(1−e) and N·Q·(1−s) (N pulses sent, gain Q, sifted
 * share s, error rate e; model.ts). The two explanations move them along different directions g:
 *
 *  - intercept-resend on a fraction f of pulses (Bennett–Brassard 1984; Eve resends at the intensity she
 *    received, so Bob's click rate is unchanged): a detection caused by Alice's light is wrong with
 *    probability ≈ ¼ more; detections from dark counts and afterpulses (the vacuum class's yield Q_vac) are
 *    untouched. Per unit θ = f·(¼ − e_d/2): errors +N·s·(Q − Q_vac), correct −N·s·(Q − Q_vac), unsifted 0.
 *    The QBER shift is the same in every class that carries light; the vacuum class does not move.
 *  - jamming: y extra clicks per gate with random basis and bit, in every class alike (the jammer does not
 *    know the intensity). Per unit y: errors +N·s/2, correct +N·s/2, unsifted +N·(1−s). Detections rise, the
 *    vacuum class most in proportion, and the QBER shift is ∝ 1/Q — largest in the decoy class.
 *
 * With residuals r = observed − calibrated mean and weights w = 1/(mean·φ) (φ: the model's over-dispersion),
 * each model's best non-negative fit removes ½·(Σwrg)₊²/Σwg² from the log-likelihood; their difference
 * Λ = ½[(A_jam)₊²/B_jam − (A_ir)₊²/B_ir] is the log-likelihood ratio of the best jamming explanation over the
 * best intercept-resend one. Blocks are independent, so A and B add over blocks; the window is the last
 * `windowBlocks` blocks since the detectors were last reset. Λ above +limit names background light, below
 * −limit resent states; in between the shape is not decisive and attribution keeps the detectors' own
 * indications. Attribution only consults Λ when a QBER-raising detector fired on the block.
 */
import type { BasisName, TelemetrySample } from './deps.ts';
import type { CalibratedModel } from './model.ts';

const BASES: readonly BasisName[] = ['Z', 'X'];

/** Λ's verdict on the last blocks. */
export interface ShapeEvidence {
  /** Λ, nats: > 0 favours background light (jamming), < 0 resent states (intercept-resend). */
  readonly llr: number;
  readonly limit: number;
  /** `above` +limit: jamming; `below` −limit: intercept-resend; undefined: not decisive. */
  readonly side?: 'above' | 'below';
  readonly blocks: number;
}

interface Sums {
  aIr: number;
  bIr: number;
  aJam: number;
  bJam: number;
}

/** Accumulates the two fits over a sliding window of blocks. */
export class DisturbanceShape {
  readonly #model: CalibratedModel;
  readonly #window: number;
  readonly #limit: number;
  readonly #vacuumGain: Record<BasisName, number>;
  #blocks: Sums[] = [];

  /**
   * `limit` (nats) is the |Λ| a verdict needs: e² ≈ 7 times likelier than the other explanation by default.
   */
  constructor(model: CalibratedModel, windowBlocks = 10, limit = 2) {
    this.#model = model;
    this.#window = windowBlocks;
    this.#limit = limit;
    const vac = model.classes.find((c) => c.mu === 0 || (Number.isNaN(c.mu) && c.name === 'vacuum'));
    this.#vacuumGain = { Z: vac?.detectProb.Z ?? 0, X: vac?.detectProb.X ?? 0 };
  }

  reset(): void {
    this.#blocks = [];
  }

  /** Adds one block's counts. */
  update(s: TelemetrySample): void {
    const m = this.#model;
    const phiOf = (key: string) => Math.max(1, m.dispersion?.[key] ?? 1);
    const sums: Sums = { aIr: 0, bIr: 0, aJam: 0, bJam: 0 };
    const add = (observed: number, mean: number, phi: number, gIr: number, gJam: number) => {
      if (!(mean > 0)) return;
      const w = 1 / (mean * phi);
      const r = observed - mean;
      sums.aIr += w * r * gIr;
      sums.bIr += w * gIr * gIr;
      sums.aJam += w * r * gJam;
      sums.bJam += w * gJam * gJam;
    };
    for (const c of m.classes)
      for (const b of BASES) {
        const k = s.counts?.[c.name]?.[b];
        if (!k || k.sent === 0) continue;
        const n = k.sent;
        const q = c.detectProb[b];
        const sh = c.siftProb[b];
        const e = c.errorProb[b];
        const light = Math.max(0, q - this.#vacuumGain[b]);
        const phiErr = phiOf(`qber[${c.name},${b}]`);
        const phiGain = phiOf(`gain[${c.name},${b}]`);
        add(k.errors, n * q * sh * e, phiErr, n * sh * light, (n * sh) / 2);
        add(k.sifted - k.errors, n * q * sh * (1 - e), phiGain, -n * sh * light, (n * sh) / 2);
        add(k.detected - k.sifted, n * q * (1 - sh), phiGain, 0, n * (1 - sh));
      }
    this.#blocks.push(sums);
    if (this.#blocks.length > this.#window) this.#blocks.shift();
  }

  /** Λ over the window (undefined before any block). */
  evidence(): ShapeEvidence | undefined {
    if (this.#blocks.length === 0) return undefined;
    const t = this.#blocks.reduce(
      (acc, x) => ({
        aIr: acc.aIr + x.aIr,
        bIr: acc.bIr + x.bIr,
        aJam: acc.aJam + x.aJam,
        bJam: acc.bJam + x.bJam,
      }),
      { aIr: 0, bIr: 0, aJam: 0, bJam: 0 },
    );
    const gain = (a: number, b: number) => (b > 0 && a > 0 ? (a * a) / (2 * b) : 0);
    const llr = gain(t.aJam, t.bJam) - gain(t.aIr, t.bIr);
    const side = llr > this.#limit ? 'above' : llr < -this.#limit ? 'below' : undefined;
    return { llr, limit: this.#limit, blocks: this.#blocks.length, ...(side ? { side } : {}) };
  }
}
