/**
 * `npm run bench -- kme-supply [burst-bits] [stream-seconds]`: does southbound key supply stay off the hot
 * path, and how fast does a KME restart on a large store and device file?
 *
 * One KME (`qkdnet kme serve`, the real CLI, its own process) follows a JSON Lines device file
 * (64-Kibit blocks, one per line, as a device driver writes them). While autocannon asks ETSI 014 Get
 * status over mutual TLS (4 keep-alive connections), the bench process (playing the device) appends:
 *  - idle: nothing (the baseline, same run);
 *  - burst: 10⁸ bits in one write;
 *  - stream: 10 Mbit/s, one append every 100 ms, for `stream-seconds` (default 10).
 * For each phase: status p50/p99/max latency and how long until the store held everything appended
 * (stored_key_count polled by a separate client). Then the KME is killed (SIGKILL) and started again on
 * the same store and file; restart time = from spawn to the first status answer — beside the same
 * measurement for a KME on an empty store and empty file (node start-up included in both; the CLI runs
 * from dist/cli.mjs, compiled at install, when fresh — else through tsx, as `loader` says), with the KME's
 * own time from process start to listening and its CPU time until the first answer.
 * Results: bench/results/kme-supply.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Etsi014Client } from '../src/kms/index.ts';
import { makeTestPki } from '../src/kms/kme-pair.fixture.ts';
import { benchContext, writeBenchResult } from './meta.ts';

type Autocannon = (o: Record<string, unknown>) => Promise<{
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  non2xx: number;
  errors: number;
}>;
const autocannon = ((await import('autocannon' as string)) as { default: Autocannon }).default;

/** CPU time (user + system, ms) a running process has used so far, from /proc (Linux). */
function cpuMsOf(pid: number): number | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Math.round(((Number(f[11]) + Number(f[12])) * 1000) / 100); // utime + stime, USER_HZ = 100
  } catch {
    return null;
  }
}

/** True when bin/qkdnet.js runs dist/cli.mjs: it exists and is newer than every file under src/ (same rule). */
function distFresh(): boolean {
  if (!existsSync('dist/cli.mjs')) return false;
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
      const p = join(dir, e.name);
      return Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  return statSync('dist/cli.mjs').mtimeMs >= newest('src');
}

