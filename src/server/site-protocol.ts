/**
 * The messages between `qkdnet up --sites …` (the supervisor) and one `qkdnet site` child over the
 * child's IPC channel (Node's `advanced` serialization: structured clone, so key blocks travel as
 * `Uint8Array`). The channel is an anonymous pipe between the two processes: nothing listens on a port
 * and nothing is written to disk. Key bytes cross it only in `supply` (the link's final key block for
 * this site's side of the link, as a QKD device hands it to its local KME) and never come back.
 */
import type { PoolLevel, SupplyItem } from '../kms/index.ts';
import type { LiveRelayResult } from '../network/index.ts';

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
  /** Close the KME (store checkpointed and closed) and exit 0. */
  | { readonly t: 'stop' };

/** Site → supervisor. */
export type FromSite =
  | { readonly t: 'ready'; readonly url: string; readonly pid: number }
  | { readonly t: 'pong'; readonly n: number; readonly levels: Readonly<Record<string, PoolLevel>> }
  | { readonly t: 'relayed'; readonly id: number; readonly result: LiveRelayResult }
  /** A start-up failure, one line (the site exits 1 after sending it). */
  | { readonly t: 'failed'; readonly message: string };

/** Name of a site's KME configuration inside its directory (a plain `qkdnet kme serve` config). */
export const SITE_CONFIG = 'kme.yaml';
