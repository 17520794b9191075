/**
 * `qkdnet keyrate` — secret key rate against distance for QKD protocols and the repeaterless bounds, from the
 * models of src/physics (each citing its paper), for a preset parameter set with optional overrides. Prints a
 * table, JSON or CSV and can draw the figure as SVG. Bad input is one line on stderr and exit code 2.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  MODELS,
  PRESETS,
  PARAM_BY_NAME,
  PARAM_SPECS,
  findPreset,
  getModel,
  isFreeSpace,
  keyRate,
  maxDistanceKm,
  paramsToJson,
  withOverrides,
  type KeyRateOptions,
  type LinkParams,
} from '../../physics/index.ts';
import { QkdnetError } from '../../common/index.ts';
import {
  ProgressBar,
  UsageError,
  formatCsv,
  formatNumber,
  formatTable,
  parseFormat,
  parseNumber,
  parseRange,
} from '../util.ts';
import { renderLinePlot } from '../svg-plot.ts';

/** One model's sweep, as printed with `--format json`. */
export interface KeyrateJson {
  model: string;
  preset: string;
  params: Record<string, number>;
  /** bb84-decoy-finite: the block as asked (pulses sent, or the post-processing block n_X). */
  block?: { pulses: number } | { n_x: number };
  points: {
    distance_km: number;
    rate_per_pulse: number;
    qber?: number;
    mu?: number;
    nu?: number;
    /** bb84-decoy-finite: every optimised setting, N and ε_sec at this distance. */
    finite?: Record<string, number>;
    /** cv-qkd-gg02: the modulation variance V_A used. */
    modulation_variance?: number;
  }[];
  /** null when the model has no maximum (bounds, or a rate still positive past 1,000 dB). */
  max_distance_km: number | null;
}

interface KeyrateOptions {
  model?: string;
  distance?: string;
  preset: string;
  set: string[];
  blockSize?: string;
  pulses?: string;
  nX?: string;
  format: string;
  plot?: string;
  models?: boolean;
  presets?: boolean;
}

const EXAMPLES = `
Examples:
  $ qkdnet keyrate --model bb84-decoy-infinite,bb84-gllp,plob --preset gys --distance 0:200:5 --plot k.svg
      the textbook figure: decoy vs no-decoy BB84 with the GYS parameters, and the PLOB bound
  $ qkdnet keyrate --model bb84-decoy-finite --pulses 1e8 --distance 0:120:10 --format json
  $ qkdnet keyrate --model bb84-decoy-finite --preset lim2014 --n-x 1e4 --distance 0:140:10
      Lim et al. 2014 Fig. 1 as published: post-processing block n_X = 10^4, ε_sec = 1e-15·ℓ, μ3 = 2e-4
  $ qkdnet keyrate --model cv-qkd-gg02 --set cv_modulation_variance=18.5 --distance 25
      a pinned parameter is not re-optimised (Lodewyck et al. 2007 ran at V_A = 18.5)
  $ qkdnet keyrate --model tf-qkd,pm-qkd,plob --preset tf2018 --distance 0:500:20 --plot tf.svg
      twin-field (SNS) and phase-matching QKD rise above PLOB beyond ≈ 280 / 330 km (rate ∝ √η)
  $ qkdnet keyrate --model mdi-qkd,bb84-decoy-infinite --preset mdi2012 --distance 0:250:10
      MDI-QKD (Lo, Curty, Qi 2012): no detector side channels, past 200 km with flawed detectors
  $ qkdnet keyrate --model tf-qkd --preset metro --set attenuation_db_per_km=0.16 --distance 0:200:20
  $ qkdnet keyrate --model bb84-decoy-vacuum-weak --preset micius --distance 500:1500:100   (slant range)
  $ qkdnet keyrate --models       list the models with their papers
  $ qkdnet keyrate --presets      list the parameter presets with their sources

Rates are secret bits per pulse sent (multiply by repetition_rate_hz for bit/s), asymptotic unless the model
says otherwise, with intensities optimised at each distance; 0 beyond the maximum distance. A parameter given
with --set is pinned: signal_intensity, decoy_intensity, cv_modulation_variance and (for bb84-decoy-finite)
basis_bias_z are then held at the value instead of optimised.
--format json prints one object per model ({"model","preset","params","points":[…],"max_distance_km"}),
and a JSON array when several models are given. Parameters for --set (snake_case, with units):
${Object.values(PARAM_SPECS)
  .map((s) => `  ${s.name.padEnd(30)} ${s.doc} [${s.unit}]`)
  .join('\n')}`;

