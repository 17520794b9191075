/**
 * Per-SAE quotas and rate limits of a KME (config `saes[].quota`, default `keys.saeQuota`), so one
 * application cannot drain a pool it shares with others:
 *
 * - `reserveBits`: bits of every link pool held back for this SAE. Another master's request is refused
 *   (KMS_QUOTA_EXCEEDED) if it would leave a pool below the sum of the other local SAEs' reserves.
 * - `bitsPerSecond` / `burstBits`: a token bucket per master SAE (the classic rate limiter, e.g. RFC 2697
 *   §3.1's committed burst): the bucket holds up to `burstBits` (default one second's worth), refills at
 *   `bitsPerSecond`, and every `enc_keys` request takes number × size bits from it first; a request the
 *   bucket cannot cover is refused whole (nothing consumed), with the wait in the message.
 *
 * Only masters consume key material (a slave fetches what its master took), so only `enc_keys` counts.
 */
import { QkdnetError } from '../common/index.ts';
import type { KmeConfig } from './config.ts';

/** One SAE's quota (every field optional; absent = unlimited / no reserve). */
export interface SaeQuota {
  readonly bitsPerSecond?: number | undefined;
  readonly burstBits?: number | undefined;
  readonly reserveBits?: number | undefined;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

const quotaError = (m: string) => new QkdnetError('KMS_QUOTA_EXCEEDED', m);

/** The quotas of the SAEs one KME serves. */
export class SaeQuotas {
  readonly #quota = new Map<string, SaeQuota>();
  readonly #buckets = new Map<string, Bucket>();
  readonly #reserveTotal: number;

  constructor(config: Pick<KmeConfig, 'saes' | 'keys'>) {
    const fallback = config.keys?.saeQuota;
    let total = 0;
    for (const s of config.saes) {
      const q = s.quota ?? fallback;
      if (!q) continue;
      this.#quota.set(s.id, q);
      total += q.reserveBits ?? 0;
    }
    this.#reserveTotal = total;
  }

  /** The quota of `sae` (undefined: none). */
  of(sae: string): SaeQuota | undefined {
    return this.#quota.get(sae);
  }

  /** Bits of each pool a request by `sae` must leave: the other SAEs' reserves. */
  keepFor(sae: string): number {
    return this.#reserveTotal - (this.#quota.get(sae)?.reserveBits ?? 0);
  }

  /**
   * Takes `bits` from `sae`'s rate budget at `nowMs`; throws KMS_QUOTA_EXCEEDED (taking nothing) when
   * the bucket cannot cover them. Returns a function that gives them back (the request failed later).
   */
  charge(sae: string, bits: number, nowMs: number): () => void {
    const q = this.#quota.get(sae);
    const rate = q?.bitsPerSecond;
    if (rate === undefined) return () => undefined;
    const burst = q!.burstBits ?? rate;
    if (bits > burst)
      throw quotaError(`SAE "${sae}" may take at most ${burst} bits per request window (asked ${bits})`);
    let b = this.#buckets.get(sae);
    if (!b) {
      b = { tokens: burst, atMs: nowMs };
      this.#buckets.set(sae, b);
    }
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, nowMs - b.atMs) * rate) / 1000);
    b.atMs = Math.max(b.atMs, nowMs);
    if (b.tokens < bits) {
      const waitMs = Math.ceil(((bits - b.tokens) * 1000) / rate);
      throw quotaError(
        `SAE "${sae}" is over its rate of ${rate} bits/s: ${bits} bits available in ${waitMs} ms`,
      );
    }
    b.tokens -= bits;
    const bucket = b;
    return () => {
      bucket.tokens = Math.min(burst, bucket.tokens + bits);
    };
  }
}
