// @edge: spawns, watches and restarts one `qkdnet site` OS process per node.
/**
 * The supervisor side of `qkdnet up --sites processes|netns`: one `qkdnet site` child per node
 * (./site-process.ts), each with its own directory, certificates, store and lock (./site-config.ts),
 * reached over mutual TLS at a fixed port for the whole run. The supervisor talks to each child over its
 * IPC pipe (./site-protocol.ts): heartbeats, post-processing orders and outcomes, relay requests.
 *
 * Failure detection: a child's exit is seen at once; a child that stops answering heartbeats (hung,
 * stopped, its namespace broken) for `missedBeats` intervals is killed with SIGKILL, which is then an
 * exit. Either way `onDown(node, reason)` runs, and the site is restarted automatically after a backoff
 * (1 s, doubling to 30 s; back to 1 s once a site has stayed up for a minute); `onUp(node)` runs when
 * the new process answers. `restart(node)` restarts a site at once (an operator's request). A restarted
 * site reopens its own store: every key it acknowledged before the crash is still there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { QkdnetError } from '../common/index.ts';
import type { KmeHandle, PoolLevel, SupplyItem } from '../kms/index.ts';
import type { LiveRelayNode, LiveRelayResult } from '../network/index.ts';
import { kmeName } from './kme-fleet.ts';
import type { SitePlan } from './site-config.ts';
import type { FromSite, ToSite } from './site-protocol.ts';

// From src/server/ (sources) or dist/ (the precompiled CLI, one level below the repository root).
const BIN = fileURLToPath(
  new URL(import.meta.url.endsWith('.mjs') ? '../bin/qkdnet.js' : '../../bin/qkdnet.js', import.meta.url),
);

/** What a site looks like from the supervisor. */
export interface SiteStatus {
  readonly node: string;
  readonly state: 'starting' | 'up' | 'down';
  readonly pid: number | null;
  /** Restarts since the supervisor started (automatic or requested). */
  readonly restarts: number;
  /** Why the last process ended (`exit code 1`, `signal SIGKILL`, `no heartbeat for 3 s`), if any did. */
  readonly lastExit: string | null;
  /** Pool levels per peer KME id, from the last heartbeat. */
  readonly levels: Readonly<Record<string, PoolLevel>>;
}

/** A site's KME as the supply and the sessions use it. */
export type SiteKme = Pick<KmeHandle, 'id' | 'url' | 'supply'>;

/** Options of `startSiteFleet`. */
export interface SiteFleetOptions {
  readonly plans: readonly SitePlan[];
  readonly pkiDir: string;
  /** Command prefix per node (`['ip', 'netns', 'exec', ns]` with `--sites netns`; none by default). */
  readonly prefix?: (node: string) => readonly string[];
  readonly onDown?: (node: string, reason: string) => void;
  readonly onUp?: (node: string) => void;
  /** Lines a site writes on stdout/stderr (default: this process's stderr, prefixed). */
  readonly log?: (node: string, line: string) => void;
  readonly heartbeatMs?: number;
  readonly missedBeats?: number;
  /** Every message a site sends (after the fleet handled it). */
  readonly onMessage?: (node: string, m: FromSite) => void;
}

/** The running sites. */
export interface SiteFleet {
  readonly kmes: ReadonlyMap<string, SiteKme>;
  readonly relays: ReadonlyMap<string, Pick<LiveRelayNode, 'relayKey'>>;
  readonly pkiDir: string;
  /**
   * Resolves once every site has answered at least once; rejects with SITE_FAILED naming the sites that
   * have not after `timeoutMs`.
   */
  ready(timeoutMs?: number): Promise<void>;
  /** True while the node's site process is up and answering. */
  isUp(node: string): boolean;
  status(): SiteStatus[];
  /** Restarts a site now (kills the process if it runs). */
  restart(node: string): void;
  /** Sends a message to a site that is up; false when it is not (or its channel is closed). */
  send(node: string, m: ToSite): boolean;
  /** Messages sent to the sites so far, by type (audits and tests). */
  sentCounts(): Readonly<Record<string, number>>;
  close(): Promise<void>;
}

const BACKOFF_MS = [1000, 2000, 4000, 8000, 16000, 30000];
const STABLE_MS = 60_000;

