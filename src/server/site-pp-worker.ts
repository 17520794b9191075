// @edge: the TCP ends of a site's link post-processing (a worker thread of the `qkdnet site` process).
/**
 * Worker thread of one site (./site-pp.ts): this site's ends of its links' post-processing, run two-party
 * with the peer sites over TCP — the two-party runtime of src/postprocess (two-party-pipeline.ts, one
 * block as one unit, over tcp-transport.ts with its handshake and the length-prefixed wire items of
 * `qkdnet pp-peer`), every message authenticated (Wegman–Carter, transcript mode). For each link
 * (./site-links.ts) Alice — the link's `from` end — listens and Bob connects; a connection starts with
 * one line naming the block (`{"link":…,"block":…}`), then the handshake compares every parameter of
 * the block (link, run, block, pulses, time, attack, key mode), so two ends that disagree refuse each
 * other before any unit runs.
 *
 * Each end simulates the block's physics from the shared seed (the link engine, src/postprocess
 * distill.ts `simulateLinkBlock`) and keeps only its own view (`splitRecord`): Alice her bits, bases and
 * intensities, Bob his clicks, bases and bits. With `keys: 'secret'` the key bits are relabelled with a
 * stream keyed by the link's pre-shared secret and the block (the stand-in for the photons, so no one
 * recomputes them from the seed), each block's authentication key is drawn from the same secret, and the
 * hash keys and privacy-amplification seeds come from node:crypto — as `qkdnet pp-peer --mode pipeline
 * --preshared`. With `keys: 'deterministic'` all of it follows the seed (provenance
 * simulated-deterministic).
 *
 * The final key of a block leaves this thread only to the site's main thread (a transferred buffer),
 * which supplies it to the site's own KME. Work runs here, off the site's event loop, so the KME keeps
 * answering (and heartbeats keep flowing) while a block of 10⁹ pulses is simulated and reconciled.
 */
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import {
  BitArray,
  createRng,
  keyedSecretSource,
  type KeyBlockEstimates,
  QkdnetError,
  seededSecretSource,
  systemSecretSource,
} from '../common/index.ts';
import type { AttackSpec } from '../qkd/index.ts';
import {
  AliceBlock,
  AuthKeyPool,
  bitsToBytes,
  blockStream,
  BobBlock,
  relabelKeyBits,
  runMuxOverSocket,
  simulateLinkBlock,
  splitRecord,
  UNIT_AUTH_BITS,
  UnitMux,
  type BlockOptions,
} from '../postprocess/index.ts';
import { readPresharedFile, readSiteLinks, type SiteLinkEnd } from './site-links.ts';

/** Protocol name carried in the handshake parameters. */
export const SITE_PP_PROTOCOL = 'qkdnet-site-pp/1';

/** How long Alice holds a connection for a block she has not been ordered yet, and an order Bob never connects for. */
const ORDER_WAIT_MS = 60_000;
/** Bob's connection attempts to Alice (her site may be starting) and the pause between them. */
const CONNECT_TRIES = 10;
const CONNECT_PAUSE_MS = 1000;
/** Longest silence from the peer within a block. */
const IDLE_MS = 120_000;

/** An order from the site's main thread. */
export interface PpOrder {
  readonly linkId: string;
  readonly block: number;
  readonly attack: AttackSpec | null;
  readonly timeNs: number;
}

/** The answer to an order: this end's final key (a transferred buffer) or why there is none. */
export type PpResult =
  | {
      readonly ok: true;
      readonly linkId: string;
      readonly block: number;
      readonly peerKme: string;
      readonly blockId: string;
      readonly key: ArrayBuffer;
      readonly bits: number;
      readonly estimates: KeyBlockEstimates;
      readonly createdNs: number;
      readonly provenance: 'qkd' | 'simulated-deterministic';
    }
  | { readonly ok: false; readonly linkId: string; readonly block: number; readonly reason: string };

/** The options both ends of every block use (those of `qkdnet pp-peer --mode pipeline`). */
const BLOCK_OPTIONS: BlockOptions = {
  algorithm: 'cascade-improved',
  epsSec: 1e-10,
  epsCor: 1e-15,
  paFamily: 'multiply-add-shift',
  qberThreshold: 0.11,
};

/** The handshake parameters of one block (both ends must give the same). */
function blockParams(end: SiteLinkEnd, o: PpOrder) {
  return {
    protocol: SITE_PP_PROTOCOL,
    link: end.linkId,
    run: end.runId,
    block: o.block,
    pulses: end.pulses,
    time_ns: o.timeNs,
    attack: JSON.stringify(o.attack),
    keys: end.keys,
  };
}

