/**
 * A discrete-event simulation kernel in the style of SimPy (Team SimPy, "SimPy: discrete event simulation
 * for Python", simpy.readthedocs.io): time advances from event to event; events are callbacks held in a
 * queue ordered by (time, priority, sequence) so simultaneous events keep a stable order; time is an
 * integer number of nanoseconds (exact in a double up to 2^53 ns ≈ 104 days); each entity draws from its
 * own seeded random stream (`rng(name)`), so adding an entity never changes another's numbers. An
 * exception thrown by an event handler is not swallowed: the run stops, the kernel is marked failed and
 * `SimulationFailure` (carrying the time and the event's label) propagates to the caller.
 */
import { createRng, type Rng } from '../common/index.ts';
import { EventQueue, type QueueEntry } from './queue.ts';

/** What a scheduled event runs: a callback given the kernel. */
export type EventHandler = (sim: Simulation) => void;

interface Scheduled {
  readonly handler: EventHandler;
  readonly label: string;
}

/** A handle on a scheduled event; `cancel()` is lazy and idempotent. */
export interface EventHandle {
  readonly timeNs: number;
  readonly label: string;
  cancel(): void;
  /** True once the event ran or was cancelled. */
  readonly done: boolean;
}

/** Options of one scheduled event. */
export interface ScheduleOptions {
  /** Lower runs first among events at the same time; default 0. */
  readonly priority?: number;
  /** Names the event in failures and traces. */
  readonly label?: string;
}

/** An unhandled exception inside an event handler; the run stopped at `timeNs`. */
export class SimulationFailure extends Error {
  readonly timeNs: number;
  readonly label: string;
  constructor(timeNs: number, label: string, cause: unknown) {
    super(
      `simulation failed at t=${timeNs} ns in event "${label}": ${(cause as Error)?.message ?? String(cause)}`,
      {
        cause,
      },
    );
    this.name = 'SimulationFailure';
    this.timeNs = timeNs;
    this.label = label;
  }
}

/** The simulation kernel: a clock, an event queue and seeded random streams. */
export class Simulation {
  readonly #queue = new EventQueue<Scheduled>();
  readonly #root: Rng;
  readonly #streams = new Map<string, Rng>();
  #nowNs = 0;
  #processed = 0;
  #failure: SimulationFailure | undefined;

  /** A kernel whose random streams all derive from `seed`. */
  constructor(seed: number | string = 1) {
    this.#root = createRng(seed);
  }

  /** Current simulated time, integer ns. */
  get nowNs(): number {
    return this.#nowNs;
  }

  /** Events executed so far. */
  get processed(): number {
    return this.#processed;
  }

  /** Events waiting (cancelled ones excluded). */
  get pending(): number {
    return this.#queue.size;
  }

  /** Time of the next live event, or undefined. */
  peekNs(): number | undefined {
    return this.#queue.peek()?.timeNs;
  }

  /** The failure that stopped the run, if any. */
  get failure(): SimulationFailure | undefined {
    return this.#failure;
  }

  /** The seeded random stream of entity `name` (the same object on every call). */
  rng(name: string): Rng {
    let r = this.#streams.get(name);
    if (r === undefined) {
      r = this.#root.stream(name);
      this.#streams.set(name, r);
    }
    return r;
  }

  /** Schedules `handler` after `delayNs` (integer ≥ 0). */
  schedule(delayNs: number, handler: EventHandler, opts: ScheduleOptions = {}): EventHandle {
    if (!Number.isSafeInteger(delayNs) || delayNs < 0)
      throw new RangeError(`delayNs must be a non-negative integer, got ${delayNs}`);
    return this.at(this.#nowNs + delayNs, handler, opts);
  }

  /** Schedules `handler` at absolute time `timeNs` (not in the past). */
  at(timeNs: number, handler: EventHandler, opts: ScheduleOptions = {}): EventHandle {
    if (timeNs < this.#nowNs)
      throw new RangeError(`cannot schedule at ${timeNs} ns: now is ${this.#nowNs} ns`);
    const entry = this.#queue.push(timeNs, opts.priority ?? 0, { handler, label: opts.label ?? 'event' });
    return this.#handle(entry);
  }

  /**
   * Runs `handler` every `periodNs` starting after `firstDelayNs` (default one period) until the returned
   * handle is cancelled or the handler returns `false`.
   */
  every(
    periodNs: number,
    handler: (sim: Simulation) => boolean | void,
    opts: ScheduleOptions & { firstDelayNs?: number } = {},
  ): EventHandle {
    if (!Number.isSafeInteger(periodNs) || periodNs <= 0)
      throw new RangeError(`periodNs must be a positive integer, got ${periodNs}`);
    let current: EventHandle;
    let stopped = false;
    const tick: EventHandler = (sim) => {
      if (handler(sim) === false) stopped = true;
      else if (!stopped) current = sim.schedule(periodNs, tick, opts);
    };
    current = this.schedule(opts.firstDelayNs ?? periodNs, tick, opts);
    return {
      get timeNs() {
        return current.timeNs;
      },
      label: opts.label ?? 'every',
      cancel: () => {
        stopped = true;
        current.cancel();
      },
      get done() {
        return stopped;
      },
    };
  }

  /** Executes the next event; false when the queue is empty. Throws SimulationFailure on a handler error. */
  step(): boolean {
    if (this.#failure) throw this.#failure;
    const entry = this.#queue.pop();
    if (entry === undefined) return false;
    this.#nowNs = entry.timeNs;
    this.#processed++;
    try {
      entry.payload.handler(this);
    } catch (e) {
      this.#failure = new SimulationFailure(entry.timeNs, entry.payload.label, e);
      throw this.#failure;
    }
    return true;
  }

  /**
   * Runs events with time ≤ `untilNs` (or until the queue empties when omitted), then sets the clock to
   * `untilNs`. Returns the number of events executed.
   */
  run(untilNs?: number): number {
    if (untilNs !== undefined && (!Number.isSafeInteger(untilNs) || untilNs < this.#nowNs))
      throw new RangeError(`run(untilNs): ${untilNs} is not an integer ≥ now (${this.#nowNs})`);
    const start = this.#processed;
    for (;;) {
      const next = this.#queue.peek();
      if (next === undefined || (untilNs !== undefined && next.timeNs > untilNs)) break;
      this.step();
    }
    if (untilNs !== undefined) this.#nowNs = untilNs;
    return this.#processed - start;
  }

  #handle(entry: QueueEntry<Scheduled>): EventHandle {
    const queue = this.#queue;
    return {
      timeNs: entry.timeNs,
      label: entry.payload.label,
      cancel: () => queue.cancel(entry),
      get done() {
        return entry.cancelled;
      },
    };
  }
}
