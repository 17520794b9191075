// @edge: creates network namespaces, veth pairs and `qkdnet netem` processes for `qkdnet up --sites netns` (root).
/**
 * The network of `qkdnet up --sites netns`: one Linux network namespace per site, named
 * `qs<run>-<i>` (a random run id, so concurrent runs never collide), with
 *
 * - a management veth pair per site, host end `qs<run>h<i>` / site end `mgmt`, on a /30 of a 10.x.y.0/24
 *   that no host interface uses: the supervisor (dashboard sessions, health) reaches the KME there;
 * - a veth pair per pair of peering sites, on a /30 of 10.98.0.0/16 that exists only inside the two
 *   namespaces (no host interface or route is touched);
 * - for every QKD link and each direction, a `qkdnet netem` process in the sending site's namespace,
 *   listening on its loopback and forwarding to the peer KME over their veth with a one-way delay of
 *   4.9 µs per km of fibre: light in silica fibre travels at c / n_g with group index n_g ≈ 1.468 at
 *   1550 nm (ITU-T G.652 fibre data sheets give 1.467–1.468), i.e. 1 / (299 792.458 km/s / 1.468) ≈
 *   4.90 µs/km. KME pairs that peer without a link (the two ends of a relayed application) talk over
 *   their veth directly: that is the classical network, not fibre of a QKD link;
 * - for every QKD link, one more `qkdnet netem` in Bob's namespace (the link's `to` end) in front of
 *   Alice's post-processing port, so the two-party post-processing (./site-pp-worker.ts) crosses the
 *   namespaces' veth with the same fibre delay.
 *
 * A state file per run in `/run/qkdnet-sites/` names the supervisor's PID and what it created; at start,
 * runs whose supervisor is gone are cleaned up (namespaces and host veths deleted). `destroy()` stops the
 * proxies and deletes everything of this run; it is idempotent.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { QkdnetError } from '../common/index.ts';

const run = promisify(execFile);
// From src/server/ (sources) or dist/ (the precompiled CLI, one level below the repository root).
const BIN = fileURLToPath(
  new URL(import.meta.url.endsWith('.mjs') ? '../bin/qkdnet.js' : '../../bin/qkdnet.js', import.meta.url),
);
const STATE_DIR = '/run/qkdnet-sites';

/** One-way delay of light in standard single-mode fibre, µs per km (group index 1.468 at 1550 nm). */
export const FIBRE_US_PER_KM = 4.9;

/** One-way delay of `km` of fibre, ms. */
export function fibreDelayMs(km: number): number {
  return Math.round(km * FIBRE_US_PER_KM * 1000) / 1e6; // to the nanosecond
}

/** First loopback port of the delaying proxies inside a site's namespace. */
const PROXY_PORT_BASE = 17000;
/** First loopback port of the post-processing proxies (Bob → Alice) inside a site's namespace. */
const PP_PROXY_PORT_BASE = 17500;

/** A QKD link between two sites. */
export interface SiteLink {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly lengthKm: number;
}

/** The created network. */
export interface SiteNetwork {
  /** The site's management address (where the supervisor reaches its KME). */
  address(node: string): string;
  /** Every address of the site (management and veths): its KME certificate names them all. */
  addresses(node: string): string[];
  /** The command prefix that runs a program inside the site's namespace. */
  prefix(node: string): readonly string[];
  /**
   * The URL site `from` uses for peer `to` (whose KME listens on `toPort`): the link's delaying proxy on
   * `from`'s loopback (a port fixed per direction: each namespace has its own, empty, port space), or
   * the peer's address on their veth when they share no link.
   */
  peerUrl(from: string, to: string, toPort: number): string;
  /**
   * Where Bob's site reaches Alice's post-processing port of link `linkId` (Bob = the link's `to` end):
   * the link's delaying proxy on Bob's loopback.
   */
  ppEndpoint(linkId: string): { host: string; port: number };
  /**
   * Starts a `qkdnet netem` per link and direction for the KMEs, and one per link from Bob's namespace
   * to Alice's post-processing port `ppPortOf(linkId)` (in the background; an early end is logged).
   */
  startProxies(
    portOf: (node: string) => number,
    log: (line: string) => void,
    ppPortOf?: (linkId: string) => number | undefined,
  ): void;
  readonly describe: string;
  destroy(): Promise<void>;
}

