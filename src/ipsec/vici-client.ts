// @edge: a Unix-socket client for strongSwan's VICI interface
/**
 * A VICI client over charon's Unix stream socket (strongSwan 5.9 `plugins/vici/README.md`, "Client
 * initiated operations" and "Server issued events"). charon answers the requests of one connection in
 * order, so pending operations wait in a FIFO: a command request expects CMD_RESPONSE or CMD_UNKNOWN, an
 * event (un)registration expects EVENT_CONFIRM or EVENT_UNKNOWN. EVENT packets may arrive between them and
 * go to the listeners registered for their name. Streamed commands (`list-sas`, `initiate` with its
 * `control-log`) are a registration, the request, and the events that arrived before its response.
 */
import { connect, type Socket } from 'node:net';
import { QkdnetError } from '../common/index.ts';
import {
  decodePacket,
  encodePacket,
  VICI_PACKET,
  ViciFramer,
  viciText,
  type ViciMessage,
  type ViciMessageIn,
  type ViciPacket,
} from './vici-codec.ts';

type Pending = {
  readonly kind: 'command' | 'event';
  readonly what: string;
  resolve(p: ViciPacket): void;
  reject(e: Error): void;
};

/** A listener for one event name. */
export type ViciEventListener = (msg: ViciMessage) => void;

/** An open VICI connection. Create with `ViciClient.connect(socketPath)`. */
export class ViciClient {
  readonly #socket: Socket;
  readonly #framer = new ViciFramer();
  readonly #pending: Pending[] = [];
  readonly #listeners = new Map<string, Set<ViciEventListener>>();
  readonly #onListenerError: (e: Error, event: string) => void;
  #closed: Error | undefined;

  private constructor(socket: Socket, onListenerError: (e: Error, event: string) => void) {
    this.#socket = socket;
    this.#onListenerError = onListenerError;
    socket.on('data', (chunk) => this.#onData(chunk));
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => this.#fail(new Error('VICI socket closed')));
  }

  /**
   * Connects to a charon VICI socket path (`/var/run/charon.vici` or a harness socket). `onListenerError`
   * receives exceptions thrown by event listeners (default: a process warning), which never reach the socket.
   */
  static connect(
    socketPath: string,
    timeoutMs = 5000,
    onListenerError: (e: Error, event: string) => void = defaultListenerError,
  ): Promise<ViciClient> {
    return new Promise((resolve, reject) => {
      const s = connect(socketPath);
      const timer = setTimeout(() => {
        s.destroy();
        reject(unavailable(`Cannot connect to VICI at ${socketPath}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(new ViciClient(s, onListenerError));
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(unavailable(`Cannot connect to VICI at ${socketPath}: ${e.message}`));
      });
    });
  }

  /** Sends a command and returns its response message; unknown commands throw IPSEC_UNAVAILABLE. */
  async request(command: string, msg?: ViciMessageIn): Promise<ViciMessage> {
    const p = await this.#send('command', command, encodePacket(VICI_PACKET.CMD_REQUEST, command, msg));
    if (p.type === VICI_PACKET.CMD_UNKNOWN)
      throw unavailable(`charon does not know VICI command "${command}"`);
    return p.message ?? {};
  }

  /**
   * Like `request`, but throws IPSEC_UNAVAILABLE when the response says `success = no` (the message then
   * carries charon's `errmsg`, which never contains key material).
   */
  async call(command: string, msg?: ViciMessageIn): Promise<ViciMessage> {
    const r = await this.request(command, msg);
    if (viciText(r, 'success') === 'no')
      throw unavailable(`VICI ${command} failed: ${viciText(r, 'errmsg') ?? 'no reason given'}`);
    return r;
  }

  /** Registers a listener for `event`; returns a function that unregisters it. */
  async listen(event: string, listener: ViciEventListener): Promise<() => Promise<void>> {
    let set = this.#listeners.get(event);
    if (!set) {
      const p = await this.#send('event', event, encodePacket(VICI_PACKET.EVENT_REGISTER, event));
      if (p.type === VICI_PACKET.EVENT_UNKNOWN)
        throw unavailable(`charon does not know VICI event "${event}"`);
      set = this.#listeners.get(event) ?? new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return async () => {
      set.delete(listener);
      if (set.size > 0 || this.#closed) return;
      this.#listeners.delete(event);
      await this.#send('event', event, encodePacket(VICI_PACKET.EVENT_UNREGISTER, event));
    };
  }

  /** A streamed command: registers `event`, sends `command`, returns the response and the events before it. */
  async stream(
    command: string,
    event: string,
    msg?: ViciMessageIn,
  ): Promise<{ response: ViciMessage; events: ViciMessage[] }> {
    const events: ViciMessage[] = [];
    const stop = await this.listen(event, (m) => events.push(m));
    try {
      const response = await this.request(command, msg);
      return { response, events };
    } finally {
      await stop().catch(() => undefined);
    }
  }

  /** Closes the connection; pending operations are rejected. */
  close(): void {
    this.#fail(new Error('VICI client closed'));
    this.#socket.destroy();
  }

  #send(kind: Pending['kind'], what: string, packet: Buffer): Promise<ViciPacket> {
    if (this.#closed) return Promise.reject(unavailable(`VICI ${what}: ${this.#closed.message}`));
    return new Promise((resolve, reject) => {
      this.#pending.push({ kind, what, resolve, reject });
      this.#socket.write(packet);
    });
  }

  /**
   * Socket 'data' handler: never throws. A packet that cannot be framed or decoded, or an answer nobody
   * asked for, is a protocol violation that ends the connection (every pending operation rejects with
   * IPSEC_UNAVAILABLE); an event listener that throws is isolated from the others and from the connection
   * and reported through `onListenerError` (a warning by default).
   */
  #onData(chunk: Buffer): void {
    let packets: ViciPacket[];
    try {
      packets = this.#framer.push(chunk).map((payload) => decodePacket(payload));
    } catch (e) {
      this.#violation(`undecodable packet (${(e as Error).message})`);
      return;
    }
    for (const p of packets) {
      if (p.type === VICI_PACKET.EVENT) {
        for (const l of this.#listeners.get(p.name ?? '') ?? []) {
          try {
            l(p.message ?? {});
          } catch (e) {
            this.#onListenerError(e as Error, p.name ?? '');
          }
        }
        continue;
      }
      const head = this.#pending.shift();
      if (!head) {
        this.#violation(`packet type ${p.type} arrived unasked`);
        return;
      }
      const isCommandAnswer = p.type === VICI_PACKET.CMD_RESPONSE || p.type === VICI_PACKET.CMD_UNKNOWN;
      if ((head.kind === 'command') !== isCommandAnswer)
        head.reject(unavailable(`VICI ${head.what}: answer of type ${p.type} out of order`));
      else head.resolve(p);
    }
  }

  #violation(what: string): void {
    this.#fail(new Error(`protocol violation from charon: ${what}`));
    this.#socket.destroy();
  }

  #fail(e: Error): void {
    if (this.#closed) return;
    this.#closed = e;
    for (const p of this.#pending.splice(0)) p.reject(unavailable(`VICI ${p.what}: ${e.message}`));
  }
}

function defaultListenerError(e: Error, event: string): void {
  process.emitWarning(`VICI listener for "${event}" threw: ${e.message}`, 'ViciListenerWarning');
}

function unavailable(message: string): QkdnetError {
  return new QkdnetError('IPSEC_UNAVAILABLE', message);
}
