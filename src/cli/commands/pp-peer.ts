/**
 * `qkdnet pp-peer` — one end (Alice or Bob) of post-processing over TCP, in its own process. Alice
 * listens, Bob connects; they shake hands (parameters must match), then run the units — reconciliation
 * frames (`--mode reconcile`) or whole blocks (`--mode pipeline`) — with up to `--window` in flight. Prints
 * `{"listening": port}` once Alice listens, and one JSON report line at the end. `qkdnet reconcile
 * --channel tcp` and `qkdnet link simulate --postprocess --channel tcp` start two of these through the
 * delaying proxy; on two machines, start one on each.
 */
import type net from 'node:net';
import type { Command } from 'commander';
import { UsageError, parseNumber } from '../util.ts';
import { warmUp, type ReconcileRunParams } from '../pp-reconcile.ts';
import { acceptMany, acceptOne, connect, runBobLanes, runEnd, runLanesHere } from '../pp-lanes.ts';
import { parseAlgorithm } from '../algorithms.ts';
import {
  exampleSource,
  pipelinePeer,
  readPreshared,
  writePreshared,
  type PipelineRunParams,
  type RecordSource,
} from '../pp-pipeline.ts';
import { runLinkSimulate } from './link.ts';

interface Options {
  role?: string;
  listen?: string;
  connect?: string;
  mode: string;
  algorithm: string;
  qber: string;
  blockSize: string;
  frames: string;
  window: string;
  threads: string;
  seed: string;
  idleTimeout: string;
  warmup: boolean;
  source: string;
  linkJson: string;
  preshared?: string;
  newPreshared?: string;
  deterministicKeys?: boolean;
}

/** Parses host:port (port 0 allowed for --listen). */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  if (i <= 0) throw new UsageError(`${flag}: "${text}" is not host:port`);
  const port = parseNumber(text.slice(i + 1), flag, { min: 0, max: 65535, integer: true });
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

