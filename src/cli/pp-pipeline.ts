/**
 * The whole post-processing pipeline between two ends that hold only their own view of each block
 * (two-party-pipeline.ts), over the memory channel or TCP (pp-net.ts), with up to `window` blocks in
 * flight. How each end gets its view in simulation: both simulate the same block from the shared seed
 * (`source: example` — the closed-form decoy link of lim2014-raw-records.ts, one record per block; `source: link`
 * — the link engine with `qkdnet link simulate`'s options, one block) and keep only their own half
 * (`splitRecord`), dropping the other. Simulation oracle (measurement only): each end reports a short
 * digest of each final key, so the harness can say whether both ends emitted the same key.
 *
 * Secrets, as in the one-process path (src/postprocess/distill.ts): the seed drives physics only. With
 * `keys: 'secret'` (the default) each end's hash keys, privacy-amplification seeds and private
 * reconciliation choices come from node:crypto, and what both ends must share comes from a 256-bit
 * pre-shared secret (`--preshared FILE`, made with `--new-preshared`): the authentication pool (the
 * pre-shared key of any QKD link) and the secret relabelling of each detection's key bits — the
 * stand-in for the photons that carry Alice's bits to Bob, so the key bits cannot be recomputed from the
 * seed. With `keys: 'deterministic'` (`--deterministic-keys`) all of it comes from the seed, and the
 * report says `key_provenance: simulated-deterministic`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import {
  BitArray,
  createRng,
  keyedSecretSource,
  systemSecretSource,
  type RawRecord,
} from '../common/index.ts';
import {
  AliceBlock,
  AuthKeyPool,
  BobBlock,
  EXAMPLE_LINK,
  UNIT_AUTH_BITS,
  UnitMux,
  UnitPools,
  runInMemory,
  simulateRawRecord,
  splitRecord,
  relabelKeyBits,
  type BlockRandom,
  type BlockStats,
  type KeyMode,
  type ReconcileAlgorithmName,
} from '../postprocess/index.ts';
import { cpuSeconds, encodedCarry } from './pp-reconcile.ts';
import { UsageError } from './util.ts';

/** What both ends of a pipeline run agree on (compared at the TCP handshake). */
export interface PipelineRunParams {
  readonly mode: 'pipeline';
  readonly source: 'example' | 'link';
  readonly blocks: number;
  readonly window: number;
  readonly algorithm: ReconcileAlgorithmName;
  readonly seed: string;
  /** source link: `qkdnet link simulate`'s options as JSON. */
  readonly link: string;
  /** `secret` (node:crypto and the pre-shared secret) or `deterministic` (everything from the seed). */
  readonly keys: KeyMode;
}

/** Bytes of the pre-shared secret of a two-process run. */
export const PRESHARED_BYTES = 32;

