// @edge: brings up the two namespaces with one charon each and drives them over VICI
/**
 * The testbed every real-strongSwan path uses (harness, bench, slow tests): a UE and an N3IWF namespace
 * (netns.ts), a charon in each (charon.ts) and a VICI connection to each. Helpers initiate an SA and
 * report the outcome as a value (success, AUTHENTICATION_FAILED, missing PPK, timeout), read the SAs back
 * with `list-sas` (including `ppk = yes`), and prove traffic with a TCP echo between the inner addresses
 * through the tunnel. `close()` stops both daemons and deletes both namespaces, whatever state they are in.
 */
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fail, ok, type Result } from '../common/index.ts';
import { startCharon, type Charon } from './charon.ts';
import { CHILD_NAME } from './connections.ts';
import { createNetnsPair, NETNS_ADDR, type NetnsPair } from './netns.ts';
import { viciText, type ViciMessage } from './vici-codec.ts';
import { ViciClient } from './vici-client.ts';
import { assertOwnSocket, makePrivateSubdir } from './workdir.ts';

const run = promisify(execFile);

/** One endpoint: its daemon and an open VICI connection to it. */
export interface Endpoint {
  readonly charon: Charon;
  readonly vici: ViciClient;
}

/** The running testbed. */
export interface Testbed {
  readonly pair: NetnsPair;
  readonly dir: string;
  readonly ue: Endpoint;
  readonly n3iwf: Endpoint;
  /** Stops everything and deletes the namespaces (and `dir` unless `keepDir`). Idempotent. */
  close(keepDir?: boolean): Promise<void>;
}

/**
 * Starts namespaces `<prefix>-ue`/`<prefix>-n3iwf` and their daemons; cleans up itself on failure.
 * `dir` must not exist and its parent must be a private directory (./workdir.ts `makeWorkDir`).
 */
