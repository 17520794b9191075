/** src/sim: the discrete-event kernel (knows nothing of QKD) and its wall-clock-paced mode for live runs. */
export * from './queue.ts';
export * from './kernel.ts';
export * from './wallclock.ts';
