// @edge: the body of one `qkdnet site` OS process: a KME server, its store and the supervisor's IPC channel.
/**
 * One site of a live network run with `qkdnet up --sites processes|netns`: this node's KME in its own OS
 * process, started from `<dir>/kme.yaml` (the same file `qkdnet kme serve --config` reads) with the
 * site's own certificates and its own SQLite store in `<dir>`, which the site locks for its lifetime (a
 * second process on the same site refuses to start, ./kms store-lock.ts). It takes part in key relay
 * (src/network live-relay.ts) over mutual TLS with its peer sites, runs its end of each of its links'
 * post-processing with the peer site when the supervisor orders a block (./site-pp.ts; the key goes
 * straight to this site's KME), and answers heartbeats with its pool levels.
 *
 * It ends when the supervisor says `stop`, on SIGTERM/SIGINT, or when the IPC channel closes (the
 * supervisor died): in every case the KME closes its store first, so nothing acknowledged is lost. A
 * SIGKILL loses nothing acknowledged either — the store is durable before any answer — and the kernel
 * drops the locks.
 */
import { join, resolve } from 'node:path';
import pino from 'pino';
import {
  LOG_REDACT,
  loadKmeConfig,
  lockDataDir,
  startKme,
  type KmeHandle,
  type PoolLevel,
} from '../kms/index.ts';
import { attachLiveRelay, type LiveRelayNode } from '../network/index.ts';
import { startSitePpWorker, type SitePp } from './site-pp.ts';
import { SITE_CONFIG, type FromSite, type ToSite } from './site-protocol.ts';

function send(m: FromSite): void {
  if (process.connected) process.send!(m);
}

/** Runs the site in `dir` until told to stop; resolves once the KME and the lock are released. */
export async function runSite(dir: string, opts: { strictPermissions?: boolean } = {}): Promise<void> {
  const abs = resolve(dir);
  let lock;
  let kme: KmeHandle;
  let relay: LiveRelayNode;
  let pp: SitePp;
  try {
    lock = lockDataDir(abs, {
      strictPermissions: opts.strictPermissions ?? false,
      warn: (l) => process.stderr.write(`${l}\n`),
    });
    const config = loadKmeConfig(join(abs, SITE_CONFIG));
    const logger = pino({ level: config.logLevel ?? 'warn', redact: LOG_REDACT }, pino.destination(2));
    kme = await startKme(config, { logger: logger.child({ kme: config.id }) });
    relay = attachLiveRelay(kme);
    pp = startSitePpWorker(abs, kme, (linkId, block, outcome) =>
      send({ t: 'pp-done', linkId, block, outcome }),
    );
  } catch (e) {
    lock?.release();
    send({ t: 'failed', message: (e as Error).message.split('\n')[0]! });
    throw e;
  }
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.off('message', onMessage);
      await pp.close();
      await kme.close();
      lock.release();
      if (process.connected) process.disconnect();
    })());
  let stopped = () => {};
  const finished = new Promise<void>((r) => (stopped = r));
  const onMessage = (m: ToSite) => {
    if (m.t === 'ping') {
      const levels: Record<string, PoolLevel> = {};
      for (const p of kme.store.peers()) levels[p] = kme.level(p);
      send({ t: 'pong', n: m.n, levels });
    } else if (m.t === 'supply') {
      kme.supply(m.peer, m.item);
      if ('key' in m.item) m.item.key.fill(0); // the store keeps its own (sealed) copy
    } else if (m.t === 'relay') {
      void relay.relayKey(m.paths, m.bytes).then(
        (result) => send({ t: 'relayed', id: m.id, result }),
        (e: Error) =>
          send({
            t: 'relayed',
            id: m.id,
            result: { ok: false, reason: 'unreachable', at: kme.id, detail: e.message },
          }),
      );
    } else if (m.t === 'pp-block')
      pp.order({ linkId: m.linkId, block: m.block, attack: m.attack, timeNs: m.timeNs });
    else if (m.t === 'stop') end();
  };
  process.on('message', onMessage);
  const end = () => void stop().then(stopped);
  process.once('disconnect', end);
  process.once('SIGTERM', end);
  process.once('SIGINT', end);
  send({ t: 'ready', url: kme.url, pid: process.pid });
  await finished;
}
