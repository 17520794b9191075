/**
 * The link engine: one block of N decoy-state BB84 pulses, sampled at the cost of its detections.
 *
 * Pulses are independent, so the detected pulses of a live detector form a Bernoulli process with the
 * per-pulse detection probability P = Σ cell weights (model.ts). The gap to the next detection is
 * Geometric(P) (skip sampling, L. Devroye, "Non-Uniform Random Variate Generation", 1986, §X.2) and the
 * detected pulse's class, bases, bits and click outcome are one draw from the cells' alias table. This is
 * the same law as "per intensity class, detections ~ Binomial(N·p_k, P_k), placed in uniformly random
 * slots", but also lets detections act on what follows: after a click the receiver is dead for ⌈τ·R⌉ − 1
 * gates (non-paralysable dead time, applied to both detectors) and, with the afterpulse probability, clicks
 * again at the first live gate with the bit of the detector that fired (a trapped-carrier release; the
 * pulse in that gate is drawn from the source's prior). Undetected pulses are never visited: the pulses
 * per class and basis are filled in afterwards by multinomial draws over the live and dead gates.
 */
import { AliasTable, BitArray, sampleMultinomial, type Rng } from '../common/index.ts';
import { FIELD } from './cells.ts';
import { buildModel, type BlockModel } from './model.ts';
import { buildEve, buildTelemetry, withCountermeasureReadings } from './telemetry.ts';
import type { LinkBlock, LinkBlockConfig, LinkRawRecord } from './types.ts';

/** Detections in time order as produced by the sampler, before packing. */
export interface DetectionStream {
  readonly count: number;
  readonly slot: Float64Array;
  readonly code: Uint16Array;
  /** Gates lost to dead time (neither live nor detected). */
  readonly deadGates: number;
}

function validate(cfg: LinkBlockConfig): void {
  const N = cfg.pulses;
  if (!(Number.isInteger(N) && N >= 0 && N <= Number.MAX_SAFE_INTEGER))
    throw new RangeError(`pulses must be an integer 0..2^53, got ${N}`);
  if (cfg.transmittance !== undefined && !(cfg.transmittance >= 0 && cfg.transmittance <= 1))
    throw new RangeError(`transmittance must be in 0..1, got ${cfg.transmittance}`);
  if (cfg.distanceKm !== undefined && !(cfg.distanceKm >= 0 && Number.isFinite(cfg.distanceKm)))
    throw new RangeError(`distanceKm must be a finite number ≥ 0, got ${cfg.distanceKm}`);
  const classes = cfg.intensities;
  if (classes) {
    if (classes.length < 1 || classes.length > 15)
      throw new RangeError(`a source needs 1..15 intensity classes, got ${classes.length}`);
    const sum = classes.reduce((s, c) => s + c.probability, 0);
    if (classes.some((c) => !(c.mu >= 0 && c.mu <= 100 && c.probability >= 0)) || Math.abs(sum - 1) > 1e-9)
      throw new RangeError(`intensity probabilities must be ≥ 0 and sum to 1 (sum ${sum}), 0 ≤ μ ≤ 100`);
  }
  if (classes && new Set(classes.map((c) => c.name)).size !== classes.length)
    throw new RangeError(
      `intensity class names must be distinct, got ${classes.map((c) => c.name).join(', ')}`,
    );
  const bias = cfg.params.basisBiasZ;
  if (!(bias > 0 && bias < 1)) throw new RangeError(`basisBiasZ must be in (0, 1), got ${bias}`);
}

/** Detection arrays that double when full (rare: the first capacity is the mean + 8σ). */
class Growable {
  slot: Float64Array;
  code: Uint16Array;
  constructor(capacity: number) {
    this.slot = new Float64Array(capacity);
    this.code = new Uint16Array(capacity);
  }
  grow(used: number): [Float64Array, Uint16Array] {
    const cap = Math.max(1024, this.slot.length * 2);
    const s = new Float64Array(cap);
    s.set(this.slot.subarray(0, used));
    const c = new Uint16Array(cap);
    c.set(this.code.subarray(0, used));
    this.slot = s;
    this.code = c;
    return [s, c];
  }
}

