// @edge: the TCP adapter of the two-party runtime (sockets live here, the protocols stay sans-IO)
/**
 * Carries the items of a unit multiplexer (unit-mux.ts) over one TCP connection. Each frame is a 4-byte
 * big-endian length and one item in its wire form (wire-items.ts): the sealed message's canonical bytes,
 * which are the bytes authentication hashes at both ends. The handshake's frames use the general
 * canonical encoding (message-encoding.ts). Nagle is off.
 *
 * Streaming: answers leave in one write per `flushBudgetMs` of work (default 0.4 ms) while a received
 * chunk is handled, and the rest after the event loop's turn. With many units in flight a chunk holds a
 * message of every unit (one round of each); answering all of them in one write after the turn made the
 * two ends take turns, each idle while the other computed. Flushing early answers lets the peer start on
 * them while this end finishes the chunk, so both ends compute at once; the budget keeps writes (a
 * system call each) few: one per ~0.4 ms of work.
 *
 * Backpressure: when the socket's send buffer is full (`write()` returns false) the responding end
 * (Alice, who only ever answers) stops reading until it drains, so a slow peer slows its sender instead of
 * growing queues without bound. The initiating end (Bob) always reads: if both ends stopped reading while
 * their send buffers were full, neither buffer would ever drain (a deadlock, seen with a block's
 * multi-megabyte sifting messages over a direct connection). Bob's own queue stays bounded by his window,
 * since each unit is lockstep. Frames longer than `maxFrameBytes` are refused.
 *
 * Handshake: each end first sends `{hello: PROTOCOL, role, params}`. The responder compares the
 * initiator's parameters with its own and answers `{welcome}` or `{refuse: reason}` and closes; the
 * initiator reports a refusal as PP_HANDSHAKE_REFUSED naming the first differing parameter. The hello is
 * not authenticated: changing it can only make the ends refuse each other or disagree in a way the
 * authenticated units then reject.
 *
 * Failure: if the connection ends before every unit has, the open units are aborted at this end (their
 * key material erased, nothing emitted) and the run fails with PP_PEER_DISCONNECTED.
 */
import type { Socket } from 'node:net';
import { QkdnetError } from '../common/index.ts';
import { encodeMessage } from './message-encoding.ts';
import { decodeMessage } from './message-decoding.ts';
import { ByteWriter } from './byte-writer.ts';
import { decodeItem, writeItem } from './wire-items.ts';
import type { MuxItem, UnitMux } from './unit-mux.ts';

/** Protocol name and version carried in the hello. */
export const PP_PROTOCOL = 'qkdnet-postprocess/1';

/**
 * Largest frame accepted by default, bytes: a block's sifting announcement carries 8 bytes per detection
 * (10⁷ detections ≈ 80 MB); reconciliation messages are far smaller.
 */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 2 ** 20;

/** A send buffer holding more than this is written at once (and not kept at that size). */
const LARGE_BATCH_BYTES = 1 << 20;

/** Work, ms, after which a handler's queued answers are written while it handles the rest of a chunk. */
export const DEFAULT_FLUSH_BUDGET_MS = 0.4;

/** Bytes sent and received over one connection. */
export interface TransportCounters {
  bytesSent: number;
  bytesReceived: number;
  framesSent: number;
  framesReceived: number;
}

/** Parameters both ends must agree on (compared key by key at the handshake). */
export type PeerParams = Readonly<Record<string, string | number | boolean>>;

