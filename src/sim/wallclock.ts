// @edge: paces simulated time by the wall clock (performance.now and timers) for live runs.
/**
 * Wall-clock-paced mode of the kernel for live runs (the dashboard's demo network): every `tickMs` of
 * real time the kernel runs up to `speed × elapsed real time`, so one real second shows `speed` simulated
 * seconds. Pausing, resuming and changing the speed keep simulated time continuous. Events stay ordered
 * by the kernel exactly as in an as-fast-as-possible run; only the moments they are shown change.
 */
import { performance } from 'node:perf_hooks';
import type { Simulation } from './kernel.ts';

/** Options of a paced run. */
export interface WallClockOptions {
  /** Simulated seconds per real second (default 1). */
  readonly speed?: number;
  /** Real milliseconds between advances (default 100). */
  readonly tickMs?: number;
  /** Stop when simulated time reaches this (ns); default: run until stopped. */
  readonly untilNs?: number;
  /** Called after each advance with the simulated time. */
  readonly onTick?: (nowNs: number) => void;
  /** Called if an event handler fails (the runner stops); default: rethrow asynchronously. */
  readonly onError?: (error: unknown) => void;
}

/** Drives a Simulation in real time; create with `new WallClockRunner(sim, opts).start()`. */
export class WallClockRunner {
  readonly #sim: Simulation;
  readonly #tickMs: number;
  readonly #untilNs: number | undefined;
  readonly #onTick: ((nowNs: number) => void) | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;
  #speed: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #anchorRealMs = 0;
  #anchorSimNs = 0;
  #lagging = false;

  constructor(sim: Simulation, opts: WallClockOptions = {}) {
    this.#sim = sim;
    this.#speed = checkSpeed(opts.speed ?? 1);
    this.#tickMs = opts.tickMs ?? 100;
    this.#untilNs = opts.untilNs;
    this.#onTick = opts.onTick;
    this.#onError = opts.onError;
  }

  /** True while the runner advances the clock. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** True when the last tick could not keep the requested pace (simulated time runs slower). */
  get lagging(): boolean {
    return this.#lagging;
  }

  /** Simulated seconds per real second. */
  get speed(): number {
    return this.#speed;
  }

  /** Starts (or resumes) pacing. */
  start(): this {
    if (this.#timer) return this;
    this.#anchorRealMs = performance.now();
    this.#anchorSimNs = this.#sim.nowNs;
    this.#timer = setInterval(() => this.#advance(), this.#tickMs);
    return this;
  }

  /** Pauses pacing (simulated time stays where it is). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Changes the speed without a jump in simulated time. */
  setSpeed(speed: number): void {
    this.#speed = checkSpeed(speed);
    this.#anchorRealMs = performance.now();
    this.#anchorSimNs = this.#sim.nowNs;
  }

  #advance(): void {
    const nowMs = performance.now();
    const elapsedMs = nowMs - this.#anchorRealMs;
    let target = this.#anchorSimNs + Math.floor(elapsedMs * 1e6 * this.#speed);
    // Never try to catch up more than one tick's worth at a time: if the machine cannot keep the pace,
    // simulated time slows down (and `lagging` says so) instead of blocking the event loop ever longer.
    const maxStepNs = Math.ceil(this.#tickMs * 1e6 * this.#speed);
    if (target - this.#sim.nowNs > 2 * maxStepNs) {
      target = this.#sim.nowNs + maxStepNs;
      this.#anchorRealMs = nowMs;
      this.#anchorSimNs = target;
      this.#lagging = true;
    } else this.#lagging = false;
    if (this.#untilNs !== undefined) target = Math.min(target, this.#untilNs);
    try {
      if (target > this.#sim.nowNs) this.#sim.run(target);
      this.#onTick?.(this.#sim.nowNs);
    } catch (e) {
      this.stop();
      if (this.#onError) this.#onError(e);
      else throw e;
    }
    if (this.#untilNs !== undefined && this.#sim.nowNs >= this.#untilNs) this.stop();
  }
}

function checkSpeed(speed: number): number {
  if (!(speed > 0) || !Number.isFinite(speed))
    throw new RangeError(`speed must be a positive number, got ${speed}`);
  return speed;
}
