/**
 * The messages between `qkdnet up --sites …` (the supervisor) and one `qkdnet site` child over the
 * child's IPC channel (Node's `advanced` serialization: structured clone, so key blocks travel as
 * `Uint8Array`). The channel is an anonymous pipe between the two processes: nothing listens on a port
 * and nothing is written to disk. Links with a link engine are post-processed between the two sites
 * themselves (./site-pp.ts): the supervisor only orders a block (`pp-block`: public parameters of the
 * simulated physics) and hears its outcome (`pp-done`: bits or a reason), never key bytes. Key bytes cross
 * this channel only in `supply`, for links without a link engine (a CSPRNG stand-in, not QKD key), and
 * never come back.
 */
import type { PoolLevel, SupplyItem } from '../kms/index.ts';
import type { LiveRelayResult } from '../network/index.ts';
import type { AttackSpec } from '../qkd/index.ts';

/** Supervisor → site. */
export type ToSite =
  /** Heartbeat; the site answers `pong` with the same `n` and its pool levels. */
  | { readonly t: 'ping'; readonly n: number }
  /** This site's copy of a link's key block, shared with peer KME `peer`. */
  | { readonly t: 'supply'; readonly peer: string; readonly item: SupplyItem }
  /** Relay a fresh key from this site's KME along `paths` (KME ids); answered by `relayed`. */
  | {
      readonly t: 'relay';
      readonly id: number;
      readonly paths: readonly (readonly string[])[];
      readonly bytes: number;
    }
  /**
   * Post-process block `block` of link `linkId` with the peer site (./site-pp.ts), this site playing the
   * role its `links.json` gives it; answered by `pp-done`. `attack` is the simulated eavesdropper on the
   * link during the block (the physics both ends simulate), `timeNs` the block's simulation time.
   */
  | {
      readonly t: 'pp-block';
      readonly linkId: string;
      readonly block: number;
      readonly attack: AttackSpec | null;
      readonly timeNs: number;
    }
  /** Close the KME (store checkpointed and closed) and exit 0. */
  | { readonly t: 'stop' };

/** Site → supervisor. */
export type FromSite =
  | { readonly t: 'ready'; readonly url: string; readonly pid: number }
  | { readonly t: 'pong'; readonly n: number; readonly levels: Readonly<Record<string, PoolLevel>> }
  | { readonly t: 'relayed'; readonly id: number; readonly result: LiveRelayResult }
  /** Outcome of a `pp-block` at this site's end: final key bits supplied to this site's KME, or why none. */
  | {
      readonly t: 'pp-done';
      readonly linkId: string;
      readonly block: number;
      readonly outcome: { readonly bits: number } | { readonly reason: string };
    }
  /** A start-up failure, one line (the site exits 1 after sending it). */
  | { readonly t: 'failed'; readonly message: string };

/** Name of a site's KME configuration inside its directory (a plain `qkdnet kme serve` config). */
export const SITE_CONFIG = 'kme.yaml';