/** Length-prefixed frames over a socket, with backpressure. */
export class FrameSocket {
  readonly socket: Socket;
  readonly counters: TransportCounters = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0 };
  readonly #max: number;
  /** Stop reading while our own writes are backed up (the responding end only, see above). */
  readonly #pauseOnBackpressure: boolean;
  /** Received bytes not yet handed out as frames, and how many the frame in progress needs. */
  #chunks: Buffer[] = [];
  #have = 0;
  #need = 4;
  /**
   * Frames queued since the last write, length prefixes included, in one reusable buffer: items are
   * encoded straight into it (`beginFrame`), so sending allocates nothing per message; a write copies
   * the batch out once.
   */
  readonly #out = new ByteWriter();
  /** Where the frame being written starts (its length prefix), or −1. */
  #frameAt = -1;
  /** A write after this turn of the event loop is scheduled. */
  #scheduled = false;
  readonly #flushLater = () => {
    this.#scheduled = false;
    this.flush();
  };
  /** Milliseconds of handling received frames after which queued answers are written (see above). */
  readonly #budgetMs: number;
  #onFrame: (payload: Uint8Array) => void = () => {};

  constructor(
    socket: Socket,
    maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
    pauseOnBackpressure = true,
    flushBudgetMs = DEFAULT_FLUSH_BUDGET_MS,
  ) {
    this.socket = socket;
    this.#max = maxFrameBytes;
    this.#pauseOnBackpressure = pauseOnBackpressure;
    this.#budgetMs = flushBudgetMs;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    if (pauseOnBackpressure) socket.on('drain', () => socket.resume());
  }

  /** Receives every complete frame's payload, in order. */
  onFrame(handler: (payload: Uint8Array) => void): void {
    this.#onFrame = handler;
  }

  /**
   * Starts a frame in the send buffer: write its payload into the returned writer (nothing else), then
   * call `endFrame`. Queued frames leave together in one write after `flushBudgetMs` of handling a
   * received chunk, or once the event loop has handled everything that arrived in this turn
   * (setImmediate runs after the poll phase), so answers to many units cost few system calls.
   */
  beginFrame(): ByteWriter {
    if (this.#frameAt >= 0) throw new Error('FrameSocket: a frame is already open');
    this.#frameAt = this.#out.length;
    this.#out.u32(0); // the length prefix, filled in by endFrame
    return this.#out;
  }

  /** Ends the frame `beginFrame` started (dropped when the socket is gone). */
  endFrame(): void {
    const at = this.#frameAt;
    this.#frameAt = -1;
    if (at < 0) throw new Error('FrameSocket: no frame is open');
    const len = this.#out.length - at - 4;
    if (this.socket.destroyed) {
      this.#out.truncate(at);
      return;
    }
    this.#out.setU32BE(at, len);
    this.counters.bytesSent += 4 + len;
    this.counters.framesSent++;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushLater);
    }
    // A large frame (a block's sifting announcement) leaves at once rather than growing the buffer.
    if (this.#out.length > LARGE_BATCH_BYTES) this.flush();
  }

  /** Queues one frame (its payload copied into the send buffer). */
  send(payload: Uint8Array): void {
    if (this.socket.destroyed) return;
    this.beginFrame().raw(payload);
    this.endFrame();
  }

  /** Writes the queued frames now (before ending the connection). */
  flush(): void {
    const out = this.#out;
    const total = out.length;
    if (total === 0 || this.#frameAt >= 0) return;
    if (this.socket.destroyed) {
      out.reset();
      return;
    }
    // The socket may hold on to what it is given until it drains: a batch is copied out once, a large
    // one handed over whole (the buffer starts afresh).
    let data: Uint8Array;
    if (total > LARGE_BATCH_BYTES) data = out.detach();
    else {
      data = Buffer.allocUnsafe(total);
      data.set(out.view());
      out.reset();
    }
    const ok = this.socket.write(data);
    // The peer reads slower than we write: stop taking its requests until our answers drain.
    if (!ok && this.#pauseOnBackpressure) this.socket.pause();
  }

  #data(chunk: Buffer): void {
    this.counters.bytesReceived += chunk.length;
    // Chunks are gathered until the frame in progress is complete and joined once: joining at every
    // chunk would copy a large frame (a block's sifting announcement, tens of MB) over and over.
    this.#chunks.push(chunk);
    this.#have += chunk.length;
    if (this.#have < this.#need) return;
    const buf = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#have);
    this.#chunks = [];
    this.#have = 0;
    this.#need = 4;
    let at = 0;
    let since = performance.now();
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at);
      if (len > this.#max) {
        this.socket.destroy(
          new QkdnetError(
            'PP_PROTOCOL_ERROR',
            `peer sent a ${len}-byte frame, above the ${this.#max}-byte limit`,
          ),
        );
        return;
      }
      if (buf.length - at - 4 < len) {
        this.#need = 4 + len;
        break;
      }
      const payload = bytes.subarray(at + 4, at + 4 + len);
      at += 4 + len;
      this.counters.framesReceived++;
      this.#onFrame(payload);
      if (this.socket.destroyed) return;
      if (this.#out.length > 0) {
        const now = performance.now();
        if (now - since >= this.#budgetMs) {
          this.flush();
          since = now;
        }
      }
    }
    if (at < buf.length) {
      this.#chunks.push(buf.subarray(at));
      this.#have = buf.length - at;
    }
  }
}

/** The first parameter whose values differ, as a sentence; null when both agree. */
export function paramMismatch(mine: PeerParams, theirs: PeerParams): string | null {
  for (const k of [...new Set([...Object.keys(mine), ...Object.keys(theirs)])].sort()) {
    if (mine[k] !== theirs[k])
      return `parameter ${k} differs (this end: ${String(mine[k])}, peer: ${String(theirs[k])})`;
  }
  return null;
}

/** Options of `runMuxOverSocket`. */
export interface MuxSocketOptions {
  readonly role: 'initiator' | 'responder';
  readonly params: PeerParams;
  readonly maxFrameBytes?: number;
  /** Fail with PP_PEER_DISCONNECTED after this long without a byte from the peer (default 30 s). */
  readonly idleTimeoutMs?: number;
}

/**
 * Runs the handshake and then the multiplexer over `socket` until every unit has ended at this end (and,
 * for the responder, the initiator has closed). Resolves with the byte counters; rejects with a
 * QkdnetError on refusal, disconnection or a malformed frame (open units aborted first).
 */
