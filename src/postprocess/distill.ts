/**
 * One block of a link, simulated and distilled: the single path by which every entry point turns the
 * link engine's pulses into final key (the network's event-level links, the live key supply of
 * `qkdnet up` and `qkdnet kme demo`, `qkdnet ipsec up`, `qkdnet link simulate --postprocess`).
 *
 * The rule for its random streams, from (seed, link id, block index i):
 *   - physics: `createRng(seed).stream('link:<id>').stream('block:<i>')` drives `simulateBlock` with
 *     block id i — detections, bases, intensities, errors, the attack (reproducible: same inputs, same
 *     telemetry and statistics, whichever entry point);
 *   - secrets: a `SecretSource` — node:crypto (`systemSecretSource`) by default, or with
 *     `keys: 'deterministic'` the seeded `physics.stream('secret')`. It supplies the key bits, the
 *     verification hash key and the privacy-amplification seed;
 *   - key bits: the engine draws each detection's (x, y) jointly with its physics; every detection's pair
 *     is then relabelled (x ⊕ s, y ⊕ s) with a fresh secret bit s. Errors (x ≠ y), and so every count,
 *     estimate and Cascade round, are unchanged, while the key values become independent of the seed. This
 *     is exact because the BB84 channel law is symmetric under flipping Alice's bit and Bob's outcome
 *     together (all presets and attacks here: detectors are modelled as symmetric, the time-shift attack
 *     favours either detector at random);
 *   - authentication: the link's `AuthKeyPool`, carried by the caller across blocks (and, live, across
 *     restarts): every hash key and pad is drawn once, whatever happens to the block, and the pool is
 *     replenished from the block's fresh final key (pipeline.ts). `linkAuthBootstrap` gives its first
 *     pre-shared bits by the same rule.
 *
 * Provenance: `qkd` for secret keys, `simulated-deterministic` with `keys: 'deterministic'` (anyone who
 * knows the seed recomputes those keys; KMEs hand them only to SAEs marked `test: true`).
 */
import {
  BitArray,
  createRng,
  seededSecretSource,
  systemSecretSource,
  type RandomWords,
  type RawRecord,
  type Rng,
  type SecretSource,
} from '../common/index.ts';
import { simulateBlock, type LinkBlock, type LinkBlockConfig, type SimulateOptions } from '../qkd/index.ts';
import { AuthKeyPool } from './auth.ts';
import {
  BOOTSTRAP_AUTH_POOL_BITS,
  runPipeline,
  type PipelineOptions,
  type PipelineResult,
} from './pipeline.ts';

/** Where key bytes come from: node:crypto (`secret`, the default) or the seed (`deterministic`). */
export type KeyMode = 'secret' | 'deterministic';

/** The provenance of a distilled key: information-theoretic QKD, or reproducible simulation output. */
export type DistilledProvenance = 'qkd' | 'simulated-deterministic';

/** One block of one link: the link engine's configuration plus the (seed, link, block index) triple. */
export interface DistillInput extends Omit<LinkBlockConfig, 'linkId' | 'blockId'> {
  readonly seed: string | number;
  readonly linkId: string;
  /** Block index within the link (integer ≥ 0); also the engine's block id. */
  readonly blockIndex: number;
}

/** How to distil. `authPool` is the link's pool: consumed and replenished in place. */
export interface DistillOptions {
  readonly keys: KeyMode;
  readonly authPool: AuthKeyPool;
  /** Post-processing options (algorithm, ε, authentication mode…); `timeNs` defaults to `startNs`. */
  readonly pipeline?: Omit<PipelineOptions, 'authPool'>;
  /** The secret source for `keys: 'secret'` (default node:crypto); tests may inject one. */
  readonly secretSource?: SecretSource;
  /** The block already simulated by `simulateLinkBlock` with the same input (spares a second run). */
  readonly simulated?: LinkBlock;
  readonly simulate?: SimulateOptions;
}

