/**
 * Prometheus metrics of one KME (prom-client, its own Registry so several KMEs share a process): requests
 * by route and status, request latency, stored keys and pool level per peer link, keys delivered by role,
 * group-commit batches. Exposition format 0.0.4 at `/metrics`. No label ever carries key material or key IDs.
 */
import { Counter, Gauge, Histogram, Registry } from '../common/index.ts';
import type { KmeCore } from './core.ts';

/** The metric objects of one KME. */
export interface KmeMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly delivered: Counter<'role'>;
}

/** Creates the metrics of `core` (gauges read the store when scraped). */
export function createKmeMetrics(core: KmeCore): KmeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ kme: core.id });
  const requests = new Counter({
    name: 'qkdnet_kme_requests_total',
    help: 'HTTP requests answered, by route and status code.',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'qkdnet_kme_request_duration_seconds',
    help: 'Time from request to answer, by route.',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  const delivered = new Counter({
    name: 'qkdnet_kme_keys_delivered_total',
    help: 'Keys delivered to SAEs, by role (master or slave).',
    labelNames: ['role'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'qkdnet_kme_stored_keys',
    help: 'Keys of the default size this KME can still hand to masters, per peer link.',
    labelNames: ['peer'] as const,
    registers: [registry],
    collect() {
      for (const p of core.backend.peers())
        this.set(
          { peer: p },
          Math.floor((core.backend.level(p).mineBytes * 8) / core.limits.defaultSizeBits),
        );
    },
  });
  new Gauge({
    name: 'qkdnet_kme_pool_bits',
    help: 'Key material in the pool of each peer link, bits, by owner (this KME or the peer).',
    labelNames: ['peer', 'owner'] as const,
    registers: [registry],
    collect() {
      for (const p of core.backend.peers()) {
        const l = core.backend.level(p);
        this.set({ peer: p, owner: 'self' }, l.mineBytes * 8);
        this.set({ peer: p, owner: 'peer' }, l.theirChunks * 256);
      }
    },
  });
  new Counter({
    name: 'qkdnet_kme_supply_dropped_chunks_total',
    help: 'Chunks of new key supply dropped because the per-peer store limit was reached, per peer link.',
    labelNames: ['peer'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of core.backend.peers()) this.inc({ peer: p }, core.backend.droppedChunks(p));
    },
  });
  new Counter({
    name: 'qkdnet_kme_supply_erased_on_arrival_chunks_total',
    help: 'Chunks of new key supply dropped on arrival because the peer KME had already erased them (an erase notice that arrived first left a tombstone), per peer link.',
    labelNames: ['peer'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of core.backend.peers()) this.inc({ peer: p }, core.backend.erasedOnArrival?.(p) ?? 0);
    },
  });
  new Counter({
    name: 'qkdnet_kme_leased_keys_discarded_total',
    help: 'Leased keys found unconfirmed at start (the KME had stopped without a clean close) and erased, never served.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(core.discardedAtStart);
    },
  });
  new Gauge({
    name: 'qkdnet_kme_supply_queue_chunks',
    help: 'Chunks of southbound supply waiting to be stored (stored in slices off the request path).',
    registers: [registry],
    collect() {
      this.set(core.backend.backlog);
    },
  });
  new Gauge({
    name: 'qkdnet_kme_pending_slave_keys',
    help: 'Keys reserved for slave SAEs of this KME and not yet fetched.',
    registers: [registry],
    collect() {
      this.set(core.backend.pendingKeyCount());
    },
  });
  new Gauge({
    name: 'qkdnet_kme_commit_batches',
    help: 'Group-commit transactions so far (ops per batch = ops / batches).',
    labelNames: ['what'] as const,
    registers: [registry],
    collect() {
      const s = core.backend.stats();
      this.set({ what: 'batches' }, s.batches);
      this.set({ what: 'ops' }, s.ops);
    },
  });
  return { registry, requests, latency, delivered };
}
