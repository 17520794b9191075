/**
 * Live key supply of `qkdnet up --sites …`: the supervisor's part is to order blocks, nothing more. To
 * the link that is up (both sites answering) and waited longest since its last block, it sends `pp-block` — link, block
 * number, the simulated attack and the simulation time: public parameters of the physics — to both
 * sites of the link, which post-process the block two-party between themselves (./site-pp-worker.ts)
 * and each supply their own final key to their own KME. Each site answers `pp-done` with the bits it
 * supplied or why it has none; key bytes never reach the supervisor. One block is in flight at a time
 * (each costs seconds of CPU at both sites); a block counts as failed at once when one of its sites
 * goes down, or when its ends do not both answer within `timeoutMs`.
 */
import type { AttackSpec } from '../qkd/index.ts';
import type { FromSite, ToSite } from './site-protocol.ts';

/** Options of the sites' key supply. */
export interface SiteKeySupplyOptions {
  /** Links with a link engine: `from` is Alice's site, `to` Bob's. */
  readonly links: readonly { readonly id: string; readonly from: string; readonly to: string }[];
  /** Sends to a site; false when it is not up. */
  readonly send: (node: string, m: ToSite) => boolean;
  /** False while a link is down or quarantined, or one of its sites is down. */
  readonly usable: (linkId: string) => boolean;
  readonly attackOf: (linkId: string) => AttackSpec | null;
  readonly nowNs: () => number;
  /** Told of every block: bits supplied at both ends, or the reason there were none. */
  readonly onBlock?: (linkId: string, outcome: { bits: number } | { reason: string }) => void;
  /** Real milliseconds of rest between blocks (default 250). */
  readonly pauseMs?: number;
  /** Longest wait for both ends of a block (default 180 s). */
  readonly timeoutMs?: number;
}

type Outcome = { bits: number } | { reason: string };
type SiteLinkRef = SiteKeySupplyOptions['links'][number];

/** The running supply; `close()` stops ordering (a block in flight finishes at the sites). */
export class SiteKeySupply {
  readonly #o: SiteKeySupplyOptions;
  readonly #stats = new Map<string, { blocks: number; failed: number; bits: number }>();
  readonly #blockNo = new Map<string, number>();
  /** When each link's last block was ordered (an order counter). */
  readonly #last = new Map<string, number>();
  #next = 0;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight:
    | {
        linkId: string;
        block: number;
        ends: Map<string, Outcome | undefined>;
        timer: ReturnType<typeof setTimeout>;
      }
    | undefined;

  constructor(o: SiteKeySupplyOptions) {
    this.#o = o;
    for (const l of o.links) {
      this.#stats.set(l.id, { blocks: 0, failed: 0, bits: 0 });
      this.#blockNo.set(l.id, 0);
      this.#last.set(l.id, 0);
    }
    this.#schedule(0);
  }

  /** Figures per link id. */
  stats(linkId: string): { blocks: number; failed: number; bits: number } | undefined {
    const s = this.#stats.get(linkId);
    return s ? { ...s } : undefined;
  }

  /** A site's message (the supervisor passes every one; only `pp-done` matters here). */
  receive(node: string, m: FromSite): void {
    const f = this.#inFlight;
    if (m.t !== 'pp-done' || !f || m.linkId !== f.linkId || m.block !== f.block || !f.ends.has(node)) return;
    f.ends.set(node, m.outcome);
    if ([...f.ends.values()].every((x) => x !== undefined)) this.#settle();
  }

  /** A site went down: a block in flight at it will never be answered there — it fails now. */
  siteDown(node: string): void {
    const f = this.#inFlight;
    if (!f || !f.ends.has(node) || f.ends.get(node) !== undefined) return;
    f.ends.set(node, { reason: 'site down' });
    // The other end gives up on its own (its peer is gone); its answer is not waited for.
    for (const [n, x] of f.ends) if (x === undefined) f.ends.set(n, { reason: `peer site ${node} down` });
    this.#settle();
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.#order(), delayMs);
  }

  #order(): void {
    // The usable link whose last block was ordered longest ago (a link back from an outage goes first).
    const l = this.#o.links
      .filter((x) => this.#o.usable(x.id))
      .reduce<SiteLinkRef | undefined>(
        (best, x) => (best && this.#last.get(best.id)! <= this.#last.get(x.id)! ? best : x),
        undefined,
      );
    if (l) {
      this.#last.set(l.id, ++this.#next);
      const block = this.#blockNo.get(l.id)!;
      this.#blockNo.set(l.id, block + 1);
      const m: ToSite = {
        t: 'pp-block',
        linkId: l.id,
        block,
        attack: this.#o.attackOf(l.id),
        timeNs: this.#o.nowNs(),
      };
      this.#inFlight = {
        linkId: l.id,
        block,
        ends: new Map<string, Outcome | undefined>([
          [l.from, undefined],
          [l.to, undefined],
        ]),
        timer: setTimeout(() => this.#settle(), this.#o.timeoutMs ?? 180_000),
      };
      const sent = this.#o.send(l.from, m) && this.#o.send(l.to, m);
      if (!sent) {
        // A site went down between the check and the order: whichever end got it gives up on its own.
        for (const [n, x] of this.#inFlight.ends)
          if (x === undefined) this.#inFlight.ends.set(n, { reason: 'site down' });
        this.#settle();
      }
      return;
    }
    this.#schedule(1000); // every link down: look again in a second
  }

  #settle(): void {
    const f = this.#inFlight;
    if (!f) return;
    this.#inFlight = undefined;
    clearTimeout(f.timer);
    const s = this.#stats.get(f.linkId)!;
    s.blocks++;
    const got = [...f.ends.values()].map((x) => x ?? { reason: 'no answer from the site' });
    const bits = got.map((x) => ('bits' in x ? x.bits : -1));
    let outcome: Outcome;
    if (bits[0]! >= 0 && bits[0] === bits[1]) {
      outcome = { bits: bits[0]! };
      s.bits += bits[0]!;
    } else {
      s.failed++;
      const reasons = got.filter((x): x is { reason: string } => 'reason' in x).map((x) => x.reason);
      outcome = { reason: reasons.length < 2 ? `one end only: ${reasons[0]}` : reasons[0]! };
    }
    if (!this.#closed) this.#o.onBlock?.(f.linkId, outcome);
    this.#schedule(this.#o.pauseMs ?? 250);
  }

  /** Stops ordering blocks. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    if (this.#inFlight) clearTimeout(this.#inFlight.timer);
    this.#inFlight = undefined;
  }
}
