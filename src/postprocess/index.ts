/** src/postprocess: reconciliation (Cascade), verification, privacy amplification, authentication, pipeline. */
export * from './reconciliation.ts';
export * from './cascade-schedule.ts';
export * from './cascade.ts';
export * from './gf128.ts';
export * from './poly-hash.ts';
export * from './fft.ts';
export * from './privacy-amplification.ts';
export * from './message-encoding.ts';
export * from './auth.ts';
export * from './bit-utils.ts';
export * from './raw-fixture.ts';
export * from './pipeline.ts';
export * from './pipeline-channel.ts';
export * from './distill.ts';
