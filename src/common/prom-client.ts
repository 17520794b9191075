/**
 * The four prom-client classes qkdnet uses, loaded from their own files. prom-client's index also loads its
 * default process metrics and, with them, @opentelemetry/api (about 0.1 s of CPU at every start, measured
 * in `qkdnet kme serve`); qkdnet never collects the default metrics, so it takes the classes directly —
 * the same classes and the same global registry the index exports. Types come from prom-client's own
 * declarations.
 */
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const load = createRequire(import.meta.url);

export const Registry: typeof Prom.Registry = load('prom-client/lib/registry');
export type Registry = Prom.Registry;
export const Counter: typeof Prom.Counter = load('prom-client/lib/counter');
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge: typeof Prom.Gauge = load('prom-client/lib/gauge');
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram: typeof Prom.Histogram = load('prom-client/lib/histogram');
export type Histogram<T extends string = string> = Prom.Histogram<T>;
