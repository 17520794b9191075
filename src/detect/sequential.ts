/**
 * Sequential tests on the QBER of one basis: Page's CUSUM (E. S. Page, "Continuous inspection schemes",
 * Biometrika 41, 1954) and Wald's SPRT (A. Wald, "Sequential tests of statistical hypotheses", Ann. Math.
 * Stat. 16, 1945), both on the log-likelihood ratio of H₁: e = e₀ + δ against H₀: e = e₀.
 *
 * One observation is one block: k errors in n sifted bits of each intensity class give
 * Λ = Σ_c [k_c·ln(e₁/e₀) + (n_c − k_c)·ln((1−e₁)/(1−e₀))]. Under H₀, E[e^Λ] = 1, so e^{S} of the running sum
 * is a non-negative martingale and Ville's inequality bounds P(sup S ≥ h) ≤ e^{−h}. Hence:
 *  - SPRT with upper bound A = ln(1/α) raises a false alarm in one test with probability ≤ α (Wald's
 *    bound); each test spans ≥ 1 block, so false alarms per block ≤ α. The lower bound ln(β/(1−α)) ends a
 *    test in favour of H₀ and the next test starts (repeated SPRT).
 *  - CUSUM S_t = max(0, S_{t−1} + Λ_t) with threshold h = ln(1/α) has in-control average run length
 *    ≥ e^h = 1/α blocks (Lorden 1971), i.e. a long-run false-alarm rate ≤ α per block.
 */

/** Errors and sifted bits of one intensity class in one basis, with its calibrated error probability. */
export interface ErrorObservation {
  readonly sifted: number;
  readonly errors: number;
  /** Calibrated e₀ of this class and basis. */
  readonly errorProb: number;
  /** Over-dispersion φ ≥ 1 of the error count (model.ts); the LLR is divided by it (quasi-likelihood). */
  readonly dispersion?: number;
}

/** Log-likelihood ratio of one block for a QBER shift of `shift` (absolute), summed over classes. */
export function qberLogLikelihoodRatio(obs: readonly ErrorObservation[], shift: number): number {
  let llr = 0;
  for (const o of obs) {
    const e0 = o.errorProb;
    const e1 = Math.min(0.5, e0 + shift);
    if (!(e1 > e0) || !(e0 > 0) || o.sifted === 0) continue; // no information (e.g. vacuum at e₀ = ½)
    const phi = o.dispersion !== undefined && o.dispersion > 1 ? o.dispersion : 1;
    llr += (o.errors * Math.log(e1 / e0) + (o.sifted - o.errors) * Math.log((1 - e1) / (1 - e0))) / phi;
  }
  return llr;
}

/** State and result of a one-sided sequential test after a block. */
export interface SequentialResult {
  /** The statistic after this block (nats). */
  readonly statistic: number;
  readonly threshold: number;
  readonly alarm: boolean;
  /** Blocks in the current run (since the last reset), including this one. */
  readonly runBlocks: number;
}

/** Page's CUSUM on block LLRs; `threshold` h = ln(1/α) for α false alarms per block. */
export class Cusum {
  readonly threshold: number;
  #s = 0;
  #run = 0;

  /** A CUSUM whose long-run false-alarm rate is at most `falseAlarmPerBlock`. */
  constructor(falseAlarmPerBlock: number) {
    if (!(falseAlarmPerBlock > 0 && falseAlarmPerBlock < 1))
      throw new RangeError(`falseAlarmPerBlock must be in (0, 1), got ${falseAlarmPerBlock}`);
    this.threshold = Math.log(1 / falseAlarmPerBlock);
  }

  /** Adds one block's LLR; on alarm the statistic restarts from 0 (after reporting). */
  update(llr: number): SequentialResult {
    this.#s = Math.max(0, this.#s + llr);
    this.#run = this.#s === 0 ? 0 : this.#run + 1;
    const result = {
      statistic: this.#s,
      threshold: this.threshold,
      alarm: this.#s >= this.threshold,
      runBlocks: Math.max(1, this.#run),
    };
    if (result.alarm) this.reset();
    return result;
  }

  reset(): void {
    this.#s = 0;
    this.#run = 0;
  }
}

/** Repeated SPRT: alarm at ln(1/α), accept H₀ and restart at ln(β/(1−α)). */
export class Sprt {
  readonly threshold: number;
  readonly lowerBound: number;
  #s = 0;
  #run = 0;

  /** `falseAlarmPerBlock` = α, `missProbability` = β (per test). */
  constructor(falseAlarmPerBlock: number, missProbability = 0.01) {
    if (!(falseAlarmPerBlock > 0 && falseAlarmPerBlock < 1))
      throw new RangeError(`falseAlarmPerBlock must be in (0, 1), got ${falseAlarmPerBlock}`);
    if (!(missProbability > 0 && missProbability < 1))
      throw new RangeError(`missProbability must be in (0, 1), got ${missProbability}`);
    this.threshold = Math.log(1 / falseAlarmPerBlock);
    this.lowerBound = Math.log(missProbability / (1 - falseAlarmPerBlock));
  }

  /** Adds one block's LLR. */
  update(llr: number): SequentialResult {
    this.#s += llr;
    this.#run += 1;
    const result = {
      statistic: this.#s,
      threshold: this.threshold,
      alarm: this.#s >= this.threshold,
      runBlocks: this.#run,
    };
    if (result.alarm || this.#s <= this.lowerBound) this.reset();
    return result;
  }

  reset(): void {
    this.#s = 0;
    this.#run = 0;
  }
}