export function runMuxOverSocket(
  socket: Socket,
  mux: UnitMux,
  o: MuxSocketOptions,
): Promise<TransportCounters> {
  const fs = new FrameSocket(socket, o.maxFrameBytes, o.role === 'responder');
  const send = (v: unknown) => fs.send(encodeMessage(v));
  const sendItems = (items: MuxItem[]) => {
    for (let i = 0; i < items.length; i++) {
      writeItem(fs.beginFrame(), items[i]!);
      fs.endFrame();
    }
  };
  return new Promise((resolve, reject) => {
    let state: 'hello' | 'welcome' | 'running' | 'finished' | 'failed' = 'hello';
    const fail = (e: QkdnetError) => {
      if (state === 'failed' || state === 'finished') return;
      state = 'failed';
      mux.abortAll(e.code === 'PP_PROTOCOL_ERROR' ? 'protocol-error' : 'peer-disconnected', e.message);
      socket.destroy();
      reject(e);
    };
    const finish = () => {
      if (state !== 'running') return;
      state = 'finished';
      socket.setTimeout(0);
      fs.flush();
      socket.end();
      resolve(fs.counters);
    };
    const checkDone = () => {
      if (mux.done) finish();
    };
    // Initiator: starts one unit, writes its first messages now, and comes back next turn for the next
    // while the window has room (units that end make room; see the welcome below).
    let ramping = false;
    const ramp = () => {
      ramping = false;
      if (state !== 'running' || !mux.canStart) return;
      sendItems(mux.pump(1));
      fs.flush();
      checkDone();
      // A large first message (a block's sifting announcement) leaves over several turns of the event
      // loop; preparing the next unit first would hold it back, so the next starts once it has drained.
      if (socket.writableNeedDrain) {
        ramping = true;
        socket.once('drain', () => {
          ramping = false;
          scheduleRamp();
        });
      } else scheduleRamp();
    };
    const scheduleRamp = () => {
      if (ramping || state !== 'running' || !mux.canStart) return;
      ramping = true;
      setImmediate(ramp);
    };
    fs.onFrame((payload) => {
      if (state === 'finished' || state === 'failed') return;
      let v: unknown;
      try {
        v = state === 'running' ? decodeItem(payload) : decodeMessage(payload);
      } catch (e) {
        return fail(new QkdnetError('PP_PROTOCOL_ERROR', (e as Error).message));
      }
      if (state === 'running') {
        sendItems(mux.receive(v as MuxItem));
        scheduleRamp();
        return checkDone();
      }
      const m = v as Record<string, unknown>;
      if (state === 'hello') {
        if (m.hello !== PP_PROTOCOL)
          return fail(
            new QkdnetError('PP_PROTOCOL_ERROR', `peer speaks ${String(m.hello)}, not ${PP_PROTOCOL}`),
          );
        if (o.role === 'responder') {
          const why =
            m.role === o.role
              ? 'both ends are the responder'
              : paramMismatch(o.params, m.params as PeerParams);
          if (why) {
            send({ refuse: why });
            state = 'failed';
            fs.flush();
            socket.end();
            reject(new QkdnetError('PP_HANDSHAKE_REFUSED', `refused the peer: ${why}`, { reason: why }));
            return;
          }
          send({ welcome: PP_PROTOCOL });
          state = 'running';
          return checkDone();
        }
        state = 'welcome';
        return;
      }
      if (state === 'welcome') {
        if (typeof m.refuse === 'string') {
          state = 'failed';
          socket.destroy();
          reject(
            new QkdnetError('PP_HANDSHAKE_REFUSED', `the peer refused: ${m.refuse}`, { reason: m.refuse }),
          );
          return;
        }
        if (m.welcome !== PP_PROTOCOL)
          return fail(new QkdnetError('PP_PROTOCOL_ERROR', 'no welcome from the peer'));
        state = 'running';
        // Units start one per turn of the event loop, each one's first messages written at once: the
        // peer works on the first while this end prepares the next (a block's simulation, a frame's
        // setup), instead of waiting for the whole window to be prepared.
        mux.startPerReceive = 1;
        ramp();
        return;
      }
    });
    socket.setTimeout(o.idleTimeoutMs ?? 30_000, () =>
      fail(
        new QkdnetError(
          'PP_PEER_DISCONNECTED',
          `no data from the peer for ${(o.idleTimeoutMs ?? 30_000) / 1000} s with ${mux.inFlight} unit(s) open; they were discarded at this end`,
        ),
      ),
    );
    let lastError: unknown = null;
    socket.on('error', (e) => (lastError = e)); // reported through 'close' below, with the units it cost
    socket.on('close', () => {
      if (state === 'finished' || state === 'failed') return;
      if (lastError instanceof QkdnetError) return fail(lastError);
      const open = mux.inFlight;
      fail(
        new QkdnetError(
          'PP_PEER_DISCONNECTED',
          `the peer disconnected with ${open} unit(s) open and ${mux.finished} finished; the open ones were discarded at this end`,
          { open, finished: mux.finished },
        ),
      );
    });
    send({ hello: PP_PROTOCOL, role: o.role, params: o.params });
  });
}
