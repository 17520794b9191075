/**
 * `qkdnet link simulate` — one block of decoy-state BB84 on one link, event by event (src/qkd): real bits,
 * the statistics Alice and Bob see, what an attacker does to them, and the security verdict. Prints a
 * table or JSON. Bad input is one line on stderr and exit code 2.
 *
 * The action is split so that later stages can add fields to the same JSON object: `runLinkSimulate`
 * returns the block, the sifted key and the estimates with the base JSON; a post-processing stage
 * (`--postprocess`, wired by the pipeline) merges its own fields into `json` before printing.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { IntensityClass } from '../../common/index.ts';
import { PARAM_SPECS, PRESETS, findPreset, withOverrides, type LinkParams } from '../../physics/index.ts';
import {
  ATTACK_DEFAULTS,
  ATTACK_KINDS,
  buildModel,
  estimate,
  insecureKeyBits,
  parseAttack,
  sift,
  type AttackSpec,
  type Estimates,
  type LinkBlock,
  type LinkBlockConfig,
  type Sifted,
} from '../../qkd/index.ts';
import {
  distillBlock,
  linkAuthBootstrap,
  linkPostprocessFields,
  simulateLinkBlock,
  type DistilledProvenance,
  type DistillInput,
  type PipelineResult,
  type PipelineStats,
  RECONCILE_ALGORITHM_NAMES,
  type ReconcileAlgorithmName,
} from '../../postprocess/index.ts';
import { QkdnetError } from '../../common/index.ts';
import { parseAlgorithm as parseRegistered } from '../algorithms.ts';
import { runTwoProcesses } from '../pp-net.ts';
import type { PipelineEndReport } from '../pp-pipeline.ts';
import { ProgressBar, UsageError, formatTable, parseFormat, parseNumber } from '../util.ts';

/** The JSON `qkdnet link simulate --format json` prints (the first fourteen fields are the original contract). */
export interface LinkSimulateJson {
  pulses: number;
  detections: number;
  sifted_bits: number;
  qber_z: number;
  qber_x: number;
  gain_signal: number;
  gain_decoy: number;
  gain_vacuum: number;
  y1_lower: number;
  e1_upper: number;
  secure: boolean;
  reason?: string;
  eve_known_bits: number;
  elapsed_ms: number;
  preset: string;
  distance_km: number | null;
  transmittance: number;
  attack: string | null;
  seed: string;
  y1_lower_asymptotic: number;
  e1_upper_asymptotic: number;
  key_length_bits: number;
  double_clicks: number;
  detection_rate_hz: number;
  monitor_power_w: number;
  /** Fields merged by later stages (e.g. the post-processing pipeline). */
  [extra: string]: unknown;
}

/** Everything one run produced, for stages that extend the output. */
export interface LinkSimulateRun {
  readonly config: LinkBlockConfig;
  readonly block: LinkBlock;
  readonly sifted: Sifted;
  readonly estimates: Estimates;
  readonly json: LinkSimulateJson;
}

interface Options {
  preset: string;
  distance?: string;
  channel?: string;
  pulses: string;
  attack?: string;
  seed: string;
  set: string[];
  format: string;
  postprocess?: boolean;
  algorithm?: string;
  deterministicKeys?: boolean;
  /** `--rtt-ms` of `--channel tcp` (post-processing across two processes). */
  rttMs?: string;
}

/** The link id of `qkdnet link simulate`'s one link (block index 0): the distillation rule's inputs. */
export const LINK_SIMULATE_LINK_ID = 'alice-bob';

/** The distillation input of a run (src/postprocess distill.ts): (seed, `alice-bob`, block 0). */
function distillInput(config: LinkBlockConfig, seed: string): DistillInput {
  const { linkId, blockId, ...rest } = config;
  return { ...rest, seed, linkId, blockIndex: blockId };
}

/** Most detections one run may record (≈ 10 bytes each in memory). */
export const MAX_DETECTIONS = 6e7;