export function register(program: Command): void {
  program
    .command('pp-peer')
    .description('one end of post-processing over TCP (Alice listens, Bob connects); used by --channel tcp')
    .option('--role <r>', 'alice | bob')
    .option('--listen <host:port>', 'Alice: address to listen on (port 0: any free port, printed)')
    .option('--connect <host:port>', "Bob: Alice's address (or a delaying proxy's, see qkdnet netem)")
    .option('--mode <m>', 'reconcile | pipeline', 'reconcile')
    .option('--algorithm <name>', 'error correction', 'cascade-improved')
    .option('--qber <q>', 'reconcile: QBER of the simulated frames', '0.02')
    .option('--block-size <n>', 'reconcile: frame length in bits', '100000')
    .option('--frames <f>', 'reconcile: frames; pipeline: blocks', '10')
    .option('--window <w>', 'units in flight at once', '8')
    .option(
      '--threads <k>',
      'reconcile: lanes, one connection each; Bob runs each in a worker thread (both ends must agree)',
      '1',
    )
    .option('--seed <s>', 'shared simulation seed (both ends derive their own view from it)', '1')
    .option(
      '--source <s>',
      'pipeline: example (closed-form decoy link, 5·10^5 sifted bits a block) | link',
      'example',
    )
    .option('--link-json <json>', "pipeline, source link: qkdnet link simulate's options as JSON", '{}')
    .option(
      '--preshared <file>',
      'pipeline: the 256-bit secret both ends share (authentication pool, key-bit relabelling)',
    )
    .option('--new-preshared <file>', 'write a fresh pre-shared secret (mode 0600) to <file> and exit')
    .option(
      '--deterministic-keys',
      'pipeline: every secret from the seed (reproducible, labelled simulated-deterministic)',
    )
    .option('--idle-timeout <s>', 'give up after this many seconds without a byte from the peer', '30')
    .option('--no-warmup', 'skip the untimed in-process warm-up')
    .addHelpText(
      'after',
      `
Examples (two terminals, or two machines):
  $ qkdnet pp-peer --role alice --listen 0.0.0.0:7400 --frames 100 --seed 42
  $ qkdnet pp-peer --role bob --connect alice.example:7400 --frames 100 --seed 42
  $ qkdnet pp-peer --new-preshared psk.hex     # then give both ends a copy:
  $ qkdnet pp-peer --role alice --listen 0.0.0.0:7400 --mode pipeline --preshared psk.hex
  $ qkdnet pp-peer --role bob --connect alice.example:7400 --mode pipeline --preshared psk.hex
Both ends must be given the same parameters; the handshake refuses a peer whose differ. Alice's view
(her bits) and Bob's (his bits) are each derived from the shared seed (the simulated physics). In
pipeline mode the secrets are not: hash keys and privacy-amplification seeds come from node:crypto at
each end, and the authentication pool and the key bits' secret relabelling from --preshared (the
stand-in for the pre-shared key and the photons). --deterministic-keys takes them all from the seed
instead, for reproducible bytes; the report then says key_provenance: simulated-deterministic.`,
    )
    .action(async (o: Options) => {
      if (o.newPreshared !== undefined) {
        writePreshared(o.newPreshared).fill(0);
        process.stdout.write(`${JSON.stringify({ preshared: o.newPreshared })}\n`);
        return;
      }
      if (o.role !== 'alice' && o.role !== 'bob') throw new UsageError('--role must be alice or bob');
      const role = o.role;
      if (role === 'alice' && !o.listen) throw new UsageError('--listen host:port is required for alice');
      if (role === 'bob' && !o.connect) throw new UsageError('--connect host:port is required for bob');
      const addr = parseHostPort(
        (role === 'alice' ? o.listen : o.connect)!,
        role === 'alice' ? '--listen' : '--connect',
      );
      const idleMs = parseNumber(o.idleTimeout, '--idle-timeout', { min: 0.1, max: 86400 }) * 1000;
      const frames = parseNumber(o.frames, '--frames', { min: 1, max: 1e6, integer: true });
      const window = parseNumber(o.window, '--window', { min: 1, max: 1024, integer: true });
      const algorithm = parseAlgorithm(o.algorithm);
      if (o.mode === 'pipeline') {
        if (o.source !== 'example' && o.source !== 'link')
          throw new UsageError(`--source: "${o.source}" is not example or link`);
        if (!o.deterministicKeys && o.preshared === undefined)
          throw new UsageError(
            '--mode pipeline needs --preshared <file> (make one with --new-preshared <file>, give both ends a copy) or --deterministic-keys',
          );
        const preshared = o.deterministicKeys ? null : readPreshared(o.preshared!);
        const pp: PipelineRunParams = {
          mode: 'pipeline',
          source: o.source,
          blocks: frames,
          window,
          algorithm,
          seed: o.seed,
          link: o.linkJson,
          keys: o.deterministicKeys ? 'deterministic' : 'secret',
        };
        let source: RecordSource;
        if (o.source === 'link') {
          if (frames !== 1) throw new UsageError('--source link simulates one block: give --frames 1');
          const opts = JSON.parse(o.linkJson) as Parameters<typeof runLinkSimulate>[0];
          source = () => runLinkSimulate(opts).block.raw;
        } else source = exampleSource(o.seed);
        const { window: _w, ...agreed } = pp;
        const report = await pipelinePeer(
          role,
          pp,
          source,
          preshared,
          o.warmup,
          () => (role === 'alice' ? acceptOne(addr.host, addr.port) : connect(addr.host, addr.port)),
          (s, mux) => runEnd(s, mux, role, agreed, idleMs),
        );
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      if (o.mode !== 'reconcile') throw new UsageError(`--mode: "${o.mode}" is not reconcile or pipeline`);
      const threads = parseNumber(o.threads, '--threads', { min: 1, max: 64, integer: true });
      if (threads > frames) throw new UsageError(`--threads ${threads} is more than --frames ${frames}`);
      const p: ReconcileRunParams = {
        mode: 'reconcile',
        algorithm,
        qber: parseNumber(o.qber, '--qber', { min: 1e-6, max: 0.49 }),
        blockSize: parseNumber(o.blockSize, '--block-size', { min: 1, max: 2e6, integer: true }),
        frames,
        window,
        seed: o.seed,
        ...(threads > 1 ? { threads } : {}),
      };
      const { window: _w, ...agreed } = p; // the window is Bob's own choice
      let report;
      if (role === 'bob' && threads > 1) {
        // Each lane warms up in its own worker before connecting.
        report = await runBobLanes(p, threads, addr.host, addr.port, agreed, idleMs, o.warmup);
      } else {
        if (o.warmup) warmUp(p);
        const accept = role === 'alice' ? acceptMany(addr.host, addr.port, threads) : null;
        try {
          report = await runLanesHere(
            role,
            accept?.sockets ?? [connect(addr.host, addr.port)],
            p,
            agreed,
            idleMs,
          );
        } finally {
          accept?.close();
        }
      }
      process.stdout.write(`${JSON.stringify(report)}\n`);
    });
}