/**
 * Runs this end of one block over `socket` (handshake done by runMuxOverSocket); resolves with the
 * result. The unit's key material is erased on every path but the successful one, whose key is copied
 * into the transferred buffer and then erased here.
 */
async function runBlock(
  end: SiteLinkEnd,
  o: PpOrder,
  socket: net.Socket,
  psk: Uint8Array | null,
): Promise<PpResult> {
  const fail = (reason: string): PpResult => ({ ok: false, linkId: end.linkId, block: o.block, reason });
  const secret = end.keys === 'secret';
  const label = `qkdnet site pp ${end.linkId} ${end.runId} ${o.block}`;
  const lb = simulateLinkBlock({
    seed: end.seed,
    linkId: end.linkId,
    blockIndex: o.block,
    pulses: end.pulses,
    params: end.params,
    distanceKm: end.distanceKm,
    startNs: o.timeNs,
    ...(o.attack ? { attack: o.attack } : {}),
  });
  const physics = blockStream(end.seed, end.linkId, o.block);
  relabelKeyBits(
    lb.raw,
    secret ? keyedSecretSource(psk!, `${label} relabel`) : seededSecretSource(physics.stream('secret')),
  );
  const views = splitRecord(lb.raw);
  // This end keeps its own half; the other half is erased here.
  if (end.role === 'alice') views.bob.bobBit.wipe();
  else views.alice.aliceBit.wipe();
  const authBits = BitArray.random(
    UNIT_AUTH_BITS,
    secret ? keyedSecretSource(psk!, `${label} auth`) : physics.stream('auth'),
  );
  const pool = new AuthKeyPool(authBits);
  authBits.wipe();
  const pub = createRng(`${end.seed}:site-pp:${end.linkId}:${end.runId}:${o.block}`);
  const random = {
    public: pub,
    secret: secret ? systemSecretSource : seededSecretSource(physics.stream('private')),
  };
  const unit =
    end.role === 'alice'
      ? new AliceBlock(0, pool, BLOCK_OPTIONS, views.alice, random)
      : new BobBlock(0, pool, BLOCK_OPTIONS, views.bob, random);
  let result: PpResult | undefined;
  const mux = new UnitMux({
    role: end.role === 'bob' ? 'initiator' : 'responder',
    units: 1,
    window: 1,
    create: () => unit,
    onOutcome: (oc) => {
      const key = unit.finalKey;
      if (!oc.ok || !key) {
        key?.wipe();
        result = fail(oc.ok ? 'no-final-key' : oc.reason);
        return;
      }
      const bytes = bitsToBytes(key);
      const buf = new ArrayBuffer(bytes.length);
      new Uint8Array(buf).set(bytes);
      bytes.fill(0);
      result = {
        ok: true,
        linkId: end.linkId,
        block: o.block,
        peerKme: end.peerKme,
        blockId: `${end.runId}:${o.block}`,
        key: buf,
        bits: key.length,
        estimates: {
          qber: unit.stats.qber,
          phaseErrorBound: unit.phaseErrorBound,
          leakedBits: unit.stats.leak_ec_bits,
          epsilonSec: BLOCK_OPTIONS.epsSec,
          epsilonCor: BLOCK_OPTIONS.epsCor,
        },
        createdNs: o.timeNs,
        provenance: secret ? 'qkd' : 'simulated-deterministic',
      };
      key.wipe();
    },
  });
  try {
    await runMuxOverSocket(socket, mux, {
      role: end.role === 'bob' ? 'initiator' : 'responder',
      params: blockParams(end, o),
      idleTimeoutMs: IDLE_MS,
    });
  } catch (e) {
    socket.destroy();
    if (result?.ok) new Uint8Array(result.key).fill(0);
    return fail(e instanceof QkdnetError ? `${e.code}: ${e.message}` : (e as Error).message);
  }
  return result ?? fail('no-outcome');
}

/** Bob: connects to Alice (retrying while her site starts) and names the block. */
async function connectBob(end: SiteLinkEnd, o: PpOrder): Promise<net.Socket> {
  let last = '';
  for (let i = 0; i < CONNECT_TRIES; i++) {
    try {
      const s = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect(end.port, end.host, () => resolve(c));
        c.once('error', reject);
      });
      s.write(`${JSON.stringify({ link: end.linkId, block: o.block })}\n`);
      return s;
    } catch (e) {
      last = (e as Error).message;
      await new Promise((r) => setTimeout(r, CONNECT_PAUSE_MS));
    }
  }
  throw new QkdnetError(
    'PP_PEER_DISCONNECTED',
    `cannot reach the peer site at ${end.host}:${end.port}: ${last}`,
  );
}