const EXAMPLES = `
Examples:
  $ qkdnet link simulate --preset gys --distance 50 --pulses 1e10
      10^10 pulses (≈ 1.4e7 detections) of the GYS experiment at 50 km, in about a second
  $ qkdnet link simulate --distance 25 --attack intercept-resend:0.2 --format json
      Eve measures and resends 20 % of the pulses: QBER rises by ≈ 0.05, she knows ≈ 10 % of the key
  $ qkdnet link simulate --attack pns --pulses 1e10      signal gain normal, decoy gain not: rejected
  $ qkdnet link simulate --channel link.yaml --seed 7    parameters from a file
  $ qkdnet link simulate --distance 10 --pulses 1e9 --postprocess --format json
      …and on to final keys: Cascade, verification, privacy amplification, authentication
  $ qkdnet link simulate --distance 10 --pulses 1e9 --postprocess --channel tcp --rtt-ms 1
      …with Alice and Bob as two processes, 1 ms round trip apart (each holds only its own view)

Attacks (--attack kind[:param], default strength in brackets):
${ATTACK_KINDS.map((k) => `  ${k.padEnd(18)} ${ATTACK_DEFAULTS[k].doc} [${ATTACK_DEFAULTS[k].param}]`).join('\n')}

A channel file (YAML) may hold: preset, distance_km or transmittance, params (snake_case keys as in
--set) and intensities (a list of {name, mu, probability}). --set key=value overrides a parameter:
${Object.values(PARAM_SPECS)
  .slice(0, 11)
  .map((s) => `  ${s.name.padEnd(30)} ${s.doc} [${s.unit}]`)
  .join('\n')}
The default source is signal μ = 0.5 / decoy 0.1 / vacuum with probabilities 0.7 / 0.2 / 0.1.`;

interface ChannelFile {
  preset?: string;
  distanceKm?: number;
  transmittance?: number;
  overrides: Record<string, number>;
  intensities?: IntensityClass[];
}

function readChannel(path: string): ChannelFile {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--channel: cannot read ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null)
    throw new UsageError(`--channel: ${path} is not a YAML mapping`);
  const d = doc as Record<string, unknown>;
  const known = ['preset', 'distance_km', 'transmittance', 'params', 'intensities'];
  for (const k of Object.keys(d))
    if (!known.includes(k))
      throw new UsageError(`--channel: unknown key "${k}" (known: ${known.join(', ')})`);
  const num = (v: unknown, what: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new UsageError(`--channel: ${what} must be a number`);
    return v;
  };
  const out: ChannelFile = { overrides: {} };
  if (d.preset !== undefined) out.preset = String(d.preset);
  if (d.distance_km !== undefined) out.distanceKm = num(d.distance_km, 'distance_km');
  if (d.transmittance !== undefined) out.transmittance = num(d.transmittance, 'transmittance');
  if (d.params !== undefined) {
    if (typeof d.params !== 'object' || d.params === null)
      throw new UsageError('--channel: params must be a mapping');
    for (const [k, v] of Object.entries(d.params)) out.overrides[k] = num(v, `params.${k}`);
  }
  if (d.intensities !== undefined) {
    if (!Array.isArray(d.intensities)) throw new UsageError('--channel: intensities must be a list');
    out.intensities = d.intensities.map((c: Record<string, unknown>, i: number) => ({
      name: String(c?.name ?? `class${i}`),
      mu: num(c?.mu, `intensities[${i}].mu`),
      probability: num(c?.probability, `intensities[${i}].probability`),
    }));
  }
  return out;
}