/** Samples the detections of N pulses in time order; cost grows with detections, not pulses. */
export function sampleDetections(
  model: BlockModel,
  pulses: number,
  rng: Rng,
  onProgress?: (pulsesDone: number) => void,
): DetectionStream {
  const P = model.detectProbability;
  const mean = pulses * P * (1 + 2 * model.afterpulseProbability);
  const out = new Growable(Math.min(pulses, Math.ceil(mean + 8 * Math.sqrt(mean) + 1024)));
  if (!(P > 0) || pulses === 0)
    return { count: 0, slot: new Float64Array(0), code: new Uint16Array(0), deadGates: 0 };
  const invLogQ = 1 / Math.log1p(-P);
  const table = new AliasTable(model.weights);
  const keep = table.keep;
  const alias = table.alias;
  const size = table.size;
  const fields = model.fields;
  const after = model.afterpulseProbability > 0 ? new AliasTable(model.afterWeights) : null;
  const dead = model.deadSlots;
  const yBit = FIELD.Y;
  const afterP = model.afterpulseProbability;
  const afterFields = model.afterFields;
  let slot = out.slot;
  let codes = out.code;
  let n = 0;
  let pos = 0;
  let deadGates = 0;
  for (;;) {
    const gap = P >= 1 ? 0 : Math.floor(Math.log(rng.nextOpenFloat()) * invLogQ);
    const s = pos + gap;
    if (!(s < pulses)) break;
    const xa = rng.nextFloat() * size;
    const col = Math.floor(xa);
    const other = alias[col]!;
    // Branch-free keep-or-alias (the outcome is random, a branch would often mispredict).
    let code = fields[other + (col - other) * +(xa - col < keep[col]!)]!;
    if (n === slot.length) [slot, codes] = out.grow(n);
    if (onProgress !== undefined && (n & 0xffff) === 0) onProgress(s);
    slot[n] = s;
    codes[n++] = code;
    pos = s + 1 + dead;
    if (dead > 0) deadGates += Math.min(dead, pulses - s - 1);
    while (after !== null && pos < pulses && rng.nextFloat() < afterP) {
      code = afterFields[after.sample(rng)]! | (code & yBit);
      if (n === slot.length) [slot, codes] = out.grow(n);
      slot[n] = pos;
      codes[n++] = code;
      deadGates += Math.min(dead, pulses - pos - 1);
      pos += 1 + dead;
    }
  }
  return { count: n, slot: slot.subarray(0, n), code: codes.subarray(0, n), deadGates };
}

/**
 * Pulses per (k, a, b): the detected ones counted, the rest drawn. Live undetected gates follow the prior
 * conditioned on no detection; dead gates follow the prior.
 */
function sentCounts(
  model: BlockModel,
  pulses: number,
  det: DetectionStream,
  detected: Float64Array,
  rng: Rng,
) {
  const cells = model.priorKab.length;
  const sent = new Float64Array(cells);
  for (let i = 0; i < cells; i++) sent[i] = detected[i]!;
  const live = pulses - det.count - det.deadGates;
  const undetected = Array.from(model.priorKab, (p, i) => Math.max(0, p - model.detectedKab[i]!));
  const liveDraw = sampleMultinomial(live, undetected, rng);
  const deadDraw = sampleMultinomial(det.deadGates, Array.from(model.priorKab), rng);
  for (let i = 0; i < cells; i++) sent[i]! += liveDraw[i]! + deadDraw[i]!;
  return sent;
}

