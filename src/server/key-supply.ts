// @edge: runs the post-processing worker thread and writes its key blocks into the KMEs' stores.
/**
 * Live key supply of the KMEs: a worker thread (key-worker.ts) distils final key for one link at a time —
 * link engine then post-processing — in round-robin over the links that are up, and each final key block is
 * supplied to the KMEs at both ends (same key IDs at both, `supplyBoth`), then our copy is wiped. A link
 * under attack gets its attack in the block too, so post-processing refuses it (`insecure-estimate`)
 * exactly as it would in the field. Blocks are 10⁹ pulses by default: the smallest size that gives
 * finite-key secret bits on the metro links (≈2·10⁵ bits at 12 km with the GYS preset, measured), at a few
 * seconds of one core per block, which sets the watchable pace of the KME pools.
 *
 * Key bytes come from node:crypto (src/postprocess distill.ts), so no one recomputes them from the seed
 * and no restart repeats them; with `keys: 'deterministic'` they follow the seed and are supplied with
 * provenance `simulated-deterministic`. Each link's authentication pool (auth-pools.ts) lives in
 * `authPoolDir` when given, so pads are never reused across blocks or restarts, and block indices go on
 * from where the last run stopped.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { BitArray } from '../common/index.ts';
import type { LinkParams } from '../physics/index.ts';
import type { AttackSpec } from '../qkd/index.ts';
import { linkAuthBootstrap, type KeyMode } from '../postprocess/index.ts';
import { supplyBoth, type KmeHandle } from '../kms/index.ts';
import { LinkAuthPools } from './auth-pools.ts';
import type { KeyBlockAnswer, KeyBlockRequest } from './key-worker.ts';

/** Authentication bits reserved per block; what the block does not use comes back to the pool. */
export const BLOCK_AUTH_RESERVATION_BITS = 2048;

/** A link the supply serves. */
export interface SupplyLink {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly params: LinkParams;
  readonly distanceKm: number;
}

/** Options of the key supply. */
export interface KeySupplyOptions {
  readonly links: readonly SupplyLink[];
  /** The KMEs by node id (in-process handles or site processes' proxies). */
  readonly kmes: ReadonlyMap<string, Pick<KmeHandle, 'id' | 'supply'>>;
  readonly seed: string;
  /** `secret` (default: key bytes from node:crypto) or `deterministic` (`--deterministic-keys`). */
  readonly keys?: KeyMode;
  /** Directory of the links' authentication pools (0700; default: in memory, lost at exit). */
  readonly authPoolDir?: string;
  readonly pulsesPerBlock?: number;
  /** Real milliseconds of rest between blocks (default 250), to leave CPU to the rest. */
  readonly pauseMs?: number;
  /** False while a link is down or quarantined (no block is made for it). */
  readonly usable: (linkId: string) => boolean;
  readonly attackOf: (linkId: string) => AttackSpec | null;
  readonly nowNs: () => number;
  /** Told of every block: bits supplied, or the reason there were none. */
  readonly onBlock?: (linkId: string, outcome: { bits: number } | { reason: string }) => void;
  /**
   * Told once if the worker crashes (a bug, not a handled condition): the supply has stopped. Default:
   * the error's stack on stderr. Every link also gets `{ reason: 'worker-crashed: …' }` through onBlock.
   */
  readonly onCrash?: (e: Error) => void;
}

/** Per-link figures of the supply. */
export interface SupplyStats {
  blocks: number;
  failed: number;
  bits: number;
}