async function ip(argv: readonly string[]): Promise<string> {
  try {
    return (await run('ip', [...argv], { timeout: 10_000 })).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new QkdnetError(
      'SITE_FAILED',
      `ip ${argv.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`,
    );
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGKILLs what still runs in a namespace of a dead run (its proxies; sites end with their supervisor). */
async function killInside(ns: string): Promise<void> {
  const pids = await ip(['netns', 'pids', ns]).catch(() => '');
  for (const pid of pids.split('\n').filter(Boolean))
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
}

/** Deletes the namespaces and host veths of runs whose supervisor died; returns how many runs. */
export async function cleanStaleSites(): Promise<number> {
  let n = 0;
  let files: string[] = [];
  try {
    files = readdirSync(STATE_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return 0;
  }
  for (const f of files) {
    const st = JSON.parse(readFileSync(join(STATE_DIR, f), 'utf8')) as {
      pid: number;
      netns: string[];
      host: string[];
    };
    if (alive(st.pid)) continue;
    for (const h of st.host) await ip(['link', 'delete', h]).catch(() => undefined);
    for (const ns of st.netns) await killInside(ns);
    for (const ns of st.netns) await ip(['netns', 'delete', ns]).catch(() => undefined);
    rmSync(join(STATE_DIR, f), { force: true });
    n++;
  }
  return n;
}

/** A 10.x.y.0/24 that no host interface address falls in. */
async function freeSubnet(): Promise<string> {
  const used = (await ip(['-o', '-4', 'addr', 'show'])).split('\n').map((l) => l.split(/\s+/)[3] ?? '');
  for (let tries = 0; tries < 100; tries++) {
    const b = randomBytes(2);
    const net = `10.${200 + (b[0]! % 50)}.${b[1]}`;
    if (!used.some((a) => a.startsWith(`${net}.`))) return net;
  }
  throw new QkdnetError('SITE_FAILED', 'No free 10.x.y.0/24 for the sites’ management network');
}

/** Creates one namespace per node and a veth per peering pair; on failure removes what it made. */
export async function createSiteNetwork(
  nodes: readonly string[],
  links: readonly SiteLink[],
  pairs: readonly (readonly [string, string])[] = [],
): Promise<SiteNetwork> {
  if (process.getuid?.() !== 0)
    throw new QkdnetError('SITE_FAILED', '--sites netns needs root (network namespaces)');
  if (nodes.length > 60) throw new RangeError('--sites netns supports up to 60 sites');
  await cleanStaleSites();
  const runId = randomBytes(3).toString('hex');
  const ns = new Map(nodes.map((n, i) => [n, `qs${runId}-${i}`]));
  const hostIf = nodes.map((_, i) => `qs${runId}h${i}`);
  const state = { pid: process.pid, netns: [...ns.values()], host: hostIf };
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const stateFile = join(STATE_DIR, `${runId}.json`);
  writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
  const proxies: ChildProcess[] = [];
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await Promise.all(
      proxies.map(
        (p) =>
          new Promise<void>((r) => {
            if (p.exitCode !== null || p.signalCode !== null) return r();
            // A proxy waits for its open connections on SIGTERM; those of dead sites may never close.
            const t = setTimeout(() => p.kill('SIGKILL'), 3000);
            p.once('exit', () => (clearTimeout(t), r()));
            p.kill('SIGTERM');
          }),
      ),
    );
    for (const h of hostIf) await ip(['link', 'delete', h]).catch(() => undefined);
    for (const n of ns.values()) await ip(['netns', 'delete', n]).catch(() => undefined);
    rmSync(stateFile, { force: true });
  };
  const inNs = (node: string, argv: readonly string[]) => ip(['-n', ns.get(node)!, ...argv]);
  try {
    const subnet = await freeSubnet();
    const mgmt = new Map(
      nodes.map((n, i) => [n, { host: `${subnet}.${4 * i + 1}`, site: `${subnet}.${4 * i + 2}` }]),
    );
    for (const [i, n] of nodes.entries()) {
      await ip(['netns', 'add', ns.get(n)!]);
      await inNs(n, ['link', 'set', 'lo', 'up']);
      await ip(['link', 'add', hostIf[i]!, 'type', 'veth', 'peer', 'name', 'mgmt', 'netns', ns.get(n)!]);
      await ip(['addr', 'add', `${mgmt.get(n)!.host}/30`, 'dev', hostIf[i]!]);
      await ip(['link', 'set', hostIf[i]!, 'up']);
      await inNs(n, ['addr', 'add', `${mgmt.get(n)!.site}/30`, 'dev', 'mgmt']);
      await inNs(n, ['link', 'set', 'mgmt', 'up']);
    }
    // One veth per peering pair (links and relayed-application ends), addresses only inside namespaces.
    const key = (x: string, y: string) => (x < y ? `${x}\n${y}` : `${y}\n${x}`);
    const pairSet = new Map<string, readonly [string, string]>();
    for (const l of links) pairSet.set(key(l.from, l.to), [l.from, l.to]);
    for (const [x, y] of pairs) pairSet.set(key(x, y), [x, y]);
    const peerAddr = new Map<string, string>(); // "from\nto" → address of `to` on their veth
    let k = 0;
    for (const [x, y] of pairSet.values()) {
      const addr = (o: number) => `10.98.${Math.floor(k / 64)}.${(k % 64) * 4 + o}`;
      const ifx = `p${k}`;
      await inNs(x, ['link', 'add', ifx, 'type', 'veth', 'peer', 'name', ifx, 'netns', ns.get(y)!]);
      await inNs(x, ['addr', 'add', `${addr(1)}/30`, 'dev', ifx]);
      await inNs(y, ['addr', 'add', `${addr(2)}/30`, 'dev', ifx]);
      await inNs(x, ['link', 'set', ifx, 'up']);
      await inNs(y, ['link', 'set', ifx, 'up']);
      peerAddr.set(`${x}\n${y}`, addr(2));
      peerAddr.set(`${y}\n${x}`, addr(1));
      k++;
    }
    const prefix = (node: string) => ['ip', 'netns', 'exec', ns.get(node)!];
    const proxyPort = new Map<string, number>();
    for (const l of links) {
      proxyPort.set(`${l.from}\n${l.to}`, PROXY_PORT_BASE + proxyPort.size);
      proxyPort.set(`${l.to}\n${l.from}`, PROXY_PORT_BASE + proxyPort.size);
    }
    return {
      address: (node) => mgmt.get(node)!.site,
      addresses: (node) => [
        mgmt.get(node)!.site,
        ...[...peerAddr].filter(([k]) => k.endsWith(`\n${node}`)).map(([, a]) => a),
      ],
      prefix,
      describe: `${nodes.length} sites in network namespaces qs${runId}-*, ${links.length} links through qkdnet netem (${FIBRE_US_PER_KM} µs/km one way)`,
      peerUrl(from, to, toPort) {
        const proxy = proxyPort.get(`${from}\n${to}`);
        return proxy !== undefined
          ? `https://127.0.0.1:${proxy}`
          : `https://${peerAddr.get(`${from}\n${to}`)}:${toPort}`;
      },
      ppEndpoint(linkId) {
        const i = links.findIndex((l) => l.id === linkId);
        if (i < 0) throw new RangeError(`No link "${linkId}" in this network`);
        return { host: '127.0.0.1', port: PP_PROXY_PORT_BASE + i };
      },
      startProxies(portOf, log, ppPortOf) {
        const proxy = (l: SiteLink, from: string, to: string, listen: number, port: number, what: string) => {
          const argv = [
            ...prefix(from),
            process.execPath,
            BIN,
            'netem',
            '--listen',
            `127.0.0.1:${listen}`,
            '--connect',
            `${peerAddr.get(`${from}\n${to}`)}:${port}`,
            '--delay-ms',
            String(fibreDelayMs(l.lengthKm)),
          ];
          const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
          proxies.push(p);
          let last = '';
          p.stderr!.setEncoding('utf8').on(
            'data',
            (t: string) => (last = t.trim().split('\n').at(-1) ?? last),
          );
          p.once('exit', (code, signal) => {
            if (!destroyed)
              log(`netem ${l.id} ${what} ${from}→${to} ended (${signal ?? `exit ${code}`}): ${last}`);
          });
        };
        for (const [i, l] of links.entries()) {
          for (const [from, to] of [
            [l.from, l.to],
            [l.to, l.from],
          ] as const)
            proxy(l, from, to, proxyPort.get(`${from}\n${to}`)!, portOf(to), 'KME');
          // Post-processing: Bob (the link's `to` end) connects to Alice's port through the same fibre delay.
          const pp = ppPortOf?.(l.id);
          if (pp !== undefined) proxy(l, l.to, l.from, PP_PROXY_PORT_BASE + i, pp, 'post-processing');
        }
      },
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