/** Alice: reads the line naming the block; the bytes after it are put back for the transport. */
function readPreamble(socket: net.Socket): Promise<{ link: string; block: number }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('no block named')), 10_000);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (buf.length > 1024) done(new Error('preamble too long'));
        return;
      }
      const rest = buf.subarray(nl + 1);
      try {
        const p = JSON.parse(buf.subarray(0, nl).toString('utf8')) as { link?: unknown; block?: unknown };
        if (typeof p.link !== 'string' || !Number.isSafeInteger(p.block)) throw new Error('bad preamble');
        done(undefined, { link: p.link, block: p.block as number }, rest);
      } catch (e) {
        done(e as Error);
      }
    };
    const done = (e?: Error, v?: { link: string; block: number }, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onErr);
      socket.pause();
      if (e) {
        socket.destroy();
        return reject(e);
      }
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(v!);
    };
    const onErr = (e: Error) => done(e);
    socket.on('data', onData);
    socket.once('error', onErr);
  });
}

/** Starts this site's ends (`dir`'s links.json); `post` receives every result. */
export function startSitePp(dir: string, post: (r: PpResult, transfer: ArrayBuffer[]) => void) {
  const ends = new Map(readSiteLinks(dir).map((e) => [e.linkId, e]));
  const psks = new Map<string, Uint8Array | null>();
  for (const e of ends.values())
    psks.set(e.linkId, e.keys === 'secret' ? readPresharedFile(dir, e.preshared) : null);
  /** Alice's side: orders waiting for Bob's connection, and connections waiting for their order. */
  const orders = new Map<string, { o: PpOrder; timer: NodeJS.Timeout }>();
  const sockets = new Map<string, { socket: net.Socket; timer: NodeJS.Timeout }>();
  const key = (link: string, block: number) => `${link}\n${block}`;
  const emit = (r: PpResult) => post(r, r.ok ? [r.key] : []);
  const run = (end: SiteLinkEnd, o: PpOrder, socket: net.Socket) => {
    socket.resume();
    void runBlock(end, o, socket, psks.get(end.linkId)!).then(emit);
  };
  const servers: net.Server[] = [];
  for (const end of ends.values()) {
    if (end.role !== 'alice') continue;
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined); // the transport reports what matters
      readPreamble(socket).then(
        ({ link, block }) => {
          if (link !== end.linkId) return void socket.destroy();
          const k = key(link, block);
          const waiting = orders.get(k);
          if (waiting) {
            clearTimeout(waiting.timer);
            orders.delete(k);
            return run(end, waiting.o, socket);
          }
          sockets.get(k)?.socket.destroy();
          const timer = setTimeout(() => {
            sockets.delete(k);
            socket.destroy();
          }, ORDER_WAIT_MS);
          sockets.set(k, { socket, timer });
        },
        () => undefined,
      );
    });
    server.on('error', (e) =>
      emit({ ok: false, linkId: end.linkId, block: -1, reason: `cannot listen: ${e.message}` }),
    );
    server.listen(end.port, end.host);
    servers.push(server);
  }
  return {
    order(o: PpOrder): void {
      const end = ends.get(o.linkId);
      if (!end) return emit({ ok: false, linkId: o.linkId, block: o.block, reason: 'no such link here' });
      if (end.role === 'bob') {
        void connectBob(end, o).then(
          (socket) => run(end, o, socket),
          (e: Error) => emit({ ok: false, linkId: o.linkId, block: o.block, reason: e.message }),
        );
        return;
      }
      const k = key(o.linkId, o.block);
      const s = sockets.get(k);
      if (s) {
        clearTimeout(s.timer);
        sockets.delete(k);
        return run(end, o, s.socket);
      }
      const timer = setTimeout(() => {
        orders.delete(k);
        emit({
          ok: false,
          linkId: o.linkId,
          block: o.block,
          reason: 'peer-disconnected: Bob never connected',
        });
      }, ORDER_WAIT_MS);
      orders.set(k, { o, timer });
    },
    close(): void {
      for (const s of servers) s.close();
      for (const { timer } of orders.values()) clearTimeout(timer);
      for (const { socket, timer } of sockets.values()) (clearTimeout(timer), socket.destroy());
      for (const p of psks.values()) p?.fill(0);
    },
  };
}

if (parentPort && (workerData as { sitePp?: string } | undefined)?.sitePp) {
  const port = parentPort;
  const pp = startSitePp((workerData as { sitePp: string }).sitePp, (r, transfer) =>
    port.postMessage(r, transfer),
  );
  port.on('message', (m: PpOrder | 'close') => {
    if (m === 'close') {
      pp.close();
      port.close();
    } else pp.order(m);
  });
}