function parseSets(
  items: readonly string[],
  base: LinkParams,
): { params: LinkParams; pinned: (keyof LinkParams)[] } {
  const overrides: Record<string, number> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set: "${item}" is not key=value`);
    const name = item.slice(0, eq).trim();
    overrides[name] = parseNumber(item.slice(eq + 1), `--set ${name}`);
  }
  try {
    const pinned = Object.keys(overrides).flatMap((n) => {
      const k = PARAM_BY_NAME.get(n);
      return k === undefined ? [] : [k];
    });
    return { params: withOverrides(base, overrides), pinned };
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`--set: ${e.message}`);
    throw e;
  }
}

function listModels(): string {
  const rows = Object.values(MODELS).map((m) => [
    m.name,
    m.kind,
    m.repeaterless ? 'yes' : 'no',
    m.title,
    m.source,
  ]);
  return formatTable(['model', 'kind', 'repeaterless', 'title', 'source'], rows);
}

function listPresets(): string {
  return Object.values(PRESETS)
    .map((p) => `${p.name}: ${p.title}\n  source: ${p.source}\n  notes: ${p.notes}`)
    .join('\n\n');
}

/** Computes one model's sweep. */
export function sweep(
  model: string,
  presetName: string,
  params: LinkParams,
  distancesKm: readonly number[],
  block: KeyRateOptions,
  onPoint: () => void = () => {},
): KeyrateJson {
  const opts = block;
  const points = distancesKm.map((d) => {
    const r = keyRate(model, params, d, opts);
    onPoint();
    return {
      distance_km: d,
      rate_per_pulse: r.ratePerPulse,
      ...(r.qber !== undefined && r.ratePerPulse > 0 ? { qber: r.qber } : {}),
      ...(r.mu !== undefined && r.ratePerPulse > 0 ? { mu: r.mu } : {}),
      ...(r.nu !== undefined && r.ratePerPulse > 0 ? { nu: r.nu } : {}),
      ...(r.finite !== undefined && r.ratePerPulse > 0
        ? {
            finite: {
              mu1: r.finite.mu1,
              mu2: r.finite.mu2,
              mu3: r.finite.mu3,
              p_mu1: r.finite.p1,
              p_mu2: r.finite.p2,
              p_z: r.finite.pZ,
              pulses: r.finite.pulses,
              eps_sec: r.finite.epsSec,
            },
          }
        : {}),
      ...(r.modulationVariance !== undefined && r.ratePerPulse > 0
        ? { modulation_variance: r.modulationVariance }
        : {}),
    };
  });
  const max = maxDistanceKm(model, params, opts);
  return {
    model,
    preset: presetName,
    params: paramsToJson(params),
    ...(model === 'bb84-decoy-finite'
      ? { block: opts.nX !== undefined ? { n_x: opts.nX } : { pulses: opts.blockSize ?? 1e10 } }
      : {}),
    points,
    max_distance_km: Number.isFinite(max) ? Math.round(max * 100) / 100 : null,
  };
}

function render(results: KeyrateJson[], format: string): string {
  if (format === 'json') return JSON.stringify(results.length === 1 ? results[0] : results, null, 2);
  if (format === 'csv') {
    const rows = results.flatMap((r) =>
      r.points.map((p) => [r.model, p.distance_km, p.rate_per_pulse, p.qber ?? '', p.mu ?? '', p.nu ?? '']),
    );
    return formatCsv(['model', 'distance_km', 'rate_per_pulse', 'qber', 'mu', 'nu'], rows);
  }
  const header = ['distance_km', ...results.map((r) => r.model)];
  const rows = results[0]!.points.map((p, i) => [
    p.distance_km,
    ...results.map((r) => r.points[i]!.rate_per_pulse),
  ]);
  const max = results.map(
    (r) =>
      `  ${r.model}: ${r.max_distance_km === null ? 'no maximum' : `${formatNumber(r.max_distance_km)} km`}`,
  );
  return `${formatTable(header, rows)}\n\nSecret key rate in bits per pulse. Maximum distance:\n${max.join('\n')}`;
}

function plot(
  results: KeyrateJson[],
  params: LinkParams,
  presetName: string,
  distances: readonly number[],
  file: string,
): void {
  const series = results.map((r) => ({
    name: r.model,
    points: r.points.map((p) => [p.distance_km, p.rate_per_pulse] as [number, number]),
    dashed: getModel(r.model).kind === 'bound',
  }));
  if (!results.some((r) => r.model === 'plob')) {
    const plob = sweep('plob', presetName, params, distances, {});
    series.push({
      name: 'plob',
      points: plob.points.map((p) => [p.distance_km, p.rate_per_pulse]),
      dashed: true,
    });
  }
  const svg = renderLinePlot({
    title: `Secret key rate vs ${isFreeSpace(params) ? 'slant range' : 'distance'} (preset ${presetName})`,
    xLabel: isFreeSpace(params) ? 'Slant range (km)' : 'Fiber length (km)',
    yLabel: 'Secret key rate (bits per pulse)',
    yLog: true,
    series,
  });
  try {
    writeFileSync(file, svg);
  } catch (e) {
    throw new QkdnetError(
      'CLI_USAGE',
      `--plot: cannot write ${file}: ${(e as Error).message.split('\n')[0]}`,
    );
  }
}

function run(o: KeyrateOptions): void {
  if (o.models) return void process.stdout.write(`${listModels()}\n`);
  if (o.presets) return void process.stdout.write(`${listPresets()}\n`);
  if (!o.model) throw new UsageError('--model is required (see qkdnet keyrate --models)');
  if (!o.distance) throw new UsageError('--distance is required, e.g. --distance 0:200:5');
  const format = parseFormat(o.format, ['table', 'json', 'csv'] as const);
  const models = o.model
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (models.length === 0) throw new UsageError('--model: no model named');
  for (const m of models) getModel(m);
  const preset = findPreset(o.preset);
  if (!preset)
    throw new QkdnetError(
      'UNKNOWN_PRESET',
      `Unknown preset "${o.preset}"; known: ${Object.keys(PRESETS).join(', ')}`,
    );
  const distances = parseRange(o.distance, '--distance', { min: 0 });
  if (o.blockSize !== undefined && o.pulses !== undefined)
    throw new UsageError('--block-size is the old name of --pulses: give one of them');
  const pulsesText = o.pulses ?? o.blockSize;
  const pulsesFlag = o.pulses !== undefined ? '--pulses' : '--block-size';
  const blockSize =
    pulsesText === undefined ? undefined : parseNumber(pulsesText, pulsesFlag, { min: 1e6, max: 1e13 });
  const nX = o.nX === undefined ? undefined : parseNumber(o.nX, '--n-x', { min: 1e2, max: 1e12 });
  if (nX !== undefined && blockSize !== undefined)
    throw new UsageError('--n-x and --pulses both size the block: give one of them');
  if ((nX !== undefined || blockSize !== undefined) && !models.includes('bb84-decoy-finite'))
    throw new UsageError(`${nX !== undefined ? '--n-x' : pulsesFlag} applies to bb84-decoy-finite only`);
  const { params, pinned } = parseSets(o.set, preset.params);
  const block: KeyRateOptions = {
    ...(blockSize !== undefined ? { blockSize } : {}),
    ...(nX !== undefined ? { nX } : {}),
    pinned,
  };
  const altitudeKm = params.fsAltitudeKm ?? 0;
  if (isFreeSpace(params) && distances[0]! < altitudeKm)
    throw new UsageError(
      `--distance: slant range ${distances[0]} km is below the satellite altitude ${altitudeKm} km (preset ${preset.name})`,
    );
  const bar = new ProgressBar('keyrate', models.length * distances.length);
  let done = 0;
  const results = models.map((m) =>
    sweep(m, preset.name, params, distances, block, () => bar.update(++done)),
  );
  bar.done();
  if (o.plot) plot(results, params, preset.name, distances, o.plot);
  process.stdout.write(`${render(results, format)}\n`);
}

/** Registers `qkdnet keyrate`. */
export function register(program: Command): void {
  program
    .command('keyrate')
    .description('secret key rate against distance for QKD protocols and bounds, from published models')
    .option('--model <names>', 'comma-separated models (see --models)')
    .option(
      '--distance <from:to:step>',
      'distances in km (slant range for free-space presets); from = to is one point',
    )
    .option('--preset <name>', 'parameter preset (see --presets)', 'gys')
    .option(
      '--set <key=value...>',
      'override a parameter, e.g. --set attenuation_db_per_km=0.16',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--pulses <N>', 'bb84-decoy-finite: block as pulses sent, 1e6..1e13 (default 1e10)')
    .option(
      '--n-x <N>',
      "bb84-decoy-finite: block as the post-processing block size n_X (sifted key bits), Lim et al. 2014's convention",
    )
    .option('--block-size <N>', 'old name of --pulses')
    .option('--format <table|json|csv>', 'output format', 'table')
    .option('--plot <file.svg>', 'also draw rate (log) vs distance with the PLOB bound as SVG')
    .option('--models', 'list the models with their sources')
    .option('--presets', 'list the presets with their sources')
    .addHelpText('after', EXAMPLES)
    .action((o: KeyrateOptions) => run(o));
}