const BLOCK_BITS = 65_536;
let blockNo = 0;
/** `bits` of fresh key as device-file lines of 64 Kibit (rounded up to whole blocks). */
function lines(bits: number): string {
  const out: string[] = [];
  for (let b = 0; b < bits; b += BLOCK_BITS)
    out.push(
      JSON.stringify({ block_id: `dev-${blockNo++}`, key_hex: randomBytes(BLOCK_BITS / 8).toString('hex') }),
    );
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const burstBits = Number(process.argv[2] ?? 1e8);
  const streamSeconds = Number(process.argv[3] ?? 10);
  const pki = await makeTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-bench-supply-'));
  const children: ChildProcess[] = [];
  const config = (name: string) => {
    const t = pki.tls('kme-a');
    const file = join(dir, `${name}.yaml`);
    writeFileSync(join(dir, `${name}.jsonl`), '');
    writeFileSync(
      file,
      [
        'id: kme-a',
        'port: 0',
        `tls: { cert: ${t.cert}, key: ${t.key}, ca: ${t.ca} }`,
        `store: ${name}.db`,
        'saes: [{ id: sae-a }]',
        'peers: [{ id: kme-b, url: "https://127.0.0.1:1", saes: [sae-b] }]',
        `supply: [{ peer: kme-b, file: ${name}.jsonl, follow: true }]`,
        'keys: { maxChunksPerPeer: 4000000 }',
        'logLevel: warn',
        '',
      ].join('\n'),
    );
    return file;
  };
  /** Spawns the KME; resolves with its URL and the ms from spawn to its first status answer. */
  const start = async (cfg: string) => {
    const t0 = performance.now();
    // KME_BENCH_PROF=DIR writes a CPU profile of each KME process into DIR (for finding hot spots).
    const prof = process.env.KME_BENCH_PROF;
    const nodeArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
    const child = spawn(process.execPath, [...nodeArgs, 'bin/qkdnet.js', 'kme', 'serve', '--config', cfg], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    let url: string | undefined;
    while (!url) {
      if (child.exitCode !== null) throw new Error(`KME exited: ${err}`);
      url = /serving ETSI GS QKD 014 at (https:\/\/[^/\s]+)\//.exec(err)?.[1];
      await new Promise((r) => setTimeout(r, 2));
    }
    const c = Etsi014Client.fromFiles(url, pki.tls('sae-a'));
    for (;;) {
      try {
        await c.status('sae-b');
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    // The KME's own figures: from its process start to listening (its serving line), and the CPU time its
    // process used until the first answer (from /proc, less sensitive to the machine's load than wall time).
    const readyMs = Number(/ready (\d+) ms after process start/.exec(err)?.[1] ?? NaN);
    return { child, url, client: c, ms: performance.now() - t0, readyMs, cpuMs: cpuMsOf(child.pid!) };
  };
  const t = pki.tls('sae-a');
  const tlsOptions = { cert: readFileSync(t.cert), key: readFileSync(t.key), ca: readFileSync(t.ca) };
  const statusLoad = (url: string, seconds: number) =>
    autocannon({
      url: `${url}/api/v1/keys/sae-b/status`,
      connections: 4,
      duration: seconds,
      tlsOptions,
    });
  try {
    const cfg = config('kme-a');
    const file = join(dir, 'kme-a.jsonl');
    let kme = await start(cfg);
    /** Bits of the owner's half in the store (A owns every other 256-bit chunk of a block). */
    const stored = async () => (await kme.client.status('sae-b')).storedKeyCount * 256;
    const phases: Record<string, unknown>[] = [];
    const phase = async (name: string, seconds: number, appendBits: number, feed: () => Promise<void>) => {
      const before = await stored();
      const want = before + appendBits / 2;
      const t0 = performance.now();
      let storedAfterS: number | null = appendBits === 0 ? 0 : null;
      const load = statusLoad(kme.url, seconds);
      await feed();
      const deadline = t0 + 1000 * (seconds + 120);
      while (storedAfterS === null && performance.now() < deadline) {
        if ((await stored()) >= want) storedAfterS = (performance.now() - t0) / 1000;
        else await new Promise((r) => setTimeout(r, 100));
      }
      const r = await load;
      const row = {
        phase: name,
        appended_bits: appendBits,
        status_requests: r.requests.total,
        status_p50_ms: r.latency.p50,
        status_p99_ms: r.latency.p99,
        status_max_ms: r.latency.max,
        non_2xx: r.non2xx,
        errors: r.errors,
        all_stored_after_s: storedAfterS === null ? null : +storedAfterS.toFixed(2),
        supply_mbit_per_s: storedAfterS ? +(appendBits / 1e6 / storedAfterS).toFixed(1) : null,
      };
      phases.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    };
    await statusLoad(kme.url, 2); // warm-up
    await phase('idle', 5, 0, async () => {});
    // The device's lines are made before each phase: this process also runs the load generator, whose
    // event loop must not wait for them.
    const burst = lines(burstBits);
    await phase('burst', 10, burstBits, async () => {
      appendFileSync(file, burst);
    });
    const streamBits = 1e7 * streamSeconds;
    const stream = Array.from({ length: streamSeconds * 10 }, () => lines(1e6));
    await phase('stream 10 Mbit/s', streamSeconds, streamBits, async () => {
      for (const piece of stream) {
        const t0 = performance.now();
        appendFileSync(file, piece);
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - t0))));
      }
    });
    const storeBits = await stored();
    kme.client.close();
    kme.child.kill('SIGKILL');
    await new Promise((r) => kme.child.once('exit', r));
    const sizes = { store_bytes: statSync(join(dir, 'kme-a.db')).size, file_bytes: statSync(file).size };
    kme = await start(cfg);
    const restart = kme;
    const restartMs = kme.ms;
    const storedAfterRestart = await stored();
    kme.client.close();
    kme.child.kill('SIGTERM');
    const empty = await start(config('empty'));
    empty.client.close();
    empty.child.kill('SIGTERM');
    const result = {
      benchmark: 'kme-supply',
      what:
        'ETSI 014 Get status (4 mTLS keep-alive connections, autocannon) on one KME (qkdnet kme serve) while its ' +
        'device file (JSON Lines, 64-Kibit blocks) receives nothing / a burst / a 10 Mbit/s stream; then a ' +
        'SIGKILL restart on that store and file, timed from spawn to the first status answer',
      targets: { status_p99_ms: 20, restart_ms: 1000 },
      phases,
      restart: {
        ms: Math.round(restartMs),
        empty_store_ms: Math.round(empty.ms),
        kme_ready_ms: restart.readyMs,
        empty_kme_ready_ms: empty.readyMs,
        cpu_ms_to_first_answer: restart.cpuMs,
        empty_cpu_ms_to_first_answer: empty.cpuMs,
        loader: distFresh()
          ? 'dist/cli.mjs (compiled ahead)'
          : 'tsx from the sources (dist/cli.mjs absent or older)',
        store_key_bits_owned: storeBits,
        store_key_bits_after_restart: storedAfterRestart,
        ...sizes,
      },
      ...benchContext(),
    };
    writeBenchResult('kme-supply', result);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    pki.cleanup();
  }
}

await main();
