/**
 * Failover across the replicas of one KME (several base URLs, one KME id): a request goes to the replica
 * that answered last; on a connection failure or a 503 it goes to the next one, after a backoff that
 * doubles each time every URL has failed once (FAILOVER_BASE_MS … FAILOVER_MAX_MS, with jitter), for at
 * most `rounds` passes over the list.
 *
 * What may be repeated is decided per request, so that no retry is ever silent where it could change
 * what was delivered (docs/kme.md, "Failover and idempotency"):
 *  - `safe`: the request changes nothing (status) — repeated after any failure;
 *  - `fresh`: repeating it asks for something new (enc_keys: new keys, never the lost answer's keys again;
 *    those are only wasted) — repeated after any failure;
 *  - `once`: a repeat could meet a request that did take effect (dec_keys: the keys would then be
 *    reported as already delivered) — repeated only when the first attempt certainly never reached a
 *    server (connection refused, unreachable, handshake failed) or was answered 503; after an ambiguous
 *    failure (connection lost with the request sent) the error says the outcome is unknown.
 */
import { randomInt } from 'node:crypto';
import { QkdnetError } from '../common/index.ts';
import type { JsonAnswer } from './https-json.ts';

/** First backoff after every URL failed once, ms. */
export const FAILOVER_BASE_MS = 100;
/** Longest backoff, ms. */
export const FAILOVER_MAX_MS = 2000;

/** How a request may be repeated (see the file header). */
export type Idempotency = 'safe' | 'fresh' | 'once';

/** Options of a failover group. */
export interface FailoverOptions {
  /** Passes over the URL list before giving up (default 3). */
  readonly rounds?: number;
  readonly baseMs?: number;
  readonly maxMs?: number;
}

/** The replicas of one KME and which of them answered last. */
export class FailoverGroup {
  readonly urls: readonly string[];
  readonly #rounds: number;
  readonly #base: number;
  readonly #max: number;
  #current = 0;

  constructor(urls: readonly string[], opts: FailoverOptions = {}) {
    if (urls.length === 0) throw new RangeError('A KME needs at least one URL');
    this.urls = urls.map((u) => u.replace(/\/+$/, ''));
    this.#rounds = opts.rounds ?? 3;
    this.#base = opts.baseMs ?? FAILOVER_BASE_MS;
    this.#max = opts.maxMs ?? FAILOVER_MAX_MS;
  }

  /** The URL requests go to first. */
  get current(): string {
    return this.urls[this.#current]!;
  }

  /**
   * Sends `send(baseUrl)` to the replicas in turn until one answers with anything but 503 (that answer is
   * returned) or the attempts run out (the last 503 is returned, or the last failure thrown as
   * KMS_PEER_UNAVAILABLE naming every URL tried).
   */
  async request(idem: Idempotency, send: (base: string) => Promise<JsonAnswer>): Promise<JsonAnswer> {
    const n = this.urls.length;
    let last503: JsonAnswer | undefined;
    const failures: string[] = [];
    for (let i = 0; i < n * this.#rounds; i++) {
      if (i > 0 && i % n === 0) await backoff(this.#base, this.#max, i / n);
      const at = (this.#current + (i % n)) % n;
      const base = this.urls[at]!;
      let a: JsonAnswer;
      try {
        a = await send(base);
      } catch (e) {
        const err = e as Error & { requestSent?: boolean };
        failures.push(`${base}: ${err.message}`);
        if (idem === 'once' && err.requestSent !== false)
          throw new QkdnetError(
            'KMS_PEER_UNAVAILABLE',
            `Lost the connection to KME ${base} after the request was sent; its outcome is unknown (the keys may have been delivered on that connection — ask again to find out): ${err.message}`,
          );
        continue;
      }
      if (a.status === 503 && n > 1) {
        last503 = a;
        failures.push(`${base}: 503`);
        continue;
      }
      this.#current = at;
      return a;
    }
    if (last503) return last503;
    throw new QkdnetError(
      'KMS_PEER_UNAVAILABLE',
      `Cannot reach KME at ${this.urls.join(', ')}: ${failures.slice(-n).join('; ')}`,
    );
  }
}

function backoff(base: number, max: number, round: number): Promise<void> {
  const ms = Math.min(max, base * 2 ** (round - 1));
  // Jitter from node:crypto: not a secret, but src/ draws no randomness from the unseeded global generator.
  const jitter = randomInt(0, Math.max(1, Math.floor(ms / 2)));
  return new Promise((r) => setTimeout(r, ms / 2 + jitter));
}
