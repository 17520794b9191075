/**
 * Detectors on key-management and network telemetry: key-pool depletion, request floods and repeated
 * TLS/authorization failures at a KME (denial of service and intrusion).
 *
 * - Key pool: below the low-water mark → applications on the link switch to PQC-only (`pqc-only`), re-armed
 *   with hysteresis once the pool refills above 2× the mark; a falling pool that will empty within
 *   `exhaustionHorizonS` at its current slope → early warning (`notify`).
 * - Request flood: rate above `floodFactor` × its exponentially weighted baseline (and above
 *   `minFloodRateHz`), after `warmupSamples` samples; flood samples do not update the baseline.
 * - Authorization failures: failures in a sliding window are Poisson with mean λ₀·T under normal operation
 *   (λ₀ = `baselineAuthFailureRateHz`); an alarm when P(N ≥ n) ≤ `falseAlarmProbability` and
 *   n ≥ `minAuthFailures`. The Poisson tail is the binomial tail with n = 10¹², p = λ₀T/10¹² (exact to
 *   ~10⁻¹² relative).
 */
import type { TelemetrySample } from './deps.ts';
import type { Finding } from './finding.ts';
import { binomialUpperTail } from './stats.ts';

/** Operator settings of the KME/network detectors. */
export interface KmeDetectorConfig {
  readonly lowWaterBits: number;
  readonly exhaustionHorizonS: number;
  readonly floodFactor: number;
  readonly minFloodRateHz: number;
  readonly warmupSamples: number;
  /** Weight of a new sample in the request-rate baseline (EWMA). */
  readonly baselineWeight: number;
  readonly baselineAuthFailureRateHz: number;
  readonly authWindowS: number;
  readonly minAuthFailures: number;
  readonly falseAlarmProbability: number;
}

/** Defaults suited to the demo network: 64 kbit low water, 10× floods, 5 failures in 60 s. */
export const DEFAULT_KME_CONFIG: KmeDetectorConfig = {
  lowWaterBits: 65_536,
  exhaustionHorizonS: 60,
  floodFactor: 10,
  minFloodRateHz: 50,
  warmupSamples: 5,
  baselineWeight: 0.1,
  baselineAuthFailureRateHz: 0.01,
  authWindowS: 60,
  minAuthFailures: 5,
  falseAlarmProbability: 1e-3,
};

const POISSON_N = 1e12;

/** Detectors for one KME or link, fed with its telemetry in time order. */
export class KmeDetectors {
  readonly config: KmeDetectorConfig;
  #lowArmed = true;
  #trendArmed = true;
  #last?: { timeNs: number; pool?: number };
  #baselineHz?: number;
  #samples = 0;
  #failures: { timeNs: number; count: number }[] = [];
  #floodActive = false;

  constructor(config: Partial<KmeDetectorConfig> = {}) {
    this.config = { ...DEFAULT_KME_CONFIG, ...config };
    if (!(this.config.floodFactor > 1)) throw new RangeError('floodFactor must exceed 1');
  }

  /** Findings for one sample (each condition reported once when it starts). */
  observe(s: TelemetrySample): Finding[] {
    const out: Finding[] = [];
    const dtS = this.#last ? (s.timeNs - this.#last.timeNs) / 1e9 : (s.blockDurationS ?? 0);
    if (s.keyPoolBits !== undefined) this.#pool(s.keyPoolBits, dtS, out);
    if (s.requestRateHz !== undefined) this.#flood(s.requestRateHz, out);
    if (s.authFailureRateHz !== undefined) this.#auth(s, dtS, out);
    this.#last = { timeNs: s.timeNs, ...(s.keyPoolBits !== undefined ? { pool: s.keyPoolBits } : {}) };
    return out;
  }

  #pool(bits: number, dtS: number, out: Finding[]): void {
    const c = this.config;
    if (bits >= 2 * c.lowWaterBits) this.#lowArmed = this.#trendArmed = true;
    if (bits < c.lowWaterBits && this.#lowArmed) {
      this.#lowArmed = false;
      out.push({
        kind: 'key-exhaustion',
        statistic: 'key-pool-bits',
        value: bits,
        threshold: c.lowWaterBits,
        window: 'now',
        action: 'pqc-only',
        severity: 'warning',
        message: `Key pool at ${bits} bits, below the low-water mark of ${c.lowWaterBits}: applications switch to PQC-only`,
      });
      return;
    }
    const prev = this.#last?.pool;
    if (!this.#lowArmed) return; // already below the mark: PQC-only is in force, no trend warning
    if (prev === undefined || !(dtS > 0) || !this.#trendArmed || bits >= prev) return;
    const secondsLeft = bits / ((prev - bits) / dtS);
    if (secondsLeft < c.exhaustionHorizonS) {
      this.#trendArmed = false;
      out.push({
        kind: 'key-depletion-trend',
        statistic: 'seconds-to-empty',
        value: secondsLeft,
        threshold: c.exhaustionHorizonS,
        window: `${dtS.toFixed(1)} s`,
        action: 'notify',
        message: `Key pool (${bits} bits) will be empty in ${secondsLeft.toFixed(0)} s at the current draw`,
      });
    }
  }

  #flood(rateHz: number, out: Finding[]): void {
    const c = this.config;
    const base = this.#baselineHz;
    const limit = base === undefined ? Infinity : Math.max(c.minFloodRateHz, c.floodFactor * base);
    const flooding = this.#samples >= c.warmupSamples && rateHz > limit;
    if (flooding && !this.#floodActive)
      out.push({
        kind: 'request-flood',
        statistic: 'request-rate-hz',
        value: rateHz,
        threshold: limit,
        window: 'ewma',
        action: 'notify',
        severity: 'critical',
        message: `Key requests at ${rateHz.toFixed(1)}/s exceed ${limit.toFixed(1)}/s (${c.floodFactor}× baseline): possible denial of service`,
      });
    this.#floodActive = flooding;
    if (!flooding) {
      this.#baselineHz = base === undefined ? rateHz : base + c.baselineWeight * (rateHz - base);
      this.#samples++;
    }
  }

  #auth(s: TelemetrySample, dtS: number, out: Finding[]): void {
    const c = this.config;
    const count = (s.authFailureRateHz ?? 0) * Math.max(0, dtS);
    const wasAlarming = this.#windowCount() >= this.#critical();
    this.#failures.push({ timeNs: s.timeNs, count });
    const since = s.timeNs - c.authWindowS * 1e9;
    this.#failures = this.#failures.filter((f) => f.timeNs > since);
    const n = this.#windowCount();
    const crit = this.#critical();
    if (n >= crit && !wasAlarming)
      out.push({
        kind: 'auth-failures',
        statistic: 'auth-failures-in-window',
        value: n,
        threshold: crit,
        window: `${c.authWindowS} s`,
        pValue: binomialUpperTail(
          Math.floor(n),
          POISSON_N,
          (c.baselineAuthFailureRateHz * c.authWindowS) / POISSON_N,
        ),
        action: 'notify',
        severity: 'critical',
        message: `${Math.round(n)} TLS/authorization failures in ${c.authWindowS} s (threshold ${crit}): possible intrusion attempt`,
      });
  }

  #windowCount(): number {
    return this.#failures.reduce((a, f) => a + f.count, 0);
  }

  /** Smallest failure count that is an alarm. */
  #critical(): number {
    const c = this.config;
    const p = (c.baselineAuthFailureRateHz * c.authWindowS) / POISSON_N;
    let k = c.minAuthFailures;
    while (binomialUpperTail(k, POISSON_N, p) > c.falseAlarmProbability) k++;
    return k;
  }
}
