// @edge: a timer that writes stand-in key into the KMEs' stores.
/**
 * Stand-in key supply for links the link engine cannot model (measured-rate links, satellite passes):
 * every real second, as many bits as the network says the link produced since the last second (capped
 * per link, so SQLite writes stay bounded at high speeds), drawn from node:crypto's CSPRNG by the KME
 * engineer's `csprngBlockSource` and supplied to both ends with the same key IDs. This key is NOT from
 * QKD; `qkdnet up` lists such links under `engines` so nobody mistakes it for QKD key.
 */
import { csprngBlockSource, supplyBoth, type KmeHandle } from '../kms/index.ts';

/** What the feed needs of a KME (an in-process handle or a site process's proxy). */
type SupplyEnd = Pick<KmeHandle, 'id' | 'supply'>;

/** A link fed by the stand-in. */
export interface StandInLink {
  readonly id: string;
  readonly from: string;
  readonly to: string;
}

/** Options of the stand-in feed. */
export interface StandInOptions {
  readonly links: readonly StandInLink[];
  readonly kmes: ReadonlyMap<string, SupplyEnd>;
  /** False while an end of the link cannot take key (its site is down): nothing is supplied to either. */
  readonly usable?: (linkId: string) => boolean;
  /** Bits the network has generated on a link since start. */
  readonly generatedBits: (linkId: string) => number;
  /** Cap per link and real second (default 65,536). */
  readonly capBitsPerS?: number;
  /** Told of the running total supplied to a link. */
  readonly onSupplied?: (linkId: string, totalBits: number) => void;
}

/** KME chunks are 32 bytes (src/kms CHUNK_BYTES): supply whole chunks only. */
const CHUNK_BITS = 256;

/** Starts the feed; returns the function that stops it. */
export function startStandInFeed(o: StandInOptions): () => void {
  if (o.links.length === 0) return () => undefined;
  const cap = o.capBitsPerS ?? 65_536;
  const seen = new Map(o.links.map((l) => [l.id, o.generatedBits(l.id)]));
  const total = new Map(o.links.map((l) => [l.id, 0]));
  const timer = setInterval(() => {
    for (const l of o.links) {
      const now = o.generatedBits(l.id);
      const bits = Math.floor(Math.min(now - seen.get(l.id)!, cap) / CHUNK_BITS) * CHUNK_BITS;
      seen.set(l.id, now);
      const a = o.kmes.get(l.from);
      const b = o.kmes.get(l.to);
      if (bits <= 0 || !a || !b || o.usable?.(l.id) === false) continue;
      supplyBoth(a, b, csprngBlockSource(l.id, bits)());
      total.set(l.id, total.get(l.id)! + bits);
      o.onSupplied?.(l.id, total.get(l.id)!);
    }
  }, 1000);
  return () => clearInterval(timer);
}
