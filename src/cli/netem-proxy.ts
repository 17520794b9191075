/**
 * A delaying TCP proxy (user-space stand-in for `tc qdisc … netem`, which some kernels lack): every
 * connection accepted on the listen address is forwarded to the target, each chunk of bytes held for the
 * one-way delay (plus uniform jitter) before it is written on. Byte order is kept: a chunk never leaves
 * before the one received ahead of it, so jitter stretches gaps but never reorders a stream (which TCP
 * would not do either).
 *
 * Loss: TCP never loses bytes silently, so `loss` means what a lossy path does to a TCP session that
 * gives up: each chunk is, with probability `loss`, the last — the proxy drops it and resets both sides
 * of that connection (`lossMode: 'reset'`, the default). `lossMode: 'drop'` drops the chunk and carries
 * on, so the receiver sees a stream with a hole (a broken or tampered channel), and `lossMode: 'corrupt'`
 * flips one bit of the chunk instead.
 *
 * Timing: Node's timers fire no sooner than 1 ms and late by up to another (libuv's clock counts whole
 * milliseconds), so a plain `setTimeout(delay)` turned a 0.5 ms one-way delay into ≈ 1.15 ms (a "1 ms"
 * round trip measured 2.3 ms on 127.0.0.1, 10 ms measured 10.5 ms). The delay line therefore sleeps on a
 * timer only until 1.5 ms before a chunk is due, and for the rest naps in slices of at most 0.1 ms
 * (Atomics.wait, which blocks the thread without using the CPU) between turns of the event loop
 * (setImmediate, so arriving bytes are read and stamped between naps): accurate to about 0.1 ms. Polling
 * the loop without napping was as accurate but kept this process on a core whenever a chunk was held —
 * at 1 ms RTT nearly always, which on a two-core machine took a core from the two ends it measured.
 *
 * Backpressure: when the far side's send buffer is full, or more than `maxQueuedBytes` wait in a
 * direction's delay line, the proxy stops reading from the near side until it drains.
 */
import net from 'node:net';
import { createRng, type Rng } from '../common/index.ts';

/** Options of a proxy. */
export interface NetemOptions {
  readonly listenHost?: string;
  /** Port to listen on; 0 picks a free one (see `address()` after `start()`). */
  readonly listenPort: number;
  readonly targetHost: string;
  readonly targetPort: number;
  /** One-way delay added to each direction, ms. */
  readonly delayMs: number;
  /** Uniform jitter ± this many ms around the delay (never below 0, never reordering). */
  readonly jitterMs?: number;
  /** Probability per forwarded chunk of a loss event (see the module comment). */
  readonly loss?: number;
  readonly lossMode?: 'reset' | 'drop' | 'corrupt';
  readonly maxQueuedBytes?: number;
  /** Seed of the jitter and loss draws (reproducible runs). */
  readonly seed?: string;
}

/** What a proxy has moved so far. */
export interface NetemCounters {
  connections: number;
  bytesForwarded: number;
  chunksForwarded: number;
  lossEvents: number;
  /** Turns of the event loop the delay lines took while holding chunks (naps, not spins: a few per chunk). */
  delayLineTurns: number;
}

/** How far ahead of a chunk's due time the delay line stops sleeping on a timer and naps instead. */
const TIMER_SLACK_MS = 1.5;
/** Longest nap between two turns of the event loop, ms (the delay line's resolution). */
const NAP_MS = 0.1;
/** What Atomics.wait blocks on (nothing ever notifies it: every nap ends by its timeout). */
const napCell = new Int32Array(new SharedArrayBuffer(4));

/** One direction's delay line: chunks with due times, released in order by a single timer. */
class DelayLine {
  readonly #queue: { due: number; chunk: Buffer }[] = [];
  #head = 0;
  #queued = 0;
  #lastDue = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | null = null;

  readonly from: net.Socket;
  readonly to: net.Socket;
  readonly o: NetemOptions;
  readonly rng: Rng;
  readonly counters: NetemCounters;
  readonly onLoss: () => void;

