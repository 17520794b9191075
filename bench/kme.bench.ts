/**
 * `npm run bench -- kme [seconds] [connections]`: throughput and latency of ETSI GS QKD 014 enc_keys (one
 * 256-bit key, master sae-a at KME A for slave sae-b at KME B, so every request includes the durable
 * local commit and the KME-to-KME reservation) over mutual TLS with keep-alive, measured with autocannon,
 * and — in the same run, same TLS setup, same load generator — a bare Fastify HTTPS endpoint answering a
 * key container of the same shape from memory (the baseline). Servers run in child processes (this file
 * re-executed with `--serve kme|bare`); key material is supplied before the timed region. Results go to
 * bench/results/kme.json. Sanity checks: no non-2xx answers, the KME's delivery log holds exactly the
 * answered requests, and a key fetched by the slave equals the master's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Etsi014Client, startKme } from '../src/kms/index.ts';
import { makeTestPki, pairConfigs, testBlock } from '../src/kms/testing.ts';
import { benchContext, writeBenchResult } from './meta.ts';

/** The part of autocannon's API used here (the package ships no types). */
type Autocannon = (o: Record<string, unknown>) => Promise<{
  requests: { average: number };
  latency: { p50: number; p99: number };
  '2xx': number;
  non2xx: number;
  errors: number;
}>;
const autocannon = ((await import('autocannon' as string)) as { default: Autocannon }).default;

const mode = process.argv[2] === '--serve' ? process.argv[3] : undefined;

