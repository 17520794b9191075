/**
 * Runs post-processing across two OS processes: Alice (`qkdnet pp-peer --role alice`, listening on a free
 * port), the delaying proxy (netem-proxy.ts, in this process, one-way delay = RTT/2) and Bob (`qkdnet
 * pp-peer --role bob`, connecting through the proxy). Each child prints one JSON report line; a child
 * that fails makes the whole run fail with its own message. Used by `qkdnet reconcile --channel tcp`,
 * `qkdnet link simulate --postprocess --channel tcp`, the reconcile-net benchmark and the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QkdnetError } from '../common/index.ts';
import { NetemProxy, type NetemCounters, type NetemOptions } from './netem-proxy.ts';
import { writePreshared } from './pp-pipeline.ts';

/** The `qkdnet` entry point the children run. */
// This module runs from the sources (src/cli/pp-net.ts) or compiled into dist/cli.mjs (scripts/build-dist.mjs).
const BIN = fileURLToPath(
  new URL(import.meta.url.endsWith('.mjs') ? '../bin/qkdnet.js' : '../../bin/qkdnet.js', import.meta.url),
);

/** A running child's output, line by line. */
interface Child {
  readonly proc: ChildProcess;
  readonly lines: string[];
  readonly stderr: string[];
  readonly exited: Promise<number>;
  /** Resolves with the first stdout line parsed as JSON. */
  readonly first: Promise<Record<string, unknown>>;
}

function startChild(args: readonly string[]): Child {
  const proc = spawn(process.execPath, [BIN, 'pp-peer', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const stderr: string[] = [];
  let resolveFirst: (v: Record<string, unknown>) => void = () => {};
  let rejectFirst: (e: Error) => void = () => {};
  const first = new Promise<Record<string, unknown>>(
    (res, rej) => ((resolveFirst = res), (rejectFirst = rej)),
  );
  first.catch(() => {}); // only Alice's first line (her port) is awaited; Bob's is his report
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length === 1) {
        try {
          resolveFirst(JSON.parse(line) as Record<string, unknown>);
        } catch {
          rejectFirst(new Error(`unexpected output from a peer: ${line.slice(0, 200)}`));
        }
      }
    }
  });
  let ebuf = '';
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
    ebuf += s;
    const parts = ebuf.split('\n');
    ebuf = parts.pop()!;
    stderr.push(...parts.filter((l) => l.trim() !== ''));
  });
  const exited = new Promise<number>((resolve) =>
    proc.on('close', (code) => {
      if (ebuf.trim()) stderr.push(ebuf);
      rejectFirst(new Error(stderr.at(-1) ?? `peer exited with code ${code} before reporting`));
      resolve(code ?? 1);
    }),
  );
  return { proc, lines, stderr, exited, first };
}

/** Options of a two-process run. */
export interface TwoProcessOptions {
  /** Arguments both `pp-peer` processes get (mode, algorithm, sizes, seed, window…). */
  readonly args: readonly string[];
  readonly rttMs: number;
  readonly jitterMs?: number;
  readonly loss?: number;
  readonly lossMode?: NetemOptions['lossMode'];
  /** Extra arguments for Alice or Bob only (tests: a mismatched parameter). */
  readonly aliceArgs?: readonly string[];
  readonly bobArgs?: readonly string[];
}

/** What a two-process run returns: each end's report (or its failure line) and the proxy's counters. */
export interface TwoProcessResult<R> {
  readonly alice: { code: number; report: R | null; error: string | null };
  readonly bob: { code: number; report: R | null; error: string | null };
  readonly proxy: NetemCounters;
}

function outcome<R>(c: Child, code: number): { code: number; report: R | null; error: string | null } {
  const last = c.lines.at(-1);
  let report: R | null = null;
  if (code === 0 && last) report = JSON.parse(last) as R;
  return { code, report, error: code === 0 ? null : (c.stderr.at(-1) ?? `exited with code ${code}`) };
}

/**
 * A pipeline run with secret keys needs a pre-shared secret at both ends: written here (node:crypto,
 * 0600 file in a 0700 mkdtemp directory, removed after the run), as an operator installs a pre-shared
 * key on two machines. Returns the extra arguments and the clean-up.
 */
function presharedFor(args: readonly string[]): { args: string[]; cleanup: () => void } {
  const mode = args[args.indexOf('--mode') + 1];
  if (mode !== 'pipeline' || args.includes('--deterministic-keys') || args.includes('--preshared'))
    return { args: [], cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-pp-psk-'));
  const file = join(dir, 'preshared.hex');
  writePreshared(file).fill(0);
  return { args: ['--preshared', file], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts Alice, the proxy and Bob; resolves when both ends have exited (failures are values). */
export async function runTwoProcesses<R>(o: TwoProcessOptions): Promise<TwoProcessResult<R>> {
  const psk = presharedFor(o.args);
  try {
    return await runChildren<R>({ ...o, args: [...o.args, ...psk.args] });
  } finally {
    psk.cleanup();
  }
}

async function runChildren<R>(o: TwoProcessOptions): Promise<TwoProcessResult<R>> {
  const alice = startChild(['--role', 'alice', '--listen', '127.0.0.1:0', ...o.args, ...(o.aliceArgs ?? [])]);
  let proxy: NetemProxy | null = null;
  let bob: Child | null = null;
  try {
    const hello = await alice.first;
    if (typeof hello.listening !== 'number') throw new Error('alice did not report her port');
    proxy = new NetemProxy({
      listenPort: 0,
      targetHost: '127.0.0.1',
      targetPort: hello.listening,
      delayMs: o.rttMs / 2,
      ...(o.jitterMs !== undefined ? { jitterMs: o.jitterMs } : {}),
      ...(o.loss !== undefined ? { loss: o.loss } : {}),
      ...(o.lossMode !== undefined ? { lossMode: o.lossMode } : {}),
    });
    const port = await proxy.start();
    bob = startChild(['--role', 'bob', '--connect', `127.0.0.1:${port}`, ...o.args, ...(o.bobArgs ?? [])]);
    const [ca, cb] = await Promise.all([alice.exited, bob.exited]);
    return { alice: outcome<R>(alice, ca), bob: outcome<R>(bob, cb), proxy: proxy.counters };
  } catch (e) {
    alice.proc.kill();
    bob?.proc.kill();
    await alice.exited;
    throw new QkdnetError('PP_PEER_DISCONNECTED', `two-process run failed: ${(e as Error).message}`);
  } finally {
    await proxy?.close();
  }
}