  constructor(
    from: net.Socket,
    to: net.Socket,
    o: NetemOptions,
    rng: Rng,
    counters: NetemCounters,
    onLoss: () => void,
  ) {
    this.from = from;
    this.to = to;
    this.o = o;
    this.rng = rng;
    this.counters = counters;
    this.onLoss = onLoss;
    from.on('data', (c: Buffer) => this.#push(c));
    to.on('drain', () => this.#maybeResume());
  }

  #push(chunk: Buffer): void {
    const jitter = this.o.jitterMs ? (this.rng.nextFloat() * 2 - 1) * this.o.jitterMs : 0;
    const due = Math.max(this.#lastDue, performance.now() + Math.max(0, this.o.delayMs + jitter));
    this.#lastDue = due;
    this.#queue.push({ due, chunk });
    this.#queued += chunk.length;
    if (this.#queued > (this.o.maxQueuedBytes ?? 16 * 2 ** 20)) this.from.pause();
    this.#arm();
  }

  #arm(): void {
    if (this.#timer || this.#head >= this.#queue.length) return;
    const wait = this.#queue[this.#head]!.due - performance.now();
    if (wait <= 0) return this.#release();
    const fire = () => {
      this.#timer = null;
      this.#release();
    };
    if (wait > TIMER_SLACK_MS) this.#timer = setTimeout(fire, wait - TIMER_SLACK_MS);
    else
      this.#timer = setImmediate(() => {
        // Nap until due (at most NAP_MS, so the loop still reads between naps), then release or re-arm.
        this.counters.delayLineTurns++;
        const left = (this.#queue[this.#head]?.due ?? 0) - performance.now();
        if (left > 0.02) Atomics.wait(napCell, 0, 0, Math.min(NAP_MS, left));
        fire();
      });
  }

  #release(): void {
    const now = performance.now();
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.due <= now + 0.05) {
      let { chunk } = this.#queue[this.#head++]!;
      this.#queued -= chunk.length;
      if (this.o.loss && this.rng.nextFloat() < this.o.loss) {
        this.counters.lossEvents++;
        const mode = this.o.lossMode ?? 'reset';
        if (mode === 'reset') return this.onLoss();
        if (mode === 'drop') continue;
        chunk = Buffer.from(chunk);
        const bit = Math.floor(this.rng.nextFloat() * chunk.length * 8);
        chunk[bit >>> 3]! ^= 1 << (bit & 7);
      }
      this.counters.bytesForwarded += chunk.length;
      this.counters.chunksForwarded++;
      if (!this.to.destroyed && !this.to.write(chunk)) this.from.pause();
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    this.#maybeResume();
    this.#arm();
  }

  #maybeResume(): void {
    if (!this.to.writableNeedDrain && this.#queued <= (this.o.maxQueuedBytes ?? 16 * 2 ** 20))
      this.from.resume();
  }

  /** Forwards the far end's close once everything queued has left. */
  endWhenFlushed(): void {
    const check = () => {
      if (this.#head >= this.#queue.length) this.to.end();
      else setTimeout(check, Math.max(1, this.#queue[this.#queue.length - 1]!.due - performance.now()));
    };
    check();
  }

  stop(): void {
    if (this.#timer) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
    }
    this.#timer = null;
  }
}

/** A running proxy. */
export class NetemProxy {
  readonly counters: NetemCounters = {
    connections: 0,
    bytesForwarded: 0,
    chunksForwarded: 0,
    lossEvents: 0,
    delayLineTurns: 0,
  };
  readonly #o: NetemOptions;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #rng: Rng;

  constructor(o: NetemOptions) {
    if (!(o.delayMs >= 0)) throw new RangeError(`delay must be ≥ 0 ms, got ${o.delayMs}`);
    if (o.loss !== undefined && !(o.loss >= 0 && o.loss <= 1)) throw new RangeError(`loss must be in [0, 1]`);
    this.#o = o;
    this.#rng = createRng(o.seed ?? 'netem');
    this.#server = net.createServer({ allowHalfOpen: true }, (c) => this.#accept(c));
  }

  /** Starts listening; resolves with the bound port. */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#o.listenPort, this.#o.listenHost ?? '127.0.0.1', () => resolve(this.port));
    });
  }

  /** The port the proxy listens on. */
  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  #accept(client: net.Socket): void {
    this.counters.connections++;
    const id = this.counters.connections;
    const target = net.connect({ port: this.#o.targetPort, host: this.#o.targetHost, allowHalfOpen: true });
    for (const s of [client, target]) {
      s.setNoDelay(true);
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    }
    const reset = () => {
      up.stop();
      down.stop();
      client.resetAndDestroy();
      target.resetAndDestroy();
    };
    const up = new DelayLine(client, target, this.#o, this.#rng.stream(`c${id}:up`), this.counters, reset);
    const down = new DelayLine(
      target,
      client,
      this.#o,
      this.#rng.stream(`c${id}:down`),
      this.counters,
      reset,
    );
    client.on('end', () => up.endWhenFlushed());
    target.on('end', () => down.endWhenFlushed());
    // An orderly close travels on after the delayed bytes (above); an abrupt one is passed on at once.
    client.on('error', () => target.destroy());
    target.on('error', () => client.destroy());
    client.on('close', (hadError) => (up.stop(), hadError && target.destroy()));
    target.on('close', (hadError) => (down.stop(), hadError && client.destroy()));
  }

  /** Stops listening and closes every forwarded connection. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