/**
 * Launches every site and returns at once (sites answer within seconds; until then they are `starting`
 * and take no key). A site that ends before or after answering is restarted with backoff.
 */
export function startSiteFleet(o: SiteFleetOptions): SiteFleet {
  const hb = o.heartbeatMs ?? 1000;
  // 10 beats: a loaded host starves processes for seconds at a time (measured: 3 s was exceeded on this
  // 2-core machine under load, and healthy sites were killed); a real hang still shows within ~10 s.
  const missed = o.missedBeats ?? 10;
  const log = o.log ?? ((node, line) => process.stderr.write(`site ${node}: ${line}\n`));
  interface Site {
    plan: SitePlan;
    proc: ChildProcess | null;
    state: SiteStatus['state'];
    restarts: number;
    lastExit: string | null;
    levels: Record<string, PoolLevel>;
    lastPong: number;
    upSince: number;
    failures: number;
    everUp: boolean;
    timer: ReturnType<typeof setTimeout> | undefined;
    pid: number | null;
  }
  const sites = new Map<string, Site>(
    o.plans.map((p) => [
      p.node,
      {
        plan: p,
        proc: null,
        state: 'starting',
        restarts: 0,
        lastExit: null,
        levels: {},
        lastPong: 0,
        upSince: 0,
        failures: 0,
        everUp: false,
        timer: undefined,
        pid: null,
      },
    ]),
  );
  let closing = false;
  let seq = 0;
  const pending = new Map<number, { node: string; done: (r: LiveRelayResult) => void }>();
  let allUp: () => void = () => {};
  const everyUp = new Promise<void>((r) => (allUp = r));

  const pipeLines = (node: string, stream: NodeJS.ReadableStream | null) => {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (s: string) => {
      buf += s;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const l of parts) if (l.trim()) log(node, l);
    });
  };

  const launch = (s: Site) => {
    const node = s.plan.node;
    const argv = [...(o.prefix?.(node) ?? []), process.execPath, BIN, 'site', '--dir', s.plan.dir];
    const proc = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      // Its own process group: a terminal's Ctrl-C reaches the supervisor, which stops the sites in order
      // (a site that saw the SIGINT first would look like a crash). A site whose supervisor dies stops
      // itself when the IPC pipe closes.
      detached: true,
    });
    s.proc = proc;
    s.pid = proc.pid ?? null;
    s.state = 'starting';
    pipeLines(node, proc.stdout);
    pipeLines(node, proc.stderr);
    proc.on('message', (m: FromSite) => {
      if (m.t === 'ready') {
        s.state = 'up';
        s.pid = m.pid;
        s.lastPong = Date.now();
        s.upSince = Date.now();
        s.everUp = true;
        o.onUp?.(node);
        if ([...sites.values()].every((x) => x.everUp)) allUp();
      } else if (m.t === 'pong') {
        s.lastPong = Date.now();
        s.levels = { ...m.levels };
      } else if (m.t === 'relayed') {
        pending.get(m.id)?.done(m.result);
        pending.delete(m.id);
      } else if (m.t === 'failed') s.lastExit = m.message;
      o.onMessage?.(node, m);
    });
    proc.on('error', (e) => log(node, `cannot start: ${e.message}`));
    proc.once('exit', (code, signal) => {
      if (s.proc !== proc) return;
      s.proc = null;
      const wasUp = s.state === 'up';
      s.state = 'down';
      s.lastExit =
        s.lastExit && code === 1 ? s.lastExit : signal ? `signal ${signal}` : `exit code ${code ?? '?'}`;
      for (const [id, p] of pending)
        if (p.node === node) {
          pending.delete(id);
          p.done({ ok: false, reason: 'unreachable', at: kmeName(node), detail: 'site process ended' });
        }
      if (closing) return;
      if (wasUp || s.failures === 0) o.onDown?.(node, s.lastExit);
      if (Date.now() - s.upSince > STABLE_MS) s.failures = 0;
      const delay = BACKOFF_MS[Math.min(s.failures++, BACKOFF_MS.length - 1)]!;
      s.timer = setTimeout(() => {
        s.restarts++;
        launch(s);
      }, delay);
    });
  };

  let lastTick = Date.now();
  const beat = setInterval(() => {
    const now = Date.now();
    // If this supervisor itself was stalled (its timer fired late), the silence is ours, not the sites':
    // restart every site's clock instead of killing sites that could not be heard.
    const stalled = now - lastTick > 2 * hb;
    lastTick = now;
    for (const s of sites.values()) {
      if (stalled) s.lastPong = Math.max(s.lastPong, now - hb);
      if (s.state !== 'up' || !s.proc) continue;
      if (now - s.lastPong > missed * hb) {
        s.lastExit = `no heartbeat for ${((now - s.lastPong) / 1000).toFixed(1)} s`;
        s.proc.kill('SIGKILL');
        continue;
      }
      send(s, { t: 'ping', n: ++seq });
    }
  }, hb);
  beat.unref();

  const sent: Record<string, number> = {};
  const send = (s: Site, m: ToSite): boolean => {
    if (!s.proc?.connected) return false;
    try {
      s.proc.send(m);
      sent[m.t] = (sent[m.t] ?? 0) + 1;
      return true;
    } catch {
      return false;
    }
  };

  const stopAll = async () => {
    closing = true;
    clearInterval(beat);
    await Promise.all(
      [...sites.values()].map(async (s) => {
        clearTimeout(s.timer);
        const proc = s.proc;
        if (!proc) return;
        const gone = new Promise<void>((r) => proc.once('exit', () => r()));
        if (!send(s, { t: 'stop' })) proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        await gone;
        clearTimeout(t);
      }),
    );
    for (const p of pending.values()) p.done({ ok: false, reason: 'unreachable', at: kmeName(p.node) });
    pending.clear();
  };

  for (const s of sites.values()) launch(s);

  const site = (node: string): Site => {
    const s = sites.get(node);
    if (!s) throw new QkdnetError('DASHBOARD_UNKNOWN_TARGET', `No site "${node}" in this network`);
    return s;
  };
  const kmes = new Map<string, SiteKme>(
    [...sites.values()].map((s) => [
      s.plan.node,
      {
        id: kmeName(s.plan.node),
        url: s.plan.url,
        supply: (peer: string, item: SupplyItem) =>
          s.state === 'up' && send(s, { t: 'supply', peer, item }) ? 1 : 0,
      },
    ]),
  );
  const relays = new Map<string, Pick<LiveRelayNode, 'relayKey'>>(
    [...sites.values()].map((s) => [
      s.plan.node,
      {
        relayKey: (paths: readonly (readonly string[])[], bytes = 32) =>
          new Promise<LiveRelayResult>((resolve) => {
            const id = ++seq;
            pending.set(id, { node: s.plan.node, done: resolve });
            if (!send(s, { t: 'relay', id, paths, bytes })) {
              pending.delete(id);
              resolve({ ok: false, reason: 'unreachable', at: kmeName(s.plan.node), detail: 'site down' });
            }
          }),
      },
    ]),
  );
  return {
    kmes,
    relays,
    pkiDir: o.pkiDir,
    ready: (timeoutMs = 180_000) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => {
          const late = [...sites.values()].filter((x) => !x.everUp).map((x) => x.plan.node);
          reject(
            new QkdnetError(
              'SITE_FAILED',
              `Sites ${late.join(', ')} did not answer within ${timeoutMs / 1000} s`,
            ),
          );
        }, timeoutMs);
        void everyUp.then(() => (clearTimeout(t), resolve()));
      }),
    isUp: (node) => site(node).state === 'up',
    status: () =>
      [...sites.values()].map((s) => ({
        node: s.plan.node,
        state: s.state,
        pid: s.state === 'down' ? null : s.pid,
        restarts: s.restarts,
        lastExit: s.lastExit,
        levels: { ...s.levels },
      })),
    restart: (node) => {
      const s = site(node);
      if (s.proc) s.proc.kill('SIGKILL');
      else {
        clearTimeout(s.timer);
        s.restarts++;
        launch(s);
      }
    },
    send: (node, m) => {
      const s = site(node);
      return s.state === 'up' && send(s, m);
    },
    sentCounts: () => ({ ...sent }),
    close: stopAll,
  };
}