export async function startTestbed(
  prefix: string,
  dir: string,
  /** Runs after the namespaces exist and before the charons start (e.g. to add many local addresses). */
  beforeCharons?: (pair: NetnsPair) => Promise<void>,
): Promise<Testbed> {
  makePrivateSubdir(dir);
  const pair = await createNetnsPair(prefix);
  const started: Endpoint[] = [];
  const charons: Charon[] = [];
  let closed = false;
  const close = async (keepDir = false) => {
    if (closed) return;
    closed = true;
    for (const e of started) e.vici.close();
    for (const c of charons) await c.stop().catch(() => undefined);
    await pair.destroy().catch(() => undefined);
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await beforeCharons?.(pair);
    for (const [name, ns] of [
      ['ue', pair.ue],
      ['n3iwf', pair.n3iwf],
    ] as const) {
      const charon = await startCharon(name, ns, join(dir, name));
      charons.push(charon);
      assertOwnSocket(charon.viciPath); // still our daemon's socket, in our private directory
      started.push({ charon, vici: await ViciClient.connect(charon.viciPath) });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { pair, dir, ue: started[0]!, n3iwf: started[1]!, close };
}

/** Why an initiate did not bring the SA up. */
export type InitiateFailure = 'authentication-failed' | 'no-ppk' | 'timeout' | 'failed';

/** A successful initiate: the IKE SA's unique id and the time VICI took, in milliseconds. */
export interface Initiated {
  readonly ikeUniqueId: string;
  readonly elapsedMs: number;
}

/**
 * Initiates `conn`'s CHILD SA over VICI and waits until IKE and CHILD SA are up (VICI `initiate` returns
 * then). Failures are values; the log lines charon streamed (`control-log`) come with them.
 */
export async function initiate(
  vici: ViciClient,
  conn: string,
  timeoutMs = 5000,
  child: string = CHILD_NAME,
): Promise<Result<Initiated, InitiateFailure, { message: string; log: string[] }>> {
  const t0 = performance.now();
  const { response, events } = await vici.stream('initiate', 'control-log', {
    child,
    ike: conn,
    timeout: timeoutMs,
    'init-limits': 'no',
  });
  const elapsedMs = performance.now() - t0;
  const log = events.map((e) => viciText(e, 'msg') ?? '');
  if (viciText(response, 'success') === 'yes') {
    const id = events.map((e) => viciText(e, 'ikesa-uniqueid')).find((x) => x !== undefined);
    return ok({ ikeUniqueId: id ?? '', elapsedMs });
  }
  const message = viciText(response, 'errmsg') ?? 'initiate failed';
  const all = log.join('\n');
  const reason: InitiateFailure = /AUTHENTICATION_FAILED/.test(all)
    ? 'authentication-failed'
    : /no PPK|PPK.*not found|PPK required/i.test(all)
      ? 'no-ppk'
      : /timeout/i.test(message)
        ? 'timeout'
        : 'failed';
  return fail(reason, { message, log });
}

/** One IKE SA as `list-sas` reports it. */
export interface SaInfo {
  readonly conn: string;
  readonly uniqueId: string;
  readonly state: string;
  /** RFC 8784 PPK used (`ppk = yes`). */
  readonly ppk: boolean;
  readonly children: readonly { readonly name: string; readonly state: string }[];
}

/** Lists the IKE SAs of a daemon (streamed `list-sa` events). */
export async function listSas(vici: ViciClient): Promise<SaInfo[]> {
  const { events } = await vici.stream('list-sas', 'list-sa', { noblock: 'yes' });
  const out: SaInfo[] = [];
  for (const ev of events)
    for (const [conn, v] of Object.entries(ev)) {
      if (Buffer.isBuffer(v) || Array.isArray(v)) continue;
      const kids = v['child-sas'];
      const children =
        kids && !Buffer.isBuffer(kids) && !Array.isArray(kids)
          ? Object.values(kids).flatMap((c) =>
              Buffer.isBuffer(c) || Array.isArray(c)
                ? []
                : [{ name: viciText(c, 'name') ?? '', state: viciText(c, 'state') ?? '' }],
            )
          : [];
      out.push({
        conn,
        uniqueId: viciText(v, 'uniqueid') ?? '',
        state: viciText(v, 'state') ?? '',
        ppk: viciText(v, 'ppk') === 'yes',
        children,
      });
    }
  return out;
}

/** Terminates every IKE SA of `conn` on this daemon (no error if there is none). */
export async function terminateAll(vici: ViciClient, conn: string): Promise<void> {
  await vici.request('terminate', { ike: conn, timeout: 2000, force: 'yes' });
}

/**
 * Terminates one IKE SA by unique id. By default waits (up to 2 s) until the peer confirmed the DELETE;
 * `force` destroys it locally right after sending the DELETE.
 */
export async function terminateIke(vici: ViciClient, uniqueId: string, force = false): Promise<ViciMessage> {
  return vici.request('terminate', { 'ike-id': uniqueId, timeout: 2000, force: force ? 'yes' : 'no' });
}

const ECHO_PORT = 7007;
const ECHO_SERVER = `const s=require('net').createServer(c=>c.pipe(c)).listen(${ECHO_PORT},'${NETNS_ADDR.n3iwfInner}',()=>process.stdout.write('ready\\n'));setTimeout(()=>process.exit(0),15000).unref();process.stdin.on('end',()=>process.exit(0));process.stdin.resume();`;
const echoClient = (from: string) =>
  `const b=require('crypto').randomBytes(4096);let got=Buffer.alloc(0);const c=require('net').connect({host:'${NETNS_ADDR.n3iwfInner}',port:${ECHO_PORT},localAddress:'${from}'},()=>c.end(b));c.on('data',d=>got=Buffer.concat([got,d]));c.on('end',()=>process.exit(got.equals(b)?0:3));c.on('error',()=>process.exit(4));setTimeout(()=>process.exit(5),5000);`;

/**
 * Proves traffic through the tunnel: a TCP echo server on the N3IWF's inner address, a client on the UE's
 * inner address (`from`, default the single UE's) sends 4 KiB of random bytes and checks they come back
 * unchanged. The inner addresses are routed only through charon's `ipsec0` (kernel-libipsec), so an echo
 * means ESP carried it. True on success.
 */
export async function echoThroughTunnel(
  pair: NetnsPair,
  from: string = NETNS_ADDR.ueInner,
): Promise<boolean> {
  const server = spawn('ip', ['netns', 'exec', pair.n3iwf, process.execPath, '-e', ECHO_SERVER], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout.once('data', () => resolve());
      server.once('exit', () => reject(new Error('echo server exited')));
    });
    await run('ip', ['netns', 'exec', pair.ue, process.execPath, '-e', echoClient(from)], {
      timeout: 10_000,
    });
    return true;
  } catch {
    return false;
  } finally {
    server.stdin.end();
    server.kill();
  }
}

/** Sums the ESP packets the CHILD SAs of a daemon have sent and received (libipsec counters). */
export async function espPackets(vici: ViciClient): Promise<{ in: number; out: number }> {
  const { events } = await vici.stream('list-sas', 'list-sa', { noblock: 'yes' });
  let pin = 0;
  let pout = 0;
  for (const ev of events)
    for (const ike of Object.values(ev)) {
      if (Buffer.isBuffer(ike) || Array.isArray(ike)) continue;
      const kids = ike['child-sas'];
      if (!kids || Buffer.isBuffer(kids) || Array.isArray(kids)) continue;
      for (const c of Object.values(kids)) {
        if (Buffer.isBuffer(c) || Array.isArray(c)) continue;
        pin += Number(viciText(c, 'packets-in') ?? 0);
        pout += Number(viciText(c, 'packets-out') ?? 0);
      }
    }
  return { in: pin, out: pout };
}
