/** src/server: the composition root of `qkdnet up` — the live network behind one interface and its web server. */
export * from './types.ts';
export * from './hub.ts';
export * from './app.ts';
export { sseFrame } from './sse.ts';
export * from './compose.ts';
export { startKmeFleet, freePorts, kmeName, saeName, type KmeFleet, type FleetNode } from './kme-fleet.ts';
