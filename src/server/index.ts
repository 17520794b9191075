/** src/server: the composition root of `qkdnet up` — the live network behind one interface and its web server. */
export * from './types.ts';
export * from './hub.ts';
export * from './app.ts';
export { sseFrame } from './sse.ts';
