/**
 * Worker thread of `qkdnet simulate --seeds` (simulate-sweep.ts): plans each simulation once (per scenario and
 * options, already checked by the parent), then runs each seed it is sent with the one code path a single
 * `qkdnet simulate --seed k` run uses (`simulateSeed`), and answers with the summary. Runs from the sources
 * (tsx registered by the parent's boot string) or from dist/sweep-worker.mjs (scripts/build-dist.mjs).
 */
import { parentPort } from 'node:worker_threads';
import { planSimulation, simulateSeed, type SimulatePlan, type SimulateOptions } from './simulate.ts';

/** One run asked of a worker: a scenario file, its checked options and a seed. */
export interface SweepTask {
  readonly file: string;
  readonly o: SimulateOptions;
  readonly seed: number | string;
}
/** The answer: the run's summary, or why it failed. */
export interface SweepAnswer {
  readonly task: number;
  readonly summary?: unknown;
  readonly error?: string;
}

const plans = new Map<string, SimulatePlan>();
parentPort!.on('message', ({ task, run }: { task: number; run: SweepTask }) => {
  try {
    const key = JSON.stringify([run.file, run.o]);
    let plan = plans.get(key);
    if (!plan) plans.set(key, (plan = planSimulation(run.file, run.o, () => {})));
    const { summary } = simulateSeed(plan, run.seed);
    parentPort!.postMessage({ task, summary } satisfies SweepAnswer);
  } catch (e) {
    parentPort!.postMessage({ task, error: (e as Error).message } satisfies SweepAnswer);
  }
});