function parseSets(items: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set: "${item}" is not key=value`);
    out[item.slice(0, eq).trim()] = parseNumber(item.slice(eq + 1), `--set ${item.slice(0, eq).trim()}`);
  }
  return out;
}

/** Builds the block configuration from the command-line options. */
export function configFromOptions(o: Options): {
  config: LinkBlockConfig;
  preset: string;
  attack?: AttackSpec;
} {
  if (o.distance !== undefined && o.channel !== undefined)
    throw new UsageError('--distance and --channel exclude each other (put distance_km in the channel file)');
  const file = o.channel !== undefined ? readChannel(o.channel) : { overrides: {} as Record<string, number> };
  const presetName = file.preset ?? o.preset;
  const preset = findPreset(presetName);
  if (!preset)
    throw new UsageError(
      `--preset: unknown preset "${presetName}"; known: ${Object.keys(PRESETS).join(', ')}`,
    );
  let params: LinkParams;
  try {
    params = withOverrides(withOverrides(preset.params, file.overrides), parseSets(o.set));
  } catch (e) {
    throw new UsageError(`parameters: ${(e as Error).message}`);
  }
  const pulses = parseNumber(o.pulses, '--pulses', { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true });
  let attack: AttackSpec | undefined;
  if (o.attack !== undefined) {
    try {
      attack = parseAttack(o.attack);
    } catch (e) {
      throw new UsageError(`--attack: ${(e as Error).message}`);
    }
  }
  const distanceKm =
    o.distance !== undefined ? parseNumber(o.distance, '--distance', { min: 0, max: 1e5 }) : file.distanceKm;
  if (file.transmittance !== undefined && !(file.transmittance >= 0 && file.transmittance <= 1))
    throw new UsageError('--channel: transmittance must be in 0..1');
  const config: LinkBlockConfig = {
    linkId: LINK_SIMULATE_LINK_ID,
    blockId: 0,
    pulses,
    params,
    ...(file.transmittance !== undefined
      ? { transmittance: file.transmittance }
      : { distanceKm: distanceKm ?? 50 }),
    ...(file.intensities ? { intensities: file.intensities } : {}),
    ...(attack ? { attack } : {}),
  };
  return { config, preset: presetName, ...(attack ? { attack } : {}) };
}

/** Runs one simulation and returns its products and the base JSON (the original contract's fields first). */
export function runLinkSimulate(o: Options, progress?: (pulsesDone: number) => void): LinkSimulateRun {
  const { config, preset, attack } = configFromOptions(o);
  let model;
  try {
    model = buildModel(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const expected = config.pulses * model.detectProbability;
  if (expected > MAX_DETECTIONS)
    throw new UsageError(
      `--pulses ${o.pulses} would record about ${expected.toExponential(2)} detections, more than ${MAX_DETECTIONS.toExponential(0)} fit in memory; lower --pulses`,
    );
  const t0 = performance.now();
  let block: LinkBlock;
  try {
    block = simulateLinkBlock(distillInput(config, o.seed), progress ? { onProgress: progress } : {});
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  const sifted = sift(block.raw);
  const est = estimate(sifted, block.raw);
  const elapsedMs = performance.now() - t0;
  const byMu = [...est.classes].sort((a, b) => b.mu - a.mu);
  const gain = (name: string, rank: number) =>
    est.classes.find((c) => c.name === name)?.gain ?? byMu[Math.min(rank, byMu.length - 1)]!.gain;
  const t = block.telemetry;
  const json: LinkSimulateJson = {
    pulses: config.pulses,
    detections: block.raw.count,
    sifted_bits: sifted.key.alice.length,
    qber_z: est.qberZ,
    qber_x: est.qberX,
    gain_signal: gain('signal', 0),
    gain_decoy: gain('decoy', 1),
    gain_vacuum: gain('vacuum', 2),
    y1_lower: est.y1Lower,
    e1_upper: est.e1Upper,
    secure: est.secure,
    ...(est.reason ? { reason: est.reason } : {}),
    eve_known_bits: block.eve.knownKeyBits,
    elapsed_ms: Math.round(elapsedMs * 10) / 10,
    preset,
    distance_km: config.distanceKm ?? null,
    transmittance: model.ctx.etaChannel,
    attack: attack ? o.attack!.trim() : null,
    seed: o.seed,
    y1_lower_asymptotic: est.asymptotic.y1Lower,
    e1_upper_asymptotic: est.asymptotic.e1Upper,
    key_length_bits: est.keyLengthBits,
    double_clicks: t.doubleClicks ?? 0,
    detection_rate_hz: t.detectionRateHz ?? 0,
    monitor_power_w: t.monitorPowerW ?? 0,
  };
  return { config, block, sifted, estimates: est, json };
}

/** Checks `--algorithm` (before any simulation runs), against the error-correction registry. */
function parseAlgorithm(text: string | undefined): ReconcileAlgorithmName {
  return parseRegistered(text ?? 'cascade-improved');
}

/**
 * `--postprocess --channel tcp`: the same pipeline with Alice and Bob as two processes through the
 * delaying proxy (`--rtt-ms`), each simulating the block from the seed and keeping only its own view.
 * Adds `wall_seconds` (first message to last, both ends) and `keys_equal` (the two ends' final keys,
 * compared by digest: the keys themselves never leave their process).
 */
export async function addPostprocessTcp(run: LinkSimulateRun, o: Options, rttMs: number): Promise<void> {
  const algorithm = parseAlgorithm(o.algorithm);
  const linkOpts = { ...o, postprocess: undefined, format: 'json', rttMs: undefined };
  const t0 = performance.now();
  const r = await runTwoProcesses<PipelineEndReport>({
    args: [
      '--mode',
      'pipeline',
      '--source',
      'link',
      '--link-json',
      JSON.stringify(linkOpts),
      '--frames',
      '1',
      '--window',
      '1',
      '--algorithm',
      algorithm,
      '--seed',
      o.seed,
      ...(o.deterministicKeys ? ['--deterministic-keys'] : []),
      '--no-warmup',
      '--idle-timeout',
      '600', // a 10⁷-detection block keeps an end busy for tens of seconds on a loaded machine
    ],
    rttMs,
  });
  const a = r.alice.report;
  const b = r.bob.report;
  if (!a || !b) {
    const why = [r.bob.error && `bob: ${r.bob.error}`, r.alice.error && `alice: ${r.alice.error}`].filter(
      Boolean,
    );
    throw new QkdnetError('PP_PEER_DISCONNECTED', `post-processing over tcp failed (${why.join('; ')})`);
  }
  const s = b.stats[0];
  const ok = a.blocks_ok === 1 && b.blocks_ok === 1;
  const keysEqual = ok && a.digests[0] !== '' && a.digests[0] === b.digests[0];
  Object.assign(run.json, {
    final_key_bits: ok ? s!.final_key_bits : 0,
    secret_key_rate_per_pulse: ok ? s!.secret_key_rate_per_pulse : 0,
    leak_ec_bits: s?.leak_ec_bits ?? 0,
    efficiency: s?.efficiency ?? 0,
    auth_bits_used: s?.auth_bits_used ?? 0,
    keys_equal: keysEqual,
    ...insecureFields(run, ok && s ? s : undefined),
  });
  if (!ok)
    run.json['postprocess_reason'] =
      Object.keys({ ...b.discard_reasons, ...a.discard_reasons })[0] ?? 'unknown';
  run.json['postprocess_ms'] = Math.round((performance.now() - t0) * 10) / 10;
  run.json['postprocess_channel'] = 'tcp';
  run.json['rtt_ms'] = rttMs;
  run.json['wall_seconds'] =
    (Math.max(a.wall_end_ms, b.wall_end_ms) - Math.min(a.wall_start_ms, b.wall_start_ms)) / 1000;
}

/**
 * `eve_information_bits` (the engine's `eve.informationBits`: `eve_known_bits` plus partial information)
 * and `insecure_key_bits`: emitted key bits beyond the entropy privacy amplification left to the attacker
 * (src/qkd insecure-key.ts), 0 when no key was emitted.
 */
function insecureFields(
  run: LinkSimulateRun,
  stats:
    Pick<PipelineStats, 'sifted_bits' | 'leak_ec_bits' | 'pa_output_bits' | 'final_key_bits'> | undefined,
): { eve_information_bits: number; insecure_key_bits: number } {
  const eve = run.block.eve.informationBits;
  return {
    eve_information_bits: Math.round(eve * 10) / 10,
    insecure_key_bits: stats
      ? insecureKeyBits({
          siftedBits: stats.sifted_bits,
          leakEcBits: stats.leak_ec_bits,
          paOutputBits: stats.pa_output_bits,
          emittedBits: stats.final_key_bits,
          eveInformationBits: eve,
        })
      : 0,
  };
}

/** Splits `--channel` values: memory | tcp choose the post-processing channel, anything else is a file. */
function splitChannel(values: string[] | string | undefined): { file?: string; pp: 'memory' | 'tcp' } {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  const pp = list.filter((v) => v === 'memory' || v === 'tcp');
  const files = list.filter((v) => v !== 'memory' && v !== 'tcp');
  if (pp.length > 1) throw new UsageError('--channel: give memory or tcp once');
  if (files.length > 1) throw new UsageError('--channel: give one channel file');
  return {
    ...(files[0] !== undefined ? { file: files[0] } : {}),
    pp: (pp[0] as 'memory' | 'tcp') ?? 'memory',
  };
}

/**
 * `--postprocess`: distils the simulated block (`distillBlock`, src/postprocess: Cascade, verification,
 * privacy amplification, Wegman–Carter with a fresh pre-shared pool) and merges the post-processing
 * fields into the JSON: `final_key_bits, secret_key_rate_per_pulse, leak_ec_bits, efficiency,
 * auth_bits_used, keys_equal`, plus `postprocess_reason` when no key was emitted. The final keys are wiped,
 * never printed; `onKey` (tests) sees Alice's key and its provenance first.
 */
export function addPostprocess(
  run: LinkSimulateRun,
  o: Options,
  onKey?: (key: Uint8Array, provenance: DistilledProvenance) => void,
): void {
  const algorithm = parseAlgorithm(o.algorithm);
  const t0 = performance.now();
  const keys = o.deterministicKeys ? 'deterministic' : 'secret';
  const { result, provenance }: { result: PipelineResult; provenance: DistilledProvenance } = distillBlock(
    distillInput(run.config, o.seed),
    {
      keys,
      authPool: linkAuthBootstrap(o.seed, LINK_SIMULATE_LINK_ID, keys),
      pipeline: { algorithm },
      simulated: run.block,
    },
  );
  const fields = linkPostprocessFields(result);
  if (result.ok) {
    onKey?.(result.alice.key, provenance);
    result.alice.key.fill(0);
    result.bob.key.fill(0);
  }
  Object.assign(run.json, fields, insecureFields(run, result.ok ? result.stats : undefined));
  if (!result.ok) run.json['postprocess_reason'] = result.reason;
  run.json['postprocess_ms'] = Math.round((performance.now() - t0) * 10) / 10;
}

/** Renders the JSON as a two-column table. */
export function renderTable(json: LinkSimulateJson): string {
  const rows = Object.entries(json).map(([k, v]) => [k, typeof v === 'number' ? v : String(v)] as const);
  return formatTable(['quantity', 'value'], rows);
}

export function register(program: Command): void {
  const link = program
    .command('link')
    .description('simulate one QKD link event by event (decoy BB84, attacks)');
  link
    .command('simulate')
    .description('simulate one block of pulses: raw bits, sifting, decoy estimation, security verdict')
    .option('--preset <name>', `parameter preset (${Object.keys(PRESETS).join(', ')})`, 'gys')
    .option('--distance <km>', 'fiber length in km (default 50)')
    .option(
      '--channel <file.yaml|memory|tcp>',
      'link description file (preset, distance_km or transmittance, params, intensities); with --postprocess, memory or tcp also picks the classical channel (repeatable: --channel link.yaml --channel tcp)',
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    )
    .option(
      '--rtt-ms <d>',
      'with --postprocess --channel tcp: round trip the delaying proxy adds, ms (default 0)',
    )
    .option('--pulses <n>', 'pulses Alice sends; accepts 1e9-style numbers', '1e9')
    .option('--attack <kind[:param]>', `attack on the quantum signals: ${ATTACK_KINDS.join(', ')}`)
    .option('--seed <s>', 'seed of the simulation (same seed → same output)', '1')
    .option(
      '--set <key=value>',
      'override a link parameter (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--format <format>', 'table or json', 'table')
    .option(
      '--postprocess',
      'also run Cascade, verification, privacy amplification and authentication: final key figures',
    )
    .option(
      '--algorithm <name>',
      `error correction for --postprocess: ${RECONCILE_ALGORITHM_NAMES.join(', ')}`,
    )
    .option(
      '--deterministic-keys',
      '--postprocess: key bits from the seed instead of node:crypto (figures are the same either way)',
    )
    .addHelpText('after', EXAMPLES)
    .action(async (raw: Omit<Options, 'channel'> & { channel?: string[] }) => {
      const ch = splitChannel(raw.channel);
      const { channel: _all, ...rest } = raw;
      const o: Options = { ...rest, ...(ch.file !== undefined ? { channel: ch.file } : {}) };
      const format = parseFormat(o.format, ['table', 'json'] as const);
      const pulses = parseNumber(o.pulses, '--pulses', {
        min: 1,
        max: Number.MAX_SAFE_INTEGER,
        integer: true,
      });
      if (o.algorithm !== undefined) parseAlgorithm(o.algorithm);
      if ((ch.pp === 'tcp' || o.rttMs !== undefined) && !o.postprocess)
        throw new UsageError('--channel tcp and --rtt-ms need --postprocess');
      if (o.rttMs !== undefined && ch.pp !== 'tcp') throw new UsageError('--rtt-ms needs --channel tcp');
      const rttMs = parseNumber(o.rttMs ?? '0', '--rtt-ms', { min: 0, max: 10_000 });
      const bar = new ProgressBar('simulating', pulses);
      const run = runLinkSimulate(o, (done) => bar.update(done));
      bar.done();
      if (o.postprocess && ch.pp === 'tcp') await addPostprocessTcp(run, o, rttMs);
      else if (o.postprocess) addPostprocess(run, o);
      process.stdout.write(
        `${format === 'json' ? JSON.stringify(run.json, null, 2) : renderTable(run.json)}\n`,
      );
    });
}
