/** src/physics: channels, sources, detectors, presets and key-rate models. Pure. */
export * from './fiber.ts';
export * from './params.ts';
export * from './presets.ts';
export * from './lim2014.ts';
