/**
 * Southbound supply off the hot path. Key material is cut and stored in slices of at most SLICE_MS of
 * work, each its own transaction, with the event loop free between slices (setImmediate), so ETSI 014
 * requests are answered while 10⁸ bits arrive in one burst. A small item that arrives while nothing is
 * queued is stored at once (callers and tests see it immediately), up to INLINE_CHUNKS per event-loop
 * turn; everything else waits in a FIFO queue. The WAL is synced off the event loop after
 * each slice; `settled()` resolves when the queue is empty and durable.
 *
 * Once-only across crashes: an item's progress is stored with each slice (`KeyStore.storeItemSlice`), so
 * an item cut by a crash resumes after its last stored chunk, and an item stored completely is ignored
 * when supplied again (material consumed since never returns).
 */
import type { ChunkCutter } from './supply.ts';
import type { KeyStore, SupplyMark } from './store.ts';

/** Work per slice before the event loop gets a turn, milliseconds. */
export const SLICE_MS = 4;
/**
 * Chunks stored at once (in the caller's turn) per event-loop turn when nothing is queued: two 64-Kibit
 * blocks, so callers that supply a block and ask for keys at once find them; more waits in the queue.
 */
export const INLINE_CHUNKS = 512;
/** Chunks cut and stored between clock checks. */
const STEP = 64;

interface Job {
  readonly peer: string;
  readonly blockId: string;
  readonly cutter: ChunkCutter;
  /** The key bytes the cutter reads (our copy; erased when the job ends). */
  readonly key: Uint8Array;
  readonly mark: SupplyMark | undefined;
  begun: boolean;
  next: number;
  added: number;
  readonly done: (added: number) => void;
}

/** Where the pump reports storage failures (pino-compatible). */
export interface PumpLog {
  error(obj: object, msg: string): void;
}

/** The supply queue of one store. */
export class SupplyPump {
  readonly #store: KeyStore;
  readonly #log: PumpLog | undefined;
  #jobs: Job[] = [];
  #scheduled = false;
  #turnChunks = 0;
  #turnReset = false;
  #backlog = 0;
  #syncing: Promise<void> = Promise.resolve();
  #syncRunning = false;
  #unsynced: Job[] = [];
  #waiters: (() => void)[] = [];
  #stopped = false;

  readonly #sliceMs: number;

  /** `sliceMs`: work per transaction (default SLICE_MS; the supply worker thread, ./supply-thread.ts, takes longer ones). */
  constructor(store: KeyStore, log?: PumpLog, sliceMs = SLICE_MS) {
    this.#store = store;
    this.#log = log;
    this.#sliceMs = sliceMs;
  }

  /** Chunks waiting to be stored. */
  get backlog(): number {
    return this.#backlog;
  }

  /**
   * Supplies one item (`key` is copied: the caller may erase its array at once). Returns the chunks stored
   * now, or 0 when the item was queued; `stored` resolves with the chunks it added once they are durable.
   */
  supply(
    peer: string,
    blockId: string,
    cutter: ChunkCutter,
    key: Uint8Array,
    mark?: SupplyMark,
  ): { now: number; stored: Promise<number> } {
    if (this.#stopped) throw new Error('supply after the KME stopped');
    let done!: (n: number) => void;
    const stored = new Promise<number>((r) => (done = r));
    const job: Job = { peer, blockId, cutter, key, mark, begun: false, next: 0, added: 0, done };
    if (this.#jobs.length === 0 && this.#turnChunks + cutter.total <= INLINE_CHUNKS) {
      this.#turnChunks += cutter.total;
      this.#resetTurn();
      this.#work(job, Infinity);
      this.#finish(job);
      return { now: job.added, stored };
    }
    this.#jobs.push(job);
    this.#backlog += job.cutter.total - job.next;
    this.#schedule();
    return { now: 0, stored };
  }

  /** Resolves when every queued item is stored and synced. */
  settled(): Promise<void> {
    if (this.#jobs.length === 0) return this.#syncing;
    return new Promise<void>((r) => this.#waiters.push(r)).then(() => this.#syncing);
  }

  /** Drops the queue (the KME is closing); items not stored are erased from memory, not stored. */
  stop(): void {
    this.#stopped = true;
    for (const j of this.#jobs) j.key.fill(0);
    this.#jobs = [];
    this.#backlog = 0;
    for (const w of this.#waiters.splice(0)) w();
  }

  #resetTurn(): void {
    if (this.#turnReset) return;
    this.#turnReset = true;
    setImmediate(() => {
      this.#turnReset = false;
      this.#turnChunks = 0;
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#jobs.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => this.#slice());
  }

  #slice(): void {
    this.#scheduled = false;
    if (this.#stopped) return;
    const deadline = performance.now() + this.#sliceMs;
    try {
      this.#store.transaction(() => {
        while (this.#jobs.length > 0 && performance.now() < deadline) {
          const job = this.#jobs[0]!;
          const before = job.next;
          const finished = this.#work(job, deadline);
          this.#backlog -= job.next - before;
          if (!finished) break;
          this.#jobs.shift();
          this.#finish(job);
        }
      });
    } catch (e) {
      // The store failed (disk full, I/O error): the slice rolled back; report and drop the queue.
      this.#log?.error({ err: (e as Error).message, items: this.#jobs.length }, 'southbound supply failed');
      for (const j of this.#jobs) {
        j.key.fill(0);
        j.done(j.added);
      }
      this.#jobs = [];
      this.#backlog = 0;
    }
    if (this.#jobs.length > 0) this.#schedule();
    else for (const w of this.#waiters.splice(0)) w();
  }

  /** Stores `job` until done (true) or `deadline` (performance.now() ms) passes (false). */
  #work(job: Job, deadline: number): boolean {
    const s = this.#store;
    if (!job.begun) {
      job.begun = true;
      const from = s.beginItem(job.peer, job.blockId);
      if (from < 0) {
        if (job.mark) s.saveMark(job.mark);
        job.next = job.cutter.total;
        return true;
      }
      job.next = from;
    }
    const total = job.cutter.total;
    do {
      const upto = Math.min(total, job.next + STEP);
      const last = upto === total;
      const chunks = job.cutter.slice(job.next, upto);
      job.added += s.storeItemSlice(job.peer, job.blockId, chunks, upto, total, last ? job.mark : undefined);
      // The store has sealed them: erase the plaintext copies the cutter made (the job's own key buffer is
      // erased when the job ends).
      for (const c of chunks) if (c.material.buffer !== job.key.buffer) c.material.fill(0);
      job.next = upto;
    } while (job.next < total && performance.now() < deadline);
    return job.next >= total;
  }

  #finish(job: Job): void {
    job.key.fill(0);
    this.#unsynced.push(job);
    if (!this.#syncRunning) this.#syncing = this.#sync();
  }

  /** One fdatasync at a time; jobs finished meanwhile wait for the next one (coalesced). */
  async #sync(): Promise<void> {
    this.#syncRunning = true;
    while (this.#unsynced.length > 0) {
      const jobs = this.#unsynced.splice(0);
      try {
        await this.#store.syncWal();
      } catch (e) {
        this.#log?.error({ err: (e as Error).message }, 'southbound supply not synced');
      }
      for (const j of jobs) j.done(j.added);
    }
    this.#syncRunning = false;
  }
}