/** A distilled block: the engine's products and the pipeline's result, with the keys' provenance. */
export interface DistilledBlock {
  readonly block: LinkBlock;
  readonly result: PipelineResult;
  readonly provenance: DistilledProvenance;
}

/** The physics stream of block `blockIndex` of `linkId` under `seed` (the rule of the file header). */
export function blockStream(seed: string | number, linkId: string, blockIndex: number): Rng {
  if (!(Number.isSafeInteger(blockIndex) && blockIndex >= 0))
    throw new RangeError(`blockIndex must be an integer ≥ 0, got ${blockIndex}`);
  return createRng(seed).stream(`link:${linkId}`).stream(`block:${blockIndex}`);
}

/** The engine's configuration of a distillation input. */
function engineConfig(input: DistillInput): LinkBlockConfig {
  const { seed: _seed, blockIndex, ...rest } = input;
  return { ...rest, blockId: blockIndex };
}

/** Simulates the block's physics only (what `qkdnet link simulate` prints without `--postprocess`). */
export function simulateLinkBlock(input: DistillInput, opts: SimulateOptions = {}): LinkBlock {
  return simulateBlock(engineConfig(input), blockStream(input.seed, input.linkId, input.blockIndex), opts);
}

/**
 * The first pre-shared bits of a link's authentication pool: node:crypto, or with `keys: 'deterministic'`
 * the seeded `createRng(seed).stream('link:<id>').stream('auth-bootstrap')`.
 */
export function linkAuthBootstrap(
  seed: string | number,
  linkId: string,
  keys: KeyMode,
  bits = BOOTSTRAP_AUTH_POOL_BITS,
  secretSource: SecretSource = systemSecretSource,
): AuthKeyPool {
  const src =
    keys === 'deterministic'
      ? createRng(seed).stream(`link:${linkId}`).stream('auth-bootstrap')
      : secretSource;
  const initial = BitArray.random(bits, src);
  const pool = new AuthKeyPool(initial);
  initial.wipe();
  return pool;
}

/**
 * XORs one secret bit into each detection's (x, y) pair (the relabelling of the file header). The
 * two-process harness (src/cli/pp-pipeline.ts) applies it at both ends with a stream both draw alike.
 */
export function relabelKeyBits(raw: Pick<RawRecord, 'aliceBit' | 'bobBit'>, secret: RandomWords): void {
  const { aliceBit, bobBit } = raw;
  const mask = BitArray.random(aliceBit.length, secret);
  const m = mask.words;
  const a = aliceBit.words;
  const b = bobBit.words;
  for (let i = 0; i < m.length; i++) {
    a[i] = (a[i]! ^ m[i]!) >>> 0;
    b[i] = (b[i]! ^ m[i]!) >>> 0;
  }
  mask.wipe();
}

/**
 * Simulates (unless `opts.simulated` is given) and distils one block by the rule of the file header.
 * Returns both ends' final keys only when they are equal (pipeline.ts); the caller wipes them.
 */
export function distillBlock(input: DistillInput, opts: DistillOptions): DistilledBlock {
  const block = opts.simulated ?? simulateLinkBlock(input, opts.simulate);
  const secret =
    opts.keys === 'deterministic'
      ? seededSecretSource(blockStream(input.seed, input.linkId, input.blockIndex).stream('secret'))
      : (opts.secretSource ?? systemSecretSource);
  if (opts.keys === 'secret' && secret.deterministic)
    throw new TypeError("distillBlock: keys 'secret' needs a non-deterministic SecretSource");
  relabelKeyBits(block.raw, secret);
  const result = runPipeline(
    block.raw,
    { timeNs: input.startNs ?? 0, ...opts.pipeline, authPool: opts.authPool },
    secret,
  );
  return { block, result, provenance: opts.keys === 'deterministic' ? 'simulated-deterministic' : 'qkd' };
}
