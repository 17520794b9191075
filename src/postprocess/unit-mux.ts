/**
 * Multiplexes the units of the two-party runtime (two-party.ts) over one ordered channel, sans-IO: the
 * initiating end (Bob) keeps up to `window` units in flight and starts the next as each ends; the
 * responding end (Alice) creates a unit when its first message arrives. Items are envelopes (a sealed
 * message of one unit) or aborts (one end gave a unit up, so the other discards it too rather than wait).
 * The caller moves items between the two ends — in process (memory channel) or over TCP — and learns each
 * unit's outcome through `onOutcome`.
 */
import type { Envelope, UnitAbort, UnitEnd, UnitOutcome } from './two-party.ts';

/** What travels between two muxes. */
export type MuxItem = Envelope | UnitAbort;

/** Options of a mux; `create` builds this end of unit `id` (ids run 0..units−1). */
export interface UnitMuxOptions {
  readonly role: 'initiator' | 'responder';
  readonly units: number;
  /** Units in flight at once (initiator only). */
  readonly window: number;
  readonly create: (id: number) => UnitEnd;
  readonly onOutcome: (outcome: UnitOutcome, unit: UnitEnd) => void;
}

/** One end's multiplexer. */
export class UnitMux {
  readonly #o: UnitMuxOptions;
  readonly #live = new Map<number, UnitEnd>();
  #started = 0;
  #finished = 0;

  constructor(o: UnitMuxOptions) {
    if (!(Number.isInteger(o.units) && o.units >= 0))
      throw new RangeError(`units must be ≥ 0, got ${o.units}`);
    if (!(Number.isInteger(o.window) && o.window >= 1))
      throw new RangeError(`window must be ≥ 1, got ${o.window}`);
    this.#o = o;
  }

  /** Units that have ended at this end. */
  get finished(): number {
    return this.#finished;
  }

  /** True once every unit has ended here. */
  get done(): boolean {
    return this.#finished === this.#o.units;
  }

  /** Units currently open at this end. */
  get inFlight(): number {
    return this.#live.size;
  }

  /**
   * Units `receive` may start at once when others end (default: as many as the window allows). A
   * transport that starts units gradually (tcp-transport.ts) sets 1 and refills the window itself
   * through `pump(1)` while `canStart`, so the peer gets the first unit's messages while this end still
   * prepares the others.
   */
  startPerReceive = Infinity;

  /** Initiator: true while the window has room and units remain to start. */
  get canStart(): boolean {
    return this.#o.role === 'initiator' && this.#live.size < this.#o.window && this.#started < this.#o.units;
  }

  /** Initiator: starts up to `max` units while the window has room; returns their first messages. */
  pump(max = Infinity): MuxItem[] {
    const out: MuxItem[] = [];
    if (this.#o.role !== 'initiator') return out;
    for (let n = 0; n < max && this.#live.size < this.#o.window && this.#started < this.#o.units; n++) {
      const u = this.#o.create(this.#started++);
      this.#live.set(u.id, u);
      out.push(...u.start());
      this.#settle(u, out);
    }
    return out;
  }

  /** Consumes one item from the peer; returns the items to send back. */
  receive(item: MuxItem): MuxItem[] {
    const out: MuxItem[] = [];
    let u = this.#live.get(item.unit);
    if (!u) {
      // The responder opens units in order as their first message arrives; anything else is stale
      // (a unit this end already ended) or out of range, and is ignored.
      if (this.#o.role !== 'responder' || item.unit !== this.#started || item.unit >= this.#o.units)
        return out;
      if ('abort' in item) return out;
      u = this.#o.create(this.#started++);
      this.#live.set(u.id, u);
    }
    if ('abort' in item) {
      u.abort('peer-aborted', item.abort);
      this.#settle(u, out, false);
    } else {
      out.push(...u.receive(item.sealed));
      this.#settle(u, out);
    }
    if (this.#o.role === 'initiator') out.push(...this.pump(this.startPerReceive));
    return out;
  }

  /** Ends every open unit (the connection is gone); reports each as failed. */
  abortAll(reason: 'peer-disconnected' | 'protocol-error', detail: string): void {
    for (const u of [...this.#live.values()]) {
      u.abort(reason, detail);
      this.#settle(u, [], false);
    }
    // Units never started will not run either.
    if (this.#o.role === 'initiator') this.#started = this.#o.units;
  }

  #settle(u: UnitEnd, out: MuxItem[], tellPeer = true): void {
    const oc = u.outcome;
    if (!oc) return;
    this.#live.delete(u.id);
    this.#finished++;
    if (!oc.ok && tellPeer && oc.reason !== 'peer-aborted') out.push({ unit: u.id, abort: oc.reason });
    this.#o.onOutcome(oc, u);
  }
}

/**
 * The memory channel: both ends in this process, items handed over in order (no encoding, no copy), until
 * neither end has anything left to say. `carry` may stand for a wire (encode and decode) or an attacker
 * (alter, drop with null, or replace items); it sees every item with its running index.
 */
export function runInMemory(
  initiator: UnitMux,
  responder: UnitMux,
  carry: (item: MuxItem, index: number) => MuxItem | null = (item) => item,
): void {
  let count = 0;
  let toResponder = initiator.pump();
  while (toResponder.length > 0) {
    const toInitiator: MuxItem[] = [];
    for (const item of toResponder) {
      const it = carry(item, count++);
      if (it) for (const r of responder.receive(it)) toInitiator.push(r);
    }
    toResponder = [];
    for (const item of toInitiator) {
      const it = carry(item, count++);
      if (it) for (const r of initiator.receive(it)) toResponder.push(r);
    }
  }
}
