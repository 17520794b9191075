/**
 * The event queue of the discrete-event kernel: a binary min-heap ordered by the key
 * (timeNs, priority, sequence), as in SimPy's environment (`heapq` on `(time, priority, eid, event)`).
 * The sequence number is assigned at insertion and never repeats, so two events with the same time and
 * priority leave the queue in the order they entered it: the order is a stable total order and a run is
 * reproducible whatever the heap's internal layout. Cancellation is lazy: a cancelled entry stays in the
 * heap and is discarded when it reaches the top (cheaper than a decrease-key heap, as in SimPy).
 */

/** One scheduled entry; `cancelled` is flipped by the kernel, never removed eagerly. */
export interface QueueEntry<T> {
  readonly timeNs: number;
  readonly priority: number;
  readonly seq: number;
  readonly payload: T;
  cancelled: boolean;
}

/** True when entry a must leave the queue before entry b. */
export function before<T>(a: QueueEntry<T>, b: QueueEntry<T>): boolean {
  if (a.timeNs !== b.timeNs) return a.timeNs < b.timeNs;
  if (a.priority !== b.priority) return a.priority < b.priority;
  return a.seq < b.seq;
}

/** A min-heap of entries under `before`; `push` stamps the sequence number. */
export class EventQueue<T> {
  readonly #heap: QueueEntry<T>[] = [];
  #seq = 0;
  #live = 0;

  /** Entries not cancelled (cancelled ones still in the heap are not counted). */
  get size(): number {
    return this.#live;
  }

  /** Adds a payload at `timeNs` (integer ns) with `priority` (lower first); returns its entry. */
  push(timeNs: number, priority: number, payload: T): QueueEntry<T> {
    if (!Number.isSafeInteger(timeNs))
      throw new RangeError(`event time must be an integer ns, got ${timeNs}`);
    const entry: QueueEntry<T> = { timeNs, priority, seq: this.#seq++, payload, cancelled: false };
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!before(entry, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = entry;
    this.#live++;
    return entry;
  }

  /** Marks an entry cancelled (lazy: it is dropped when it reaches the top). Idempotent. */
  cancel(entry: QueueEntry<T>): void {
    if (entry.cancelled) return;
    entry.cancelled = true;
    this.#live--;
  }

  /** The next live entry without removing it, or undefined. */
  peek(): QueueEntry<T> | undefined {
    this.#dropCancelled();
    return this.#heap[0];
  }

  /** Removes and returns the next live entry, or undefined when empty. */
  pop(): QueueEntry<T> | undefined {
    this.#dropCancelled();
    const top = this.#heap[0];
    if (top === undefined) return undefined;
    this.#removeTop();
    this.#live--;
    top.cancelled = true; // a popped entry can no longer be cancelled
    return top;
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#removeTop();
  }

  #removeTop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
