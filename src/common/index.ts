/** src/common: seeded RNG, secret randomness, packed bits, Result, errors, units, math and the cross-folder contracts. */
export * from './rng.ts';
export * from './secret-random.ts';
export * from './bits.ts';
export * from './result.ts';
export * from './errors.ts';
export * from './math.ts';
export * from './units.ts';
export * from './contracts.ts';
export * from './distributions.ts';
export * from './prom-client.ts';
