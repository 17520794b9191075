/** src/physics: channels, sources, detectors, presets and key-rate models. Pure. */
export * from './fiber.ts';
export * from './params.ts';
export * from './presets.ts';
export * from './lim2014.ts';
export * from './channel.ts';
export * from './free-space.ts';
export * from './leo-pass.ts';
export * from './source-detector.ts';
export * from './bounds.ts';
export * from './bb84-asymptotic.ts';
export * from './bb84-finite.ts';
export * from './tf-qkd.ts';
export * from './pm-qkd-ma2018.ts';
export * from './mdi-qkd-lo2012.ts';
export * from './cv-gg02.ts';
export * from './models.ts';
export * from './optimize.ts';