async function serve(kind: string, pkiDir: string, ports: [number, number], blocks: number): Promise<void> {
  const tls = (n: string) => ({
    cert: `${pkiDir}/${n}.pem`,
    key: `${pkiDir}/${n}.key`,
    ca: `${pkiDir}/ca.pem`,
  });
  if (kind === 'bare') {
    const t = tls('kme-a');
    const app = Fastify({
      https: {
        cert: readFileSync(t.cert),
        key: readFileSync(t.key),
        ca: readFileSync(t.ca),
        requestCert: true,
        rejectUnauthorized: true,
      },
    });
    app.get('/api/v1/keys/:sae/enc_keys', async () => ({
      keys: [{ key_ID: randomUUID(), key: randomBytes(32).toString('base64') }],
    }));
    await app.listen({ host: '127.0.0.1', port: ports[0] });
    process.send!({ ready: true, url: `https://127.0.0.1:${ports[0]}` });
    return;
  }
  // One KME per process, as on two sites; both are fed the same deterministic blocks (synchronised IDs).
  const storeDir = mkdtempSync(join(tmpdir(), `qkdnet-bench-${kind}-`));
  const cfg = pairConfigs({ dir: pkiDir, tls, cleanup: () => {} }, storeDir);
  const urls = ports.map((p) => `https://127.0.0.1:${p}`);
  const config =
    kind === 'kme-a'
      ? { ...cfg.a, port: ports[0], peers: [{ ...cfg.a.peers![0]!, url: urls[1]! }] }
      : { ...cfg.b, port: ports[1], peers: [{ ...cfg.b.peers![0]!, url: urls[0]! }] };
  const kme = await startKme(config);
  const peer = kind === 'kme-a' ? 'kme-b' : 'kme-a';
  let next = 0;
  const feed = (n: number) => {
    for (let i = 0; i < n; i++, next++)
      kme.supply(peer, testBlock(2026, `bench-${next}`, 65536, 'bench-link'));
  };
  feed(blocks);
  await kme.settled(); // 64-KiB blocks are stored in slices off the hot path
  process.on('message', (m: string) => {
    if (m.startsWith('supply:')) {
      feed(Number(m.slice(7)));
      void kme.settled().then(() => process.send!({ supplied: next }));
    }
    if (m === 'stats')
      process.send!({
        deliveries: kme.store.deliveries().length,
        commits: kme.core.committer.stats(),
        poolChunks: kme.level(peer).mineChunks,
      });
  });
  process.on('SIGTERM', () => {
    void kme.close().then(() => {
      rmSync(storeDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
  process.send!({ ready: true, url: kme.url });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function spawnServer(
  kind: string,
  pkiDir: string,
  ports: [number, number],
  blocks: number,
): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const args = ['--serve', kind, pkiDir, String(ports[0]), String(ports[1]), String(blocks)];
    const child = fork(new URL(import.meta.url).pathname, args, {
      // KME_BENCH_PROF=DIR writes a CPU profile of each server process into DIR (for finding hot spots).
      execArgv: [
        '--import',
        'tsx',
        ...(process.env.KME_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.KME_BENCH_PROF}`] : []),
      ],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.once('message', (info) => resolve({ child, info: info as Record<string, unknown> }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

const ask = (child: ChildProcess, what: string) =>
  new Promise<Record<string, unknown>>((resolve) => {
    child.once('message', (m) => resolve(m as Record<string, unknown>));
    child.send(what);
  });

async function load(url: string, tlsOptions: object, seconds: number, connections: number) {
  const r = await autocannon({
    url: `${url}/api/v1/keys/sae-b/enc_keys`,
    connections,
    duration: seconds,
    pipelining: 1,
    tlsOptions,
  });
  return {
    requests_per_second: r.requests.average,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    total_2xx: r['2xx'],
    non_2xx: r.non2xx,
    errors: r.errors,
  };
}

interface Run {
  connections: number;
  requests_per_second: number;
  p50_ms: number;
  p99_ms: number;
  bare_requests_per_second: number;
  bare_p50_ms: number;
  bare_p99_ms: number;
  ratio_to_bare: number;
  keys_delivered: number;
  ops_per_commit: number;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const connectionList = (process.argv[3] ?? '10,50,100').split(',').map(Number);
  const pki = await makeTestPki();
  const t = pki.tls('sae-a');
  const tlsOptions = { cert: readFileSync(t.cert), key: readFileSync(t.key), ca: readFileSync(t.ca) };
  // Material for up to ~10k req/s per run (each key uses one 256-bit chunk owned by KME A; a 64 KiB block
  // holds 2048 chunks, 1024 of them A's). Both KMEs are fed the same blocks before each run, untimed.
  const blocksPerRun = Math.ceil((10_000 * (seconds + 2)) / 1024);
  const blocks = 4;
  const runs: Run[] = [];
  const children: ChildProcess[] = [];
  try {
    const ports: [number, number] = [await freePort(), await freePort()];
    process.stderr.write(
      `starting KME A and B (separate processes); ${blocksPerRun} blocks of 64 KiB per run…\n`,
    );
    const kmeB = await spawnServer('kme-b', pki.dir, ports, blocks);
    children.push(kmeB.child);
    const kmeA = await spawnServer('kme-a', pki.dir, ports, blocks);
    children.push(kmeA.child);
    const url = kmeA.info.url as string;
    const master = new Etsi014Client({ url, ...tlsOptions });
    const slave = Etsi014Client.fromFiles(kmeB.info.url as string, pki.tls('sae-b'));
    const [k] = await master.getKeys('sae-b');
    const [sk] = await slave.getKeysWithIds('sae-a', [k!.keyId]);
    if (!sk || Buffer.compare(sk.key, k!.key) !== 0 || k!.key.length !== 32)
      throw new Error('sanity: slave key differs');
    master.close();
    slave.close();
    const barePorts: [number, number] = [await freePort(), 0];
    for (const connections of connectionList) {
      // The baseline runs while the KMEs idle, so both see the same machine state within seconds.
      const bare = await spawnServer('bare', pki.dir, barePorts, 0);
      children.push(bare.child);
      await load(bare.info.url as string, tlsOptions, 2, connections); // warm-up
      const baseline = await load(bare.info.url as string, tlsOptions, seconds, connections);
      bare.child.kill('SIGTERM');
      await new Promise((r) => bare.child.once('exit', r));
      await Promise.all([
        ask(kmeA.child, `supply:${blocksPerRun}`),
        ask(kmeB.child, `supply:${blocksPerRun}`),
      ]);
      await load(url, tlsOptions, 2, connections); // warm-up
      const before = await ask(kmeA.child, 'stats');
      const ours = await load(url, tlsOptions, seconds, connections);
      const after = await ask(kmeA.child, 'stats');
      const delivered = (after.deliveries as number) - (before.deliveries as number);
      if (ours.non_2xx !== 0 || baseline.non_2xx !== 0 || ours.errors !== 0)
        throw new Error(
          `sanity: non-2xx answers or errors (${ours.non_2xx}, ${ours.errors}, ${baseline.non_2xx})`,
        );
      const level = (after.poolChunks as number) > 0;
      if (!level) throw new Error('sanity: the pool ran dry during the run (raise blocksPerRun)');
      // Requests in flight when a run (or the warm-up before it) stops are delivered but not counted in
      // that run: at most one per connection at each of the two boundaries.
      if (delivered < ours.total_2xx - connections || delivered > ours.total_2xx + 2 * connections)
        throw new Error(`sanity: ${delivered} deliveries logged for ${ours.total_2xx} answers`);
      const c0 = before.commits as { batches: number; ops: number };
      const c1 = after.commits as { batches: number; ops: number };
      runs.push({
        connections,
        requests_per_second: Math.round(ours.requests_per_second),
        p50_ms: ours.p50_ms,
        p99_ms: ours.p99_ms,
        bare_requests_per_second: Math.round(baseline.requests_per_second),
        bare_p50_ms: baseline.p50_ms,
        bare_p99_ms: baseline.p99_ms,
        ratio_to_bare: +(ours.requests_per_second / baseline.requests_per_second).toFixed(3),
        keys_delivered: delivered,
        ops_per_commit: +((c1.ops - c0.ops) / Math.max(1, c1.batches - c0.batches)).toFixed(2),
      });
      process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
    }
    kmeA.child.kill('SIGTERM');
    kmeB.child.kill('SIGTERM');
    const head = runs.reduce(
      (best, r) => (r.requests_per_second > best.requests_per_second ? r : best),
      runs[0]!,
    );
    const result = {
      benchmark: 'kme',
      what:
        'GET enc_keys (1 key, 256 bits): master sae-a at KME A, slave sae-b at KME B (separate processes); ' +
        'mTLS keep-alive; autocannon; baseline: bare Fastify mTLS route answering a same-shape key container from memory',
      ...pick(head),
      targets: { requests_per_second: 5000, p99_ms: 20, ratio_to_bare: 0.5 },
      runs,
      seconds,
      durability:
        'durable leases: one fdatasync per lease of many keys; each answer after its confirmation is committed (WAL, not fsynced)',
      ...benchContext(),
    };
    writeBenchResult('kme', result);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    pki.cleanup();
  }
}

/** Headline fields (the run with the highest throughput; every run is listed in `runs`). */
function pick(r: Run) {
  return {
    requests_per_second: r.requests_per_second,
    p50_ms: r.p50_ms,
    p99_ms: r.p99_ms,
    bare_requests_per_second: r.bare_requests_per_second,
    ratio_to_bare: r.ratio_to_bare,
    connections: r.connections,
  };
}

if (mode)
  await serve(
    mode,
    process.argv[4]!,
    [Number(process.argv[5]), Number(process.argv[6])],
    Number(process.argv[7]),
  );
else await main();