/** The running supply; `close()` stops the worker (a block in flight is dropped, never half-stored). */
export class LinkKeySupply {
  readonly #o: KeySupplyOptions;
  readonly #worker: Worker;
  readonly #stats = new Map<string, SupplyStats>();
  readonly #pools: LinkAuthPools;
  #next = 0;
  #closed = false;
  /** A run id keeps key IDs unique in stores reused across runs (with or without a pool directory). */
  readonly #runId = randomUUID().slice(0, 8);
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: KeySupplyOptions) {
    this.#o = opts;
    this.#pools = new LinkAuthPools(opts.authPoolDir);
    const keys = opts.keys ?? 'secret';
    for (const l of opts.links) {
      this.#stats.set(l.id, { blocks: 0, failed: 0, bits: 0 });
      this.#pools.open(l.id, () => linkAuthBootstrap(opts.seed, l.id, keys));
    }
    // Compiled (this module inside dist/cli.mjs, scripts/build-dist.mjs): the worker is dist/key-worker.mjs.
    // From the sources the worker is TypeScript: register tsx inside it first (as bin/qkdnet.js does).
    const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(new URL('./key-worker.ts', import.meta.url).href)}); });`;
    this.#worker = import.meta.url.endsWith('.mjs')
      ? new Worker(new URL('./key-worker.mjs', import.meta.url))
      : new Worker(boot, { eval: true });
    this.#worker.on('message', (a: KeyBlockAnswer) => this.#receive(a));
    this.#worker.on('error', (e) => this.#crashed(e));
    this.#worker.unref();
    this.#schedule(0);
  }

  /** Figures per link id. */
  stats(linkId: string): SupplyStats | undefined {
    const s = this.#stats.get(linkId);
    return s ? { ...s } : undefined;
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.#request(), delayMs);
  }

  #request(): void {
    const links = this.#o.links;
    for (let tries = 0; tries < links.length; tries++) {
      const l = links[this.#next++ % links.length]!;
      if (!this.#o.usable(l.id)) continue;
      const r = this.#pools.reserve(l.id, BLOCK_AUTH_RESERVATION_BITS);
      if (!r) {
        this.#o.onBlock?.(l.id, { reason: 'auth-pool-exhausted' });
        continue;
      }
      const reserved = r.pool.remaining();
      r.pool.wipe();
      const req: KeyBlockRequest = {
        linkId: l.id,
        blockId: r.blockIndex,
        keys: this.#o.keys ?? 'secret',
        auth: { bits: reserved.length, words: reserved.words.buffer as ArrayBuffer },
        pulses: this.#o.pulsesPerBlock ?? 1e9,
        params: l.params,
        distanceKm: l.distanceKm,
        attack: this.#o.attackOf(l.id),
        seed: this.#o.seed,
        timeNs: this.#o.nowNs(),
      };
      this.#worker.postMessage(req, [req.auth.words]);
      return;
    }
    this.#schedule(1000); // every link down: look again in a second
  }

  #receive(a: KeyBlockAnswer): void {
    if (this.#closed) return;
    const s = this.#stats.get(a.linkId)!;
    s.blocks++;
    const link = this.#o.links.find((l) => l.id === a.linkId)!;
    // The pool first: bits handed back are written before any key of the block is supplied.
    if (a.auth) this.#pools.settle(a.linkId, new BitArray(a.auth.bits, new Uint32Array(a.auth.words)));
    if (!a.ok) {
      s.failed++;
      this.#o.onBlock?.(a.linkId, { reason: a.reason });
    } else {
      const key = new Uint8Array(a.key);
      const x = this.#o.kmes.get(link.from);
      const y = this.#o.kmes.get(link.to);
      if (x && y && this.#o.usable(a.linkId)) {
        supplyBoth(x, y, {
          linkId: a.linkId,
          blockId: `${this.#runId}:${a.blockId}`,
          key,
          bits: a.bits,
          estimates: a.estimates,
          createdNs: a.createdNs,
          provenance: a.provenance,
        });
        s.bits += a.bits;
        this.#o.onBlock?.(a.linkId, { bits: a.bits });
      }
      key.fill(0);
    }
    this.#schedule(this.#o.pauseMs ?? 250);
  }

  /** The worker died of a bug: stop for good (no silent restart that would hide it) and say so. */
  #crashed(e: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const l of this.#o.links) this.#o.onBlock?.(l.id, { reason: `worker-crashed: ${e.message}` });
    if (this.#o.onCrash) this.#o.onCrash(e);
    else
      process.stderr.write(`qkdnet: live key supply stopped, its worker crashed: ${e.stack ?? e.message}\n`);
  }

  /** True once the supply has stopped (closed, or its worker crashed). */
  get stopped(): boolean {
    return this.#closed;
  }

  /** Stops making blocks and ends the worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#worker.terminate();
  }
}