/** Packs the detection stream into the raw record's arrays, tallying detections and errors per (k, a, b). */
function packBits(model: BlockModel, det: DetectionStream) {
  const n = det.count;
  const bits = Array.from({ length: 6 }, () => new BitArray(n));
  const [w1, w2, w3, w4, w5, w6] = bits.map((b) => b.words) as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  const intensity = new Uint8Array(n);
  // Per packed (k, a, b, x, y) pattern: how many detections; turned into per-(k, a, b) tallies below.
  const patterns = new Float64Array(1 << 8);
  const code = det.code;
  // Local copies: an imported binding is a getter call per use under some loaders (tsx).
  const [K_MASK, X, A, Y, B, DOUBLE, KNOWN] = [
    FIELD.K_MASK,
    FIELD.X,
    FIELD.A,
    FIELD.Y,
    FIELD.B,
    FIELD.DOUBLE,
    FIELD.KNOWN,
  ];
  if (A !== 1 << 4 || X !== 1 << 5 || B !== 1 << 6 || Y !== 1 << 7 || DOUBLE !== 1 << 8 || KNOWN !== 1 << 9)
    throw new Error('packBits: cell layout changed without this loop');
  // Branch-free: the bits are random, so `if (bit)` would mispredict half the time. Words are built in
  // registers and stored once full.
  let v1 = 0;
  let v2 = 0;
  let v3 = 0;
  let v4 = 0;
  let v5 = 0;
  let v6 = 0;
  for (let i = 0; i < n; i++) {
    const f = code[i]!;
    const sh = i & 31;
    intensity[i] = f & K_MASK;
    patterns[f & 0xff]!++;
    v1 |= ((f & X) >>> 5) << sh;
    v2 |= ((f & A) >>> 4) << sh;
    v3 |= ((f & Y) >>> 7) << sh;
    v4 |= ((f & B) >>> 6) << sh;
    v5 |= ((f & DOUBLE) >>> 8) << sh;
    v6 |= ((f & KNOWN) >>> 9) << sh;
    if (sh === 31 || i === n - 1) {
      const w = i >>> 5;
      w1[w] = v1;
      w2[w] = v2;
      w3[w] = v3;
      w4[w] = v4;
      w5[w] = v5;
      w6[w] = v6;
      v1 = v2 = v3 = v4 = v5 = v6 = 0;
    }
  }
  const cells = model.priorKab.length;
  const tallied = { detected: new Float64Array(cells), errors: new Float64Array(cells) };
  patterns.forEach((c, f) => {
    if (c === 0) return;
    const i = (f & FIELD.K_MASK) * 4 + (f & FIELD.A ? 2 : 0) + (f & FIELD.B ? 1 : 0);
    tallied.detected[i]! += c;
    if (((f & FIELD.X) !== 0) !== ((f & FIELD.Y) !== 0)) tallied.errors[i]! += c;
  });
  const [aliceBit, aliceBasis, bobBit, bobBasis, doubleClick, known] = bits as [
    BitArray,
    BitArray,
    BitArray,
    BitArray,
    BitArray,
    BitArray,
  ];
  return { aliceBit, aliceBasis, bobBit, bobBasis, doubleClick, known, intensity, tallied };
}

/** Most detections one block may hold (sifted positions are indexed by 32-bit integers). */
export const MAX_BLOCK_DETECTIONS = 2e9;

/** Options of `simulateBlock` that do not change its result. */
export interface SimulateOptions {
  /** Called every 65,536 detections with the pulse index reached (progress bars). */
  readonly onProgress?: (pulsesDone: number) => void;
}

/**
 * Simulates one block. Deterministic: the detections come from `rng.stream('block:<id>:detections')` and
 * the undetected pulses' classes from `rng.stream('block:<id>:sent')`, so the same rng and block id give
 * identical records, and different block ids independent ones.
 */
export function simulateBlock(cfg: LinkBlockConfig, rng: Rng, opts: SimulateOptions = {}): LinkBlock {
  validate(cfg);
  const model = buildModel(cfg);
  const expected = cfg.pulses * model.detectProbability * (1 + 2 * model.afterpulseProbability);
  if (expected > MAX_BLOCK_DETECTIONS)
    throw new RangeError(
      `a block of ${cfg.pulses} pulses would record about ${expected.toExponential(2)} detections, more than ${MAX_BLOCK_DETECTIONS.toExponential(0)}; split it into smaller blocks`,
    );
  const det = sampleDetections(
    model,
    cfg.pulses,
    rng.stream(`block:${cfg.blockId}:detections`),
    opts.onProgress,
  );
  const { known, tallied, ...arrays } = packBits(model, det);
  const sent = sentCounts(model, cfg.pulses, det, tallied.detected, rng.stream(`block:${cfg.blockId}:sent`));
  const raw: LinkRawRecord = {
    linkId: cfg.linkId,
    blockId: cfg.blockId,
    pulses: cfg.pulses,
    count: det.count,
    intensities: model.ctx.intensities,
    slot: det.slot,
    ...arrays,
    sent,
    basisBiasZ: model.ctx.pZ,
  };
  return {
    raw,
    telemetry: withCountermeasureReadings(cfg, buildTelemetry(cfg, model, raw, tallied), rng),
    eve: buildEve(cfg, model, raw, known),
  };
}