/** Writes a fresh pre-shared secret (hex, mode 0600, never over an existing file); returns it. */
export function writePreshared(path: string): Uint8Array {
  const secret = new Uint8Array(randomBytes(PRESHARED_BYTES));
  try {
    writeFileSync(path, `${Buffer.from(secret).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw new UsageError(`--new-preshared: cannot create ${path}: ${(e as Error).message}`);
  }
  return secret;
}

/** Reads a pre-shared secret file (64 hex digits); a bad file is a usage error (exit 2). */
export function readPreshared(path: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new UsageError(`--preshared: cannot read ${path}: ${(e as Error).message}`);
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw new UsageError(`--preshared: ${path} does not hold 64 hex digits (make one with --new-preshared)`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Untimed blocks each process runs in memory first (JIT), as the postprocess benchmark does. */
export const PIPELINE_WARMUP_BLOCKS = 4;

/** One end's figures (the JSON line a pipeline peer prints). */
export interface PipelineEndReport {
  role: 'alice' | 'bob';
  /** `qkd` (secret keys) or `simulated-deterministic` (`--deterministic-keys`: recomputable from the seed). */
  key_provenance: 'qkd' | 'simulated-deterministic';
  blocks_ok: number;
  blocks_discarded: number;
  discard_reasons: Record<string, number>;
  stats: (BlockStats | null)[];
  digests: string[];
  cpu_seconds: number;
  wall_start_ms: number;
  wall_end_ms: number;
  bytes_sent: number;
  bytes_received: number;
}

/** An empty report. */
export function emptyPipelineReport(
  role: 'alice' | 'bob',
  blocks: number,
  keys: KeyMode = 'secret',
): PipelineEndReport {
  return {
    role,
    key_provenance: keys === 'deterministic' ? 'simulated-deterministic' : 'qkd',
    blocks_ok: 0,
    blocks_discarded: 0,
    discard_reasons: {},
    stats: new Array<BlockStats | null>(blocks).fill(null),
    digests: new Array<string>(blocks).fill(''),
    cpu_seconds: 0,
    wall_start_ms: 0,
    wall_end_ms: 0,
    bytes_sent: 0,
    bytes_received: 0,
  };
}

/** Builds the raw record of block b (both ends run this with the same seed). */
export type RecordSource = (b: number) => RawRecord;

/** The example link's block b (closed-form decoy BB84, ≈ 5·10⁵ sifted bits). */
export function exampleSource(seed: string): RecordSource {
  return (b) => simulateRawRecord(EXAMPLE_LINK, createRng(`${seed}:block:${b}`), 'example', b);
}

function digest(key: BitArray): string {
  return createHash('sha256')
    .update(new Uint8Array(key.words.buffer, key.words.byteOffset, key.words.byteLength))
    .update(String(key.length))
    .digest('hex')
    .slice(0, 16);
}

/**
 * This end's multiplexer for a pipeline run; outcomes are written into `report`. `preshared`: the
 * secret both ends hold (required with `keys: 'secret'`, ignored otherwise).
 */
export function pipelineEnd(
  role: 'alice' | 'bob',
  p: PipelineRunParams,
  source: RecordSource,
  report: PipelineEndReport,
  preshared: Uint8Array | null,
): UnitMux {
  const secret = p.keys === 'secret';
  if (secret && preshared?.length !== PRESHARED_BYTES)
    throw new TypeError('pipelineEnd: keys "secret" needs the 32-byte pre-shared secret');
  const bits = BitArray.random(
    p.blocks * UNIT_AUTH_BITS,
    secret ? keyedSecretSource(preshared!, 'qkdnet pp auth-pool') : createRng(`${p.seed}:preshared-auth`),
  );
  const pools = new UnitPools(new AuthKeyPool(bits));
  bits.wipe();
  const o = {
    algorithm: p.algorithm,
    epsSec: 1e-10,
    epsCor: 1e-15,
    paFamily: 'multiply-add-shift' as const,
    qberThreshold: 0.11,
  };
  const rng = createRng(`${p.seed}:${role}`);
  return new UnitMux({
    role: role === 'bob' ? 'initiator' : 'responder',
    units: p.blocks,
    window: p.window,
    create: (id) => {
      const raw = source(id);
      if (secret) relabelKeyBits(raw, keyedSecretSource(preshared!, `qkdnet pp channel block ${id}`));
      const views = splitRecord(raw); // this end keeps its half; the other is dropped here
      const pub = rng.stream(`block:${id}`);
      const random: BlockRandom = { public: pub, secret: secret ? systemSecretSource : pub.stream('secret') };
      return role === 'alice'
        ? new AliceBlock(id, pools.take(id), o, views.alice, random)
        : new BobBlock(id, pools.take(id), o, views.bob, random);
    },
    onOutcome: (oc, unit) => {
      const end = unit as AliceBlock | BobBlock;
      report.stats[oc.unit] = { ...end.stats };
      if (oc.ok) report.blocks_ok++;
      else {
        report.blocks_discarded++;
        report.discard_reasons[oc.reason] = (report.discard_reasons[oc.reason] ?? 0) + 1;
      }
      const key = end.finalKey;
      if (key && oc.ok) report.digests[oc.unit] = digest(key);
      key?.wipe(); // delivered nowhere: the simulation only counts it
    },
  });
}

/** Runs PIPELINE_WARMUP_BLOCKS blocks in memory with both ends here, untimed (JIT for every path). */
export function pipelineWarmUp(p: PipelineRunParams, source: RecordSource): void {
  const w = {
    ...p,
    blocks: PIPELINE_WARMUP_BLOCKS,
    window: PIPELINE_WARMUP_BLOCKS,
    seed: `${p.seed}:warm-up`,
  };
  const s: RecordSource = (b) => source(b + p.blocks); // other blocks than the timed ones
  const psk = new Uint8Array(randomBytes(PRESHARED_BYTES)); // both ends are here: one secret for both
  runInMemory(
    pipelineEnd('bob', w, s, emptyPipelineReport('bob', w.blocks), psk),
    pipelineEnd('alice', w, s, emptyPipelineReport('alice', w.blocks), psk),
    encodedCarry,
  );
  psk.fill(0);
}

/** Both ends in this process: returns both reports and the wall time. */
export function runPipelineMemory(
  p: PipelineRunParams,
  source: RecordSource,
): { alice: PipelineEndReport; bob: PipelineEndReport; wallSeconds: number; cpuSeconds: number } {
  const alice = emptyPipelineReport('alice', p.blocks, p.keys);
  const bob = emptyPipelineReport('bob', p.blocks, p.keys);
  const psk = new Uint8Array(randomBytes(PRESHARED_BYTES)); // both ends are here: one secret for both
  const bobMux = pipelineEnd('bob', p, source, bob, psk);
  const aliceMux = pipelineEnd('alice', p, source, alice, psk);
  const c0 = cpuSeconds();
  const t0 = performance.now();
  runInMemory(bobMux, aliceMux);
  psk.fill(0);
  return { alice, bob, wallSeconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSeconds() - c0 };
}

/** Runs one end over an accepted or connected socket (`qkdnet pp-peer --mode pipeline`). */
export async function pipelinePeer(
  role: 'alice' | 'bob',
  p: PipelineRunParams,
  source: RecordSource,
  preshared: Uint8Array | null,
  warmup: boolean,
  socket: () => Promise<net.Socket>,
  run: (
    s: net.Socket,
    mux: UnitMux,
  ) => Promise<{ counters: { bytesSent: number; bytesReceived: number }; start: number; end: number }>,
): Promise<PipelineEndReport> {
  if (warmup) pipelineWarmUp(p, source);
  const s = await socket();
  const report = emptyPipelineReport(role, p.blocks, p.keys);
  const c0 = cpuSeconds();
  const r = await run(s, pipelineEnd(role, p, source, report, preshared));
  report.cpu_seconds = cpuSeconds() - c0;
  report.wall_start_ms = r.start;
  report.wall_end_ms = r.end;
  report.bytes_sent = r.counters.bytesSent;
  report.bytes_received = r.counters.bytesReceived;
  return report;
}
