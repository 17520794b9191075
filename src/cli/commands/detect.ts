/**
 * `qkdnet detect evaluate` — measures the threat detectors (src/detect) against the link engine's attacks:
 * detection probability within a few blocks, mean blocks to detection, the false-alarm rate on attack-free
 * blocks, and whether any attacked block's key would reach a store. `--roc` draws the ROC curve over the
 * detectors' false-alarm budget. See docs/detection.md.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createRng } from '../../common/index.ts';
import { findPreset, PRESETS, type LinkParams } from '../../physics/index.ts';
import { ATTACK_DEFAULTS, ATTACK_KINDS, type AttackKind } from '../../qkd/index.ts';
import {
  ATTACK_CLASSES,
  EVALUATE_DEFAULT_STRENGTH,
  detectorRocCurves,
  evaluateDetection,
  linkBlockSimulator,
  rocCurve,
  type DetectorRoc,
  type EvaluationBaseline,
  type EvaluationData,
  type EvaluationResult,
} from '../../detect/index.ts';
import { escapeXml, renderLinePlot } from '../svg-plot.ts';
import { formatTable, parseFormat, parseNumber, ProgressBar, UsageError } from '../util.ts';

interface EvaluateFlags {
  attack: string;
  strength?: string;
  trials: string;
  nullBlocks: string;
  seed: string;
  format: string;
  roc?: string;
  preset: string;
  distance: string;
  siftedBits: string;
  falseAlarm: string;
  qberShift: string;
  calibrationBlocks: string;
  exact?: boolean;
  confusionSvg?: string;
  rocStrength?: string;
  strengthSweep?: boolean;
  sweepSvg?: string;
  countermeasures: string;
}

/** `--countermeasures`: the preset's own, or Bob's bright-light watchdog and detector randomisation forced on/off. */
type CountermeasureSetting = 'preset' | 'on' | 'off';

/** The link parameters with the countermeasures set as asked. */
function withCountermeasures(params: LinkParams, setting: CountermeasureSetting): LinkParams {
  if (setting === 'preset') return params;
  const v = setting === 'on' ? 1 : 0;
  return { ...params, brightLightWatchdog: v, detectorRandomisation: v };
}

/** The attacks a modelled countermeasure answers (the sweep runs them with it off and on). */
const COUNTERED: readonly AttackKind[] = ['blinding', 'time-shift'];

const EXAMPLES = `
Examples:
  qkdnet detect evaluate --attack intercept-resend --strength 0.05
      5% intercept-resend: detection probability, blocks to detect, false alarms per block
  qkdnet detect evaluate --attack pns --trials 200 --null-blocks 20000 --format json
  qkdnet detect evaluate --attack time-shift --strength 0.05 --roc roc.svg
      a weak attack, and the ROC curves over the false-alarm budget: all detectors, and one per detector
  qkdnet detect evaluate --attack pns --roc roc.svg
      the ROC at the strongest of 1, 0.5, 0.25, … detected in ≤ 90% of trials (named on the plot)
  qkdnet detect evaluate --attack all --strength-sweep --sifted-bits 5e6 --sweep-svg sweep.svg
      per attack, detection probability and insecure_key_bits over strength, and the coverage gap; blinding
      and time-shift twice, with their countermeasures off and on
  qkdnet detect evaluate --attack blinding --strength 0.001 --countermeasures on
      with Bob's bright-light watchdog (and detector randomisation) fitted whatever the preset says
      (insecure key while detection < 99%); 10⁵-bit blocks give no key, so use larger ones here
  qkdnet detect evaluate --attack all --trials 100 --confusion-svg confusion.svg
      every attack kind at its default strength, one row each, then the confusion matrix (injected ×
      attributed, plus the attack-free row) as a table, in the JSON and as an SVG heat map

Attack kinds and default strengths:
${ATTACK_KINDS.map((k) => `  ${k.padEnd(17)} ${String(EVALUATE_DEFAULT_STRENGTH[k]).padEnd(6)} ${ATTACK_DEFAULTS[k].doc}`).join('\n')}

A trial is detected when a detector aborts a block within 3 blocks of the attack's start; the detectors that
fired on that block are combined into the attributed attack (intercept-resend, pns, blinding, trojan-horse,
time-shift, jamming, fiber-cut or unknown-anomaly) — attributed_as, attribution_accuracy and detectors in the
JSON (docs/detection.md says which statistic indicates which attack). Blocks are sized
for --sifted-bits sifted bits; the calibrated model is pooled from --calibration-blocks attack-free blocks.`;

/** Registers `qkdnet detect`. */
export function register(program: Command): void {
  const detect = program
    .command('detect')
    .description('threat detection: evaluate the detectors against the link engine attacks');
  detect
    .command('evaluate')
    .description('measure detection probability, time to detect and false alarms for an attack')
    .requiredOption('--attack <kind>', `attack kind: ${ATTACK_KINDS.join(', ')}, or "all"`)
    .option('--strength <x>', 'attack strength (meaning per kind: see below); default per kind')
    .option('--trials <n>', 'attacked trials', '100')
    .option('--null-blocks <m>', 'attack-free blocks for the false-alarm rate', '10000')
    .option('--seed <s>', 'random seed (same seed, same output)', '1')
    .option('--format <f>', 'table or json', 'table')
    .option('--roc <file.svg>', 'write the ROC curve (false-alarm rate vs detection probability) as SVG')
    .option('--preset <name>', `link parameters: ${Object.keys(PRESETS).join(', ')}`, 'gys')
    .option('--distance <km>', 'fiber length, km', '25')
    .option('--sifted-bits <n>', 'sifted bits per block', '1e5')
    .option('--false-alarm <p>', 'false-alarm budget per attack-free block', '1e-3')
    .option('--qber-shift <d>', 'QBER shift the CUSUM/SPRT are tuned to (absolute)', '0.005')
    .option(
      '--calibration-blocks <n>',
      'attack-free blocks pooled into the calibrated model (half also train the anomaly model)',
      '2000',
    )
    .option('--exact', 'simulate every block detection by detection (slow) instead of at count level')
    .option('--confusion-svg <file.svg>', 'with --attack all: write the confusion matrix as an SVG heat map')
    .option(
      '--roc-strength <x>',
      'strength of the --roc run (default: --strength if given, else the strongest of the default, its half, … (÷10 for trojan-horse and jamming) detected in ≤ 90% of trials)',
    )
    .option(
      '--strength-sweep',
      'per attack: detection probability and insecure_key_bits over a grid of strengths, and the coverage gap (insecure key while detection < 99%)',
    )
    .option(
      '--sweep-svg <file.svg>',
      'with --strength-sweep: write one plot per attack (file-<attack>.svg; file-<attack>-countermeasures-off|on.svg)',
    )
    .option(
      '--countermeasures <s>',
      "preset (the preset's own: metro has a bright-light watchdog), on or off: Bob's bright-light watchdog and detector randomisation with gate-timing monitor",
      'preset',
    )
    .addHelpText('after', EXAMPLES)
    .action((flags: EvaluateFlags) => runEvaluate(flags));
}

function runEvaluate(f: EvaluateFlags): void {
  const format = parseFormat(f.format, ['table', 'json'] as const);
  const kinds: AttackKind[] = f.attack === 'all' ? [...ATTACK_KINDS] : [parseKind(f.attack)];
  if (f.attack === 'all' && f.strength !== undefined)
    throw new UsageError('--strength: give one --attack kind to set its strength');
  if (f.attack === 'all' && f.roc !== undefined) throw new UsageError('--roc: give one --attack kind');
  if (f.attack !== 'all' && f.confusionSvg !== undefined)
    throw new UsageError('--confusion-svg: the confusion matrix needs --attack all');
  const preset = findPreset(f.preset);
  if (!preset)
    throw new UsageError(`--preset: no preset "${f.preset}" (known: ${Object.keys(PRESETS).join(', ')})`);
  const trials = parseNumber(f.trials, '--trials', { min: 1, max: 1e6, integer: true });
  const nullBlocks = parseNumber(f.nullBlocks, '--null-blocks', { min: 1, max: 1e7, integer: true });
  const distanceKm = parseNumber(f.distance, '--distance', { min: 0, max: 1000 });
  const siftedBits = parseNumber(f.siftedBits, '--sifted-bits', { min: 100, max: 1e9 });
  const falseAlarm = parseNumber(f.falseAlarm, '--false-alarm', { min: 1e-15, max: 0.5 });
  const qberShift = parseNumber(f.qberShift, '--qber-shift', { min: 1e-6, max: 0.49 });
  const calibrationBlocks = parseNumber(f.calibrationBlocks, '--calibration-blocks', {
    min: 20,
    max: 1e6,
    integer: true,
  });
  const countermeasures = f.countermeasures as CountermeasureSetting;
  if (!['preset', 'on', 'off'].includes(countermeasures))
    throw new UsageError(`--countermeasures: "${f.countermeasures}" is not one of preset, on, off`);
  const seedNum = Number(f.seed);
  const seed = Number.isFinite(seedNum) ? seedNum : f.seed;
  const quantum = { falseAlarmPerBlock: falseAlarm, qberShift };
  const common = { nullBlocks, seed, calibrationBlocks, targetSiftedBits: siftedBits, quantum };
  const baselines = new Map<CountermeasureSetting, EvaluationBaseline>();
  /** One evaluation of `kind` at `strength` (the attack-free part simulated once per setting, then reused). */
  const evaluate = (kind: AttackKind, strength: number, n = trials, cm = countermeasures) => {
    const bar = new ProgressBar(
      `detect evaluate ${kind}:${strength}${cm === 'preset' ? '' : ` (countermeasures ${cm})`}`,
      1,
    );
    const out = evaluateDetection(
      linkBlockSimulator({
        params: withCountermeasures(preset.params, cm),
        distanceKm,
        attack: { kind, param: strength },
        exact: f.exact ?? false,
      }),
      { ...common, attack: kind, strength, trials: n, onProgress: (d, t) => bar.update(d / t) },
      baselines.get(cm),
    );
    bar.done();
    baselines.set(cm, out.baseline);
    return out;
  };
  const strengthOf = (kind: AttackKind, text: string | undefined, flag: string) =>
    text === undefined
      ? EVALUATE_DEFAULT_STRENGTH[kind]
      : parseNumber(text, flag, { min: ATTACK_DEFAULTS[kind].min, max: ATTACK_DEFAULTS[kind].max });
  if (f.strengthSweep) {
    // every attack as the preset has it; the attacks a countermeasure answers, with it off and on (unless set)
    const sweeps = kinds.flatMap((kind) =>
      (countermeasures === 'preset' && COUNTERED.includes(kind)
        ? (['off', 'on'] as const)
        : [countermeasures]
      ).map((cm) => sweepAttack(kind, cm, (s) => evaluate(kind, s, trials, cm).result)),
    );
    if (f.sweepSvg) for (const sw of sweeps) writeSweep(f.sweepSvg, sw, siftedBits);
    process.stdout.write(
      format === 'json'
        ? `${JSON.stringify({ strength_sweep: sweeps }, null, 2)}\n`
        : `${renderSweep(sweeps)}\n`,
    );
    return;
  }
  const results: EvaluationResult[] = [];
  for (const kind of kinds) {
    const strength = strengthOf(kind, f.strength, '--strength');
    const { result } = evaluate(kind, strength);
    results.push(result);
    if (f.roc) {
      const start = strengthOf(kind, f.rocStrength ?? f.strength, '--roc-strength');
      const chosen = f.rocStrength !== undefined || f.strength !== undefined;
      const roc = informativeRoc(kind, start, chosen, evaluate);
      writeRoc(
        f.roc,
        roc.result,
        rocCurve(roc.data, roc.result.detect_within_blocks, undefined, { qberShift }),
        detectorRocCurves(roc.data, roc.result.detect_within_blocks, undefined, { qberShift }),
      );
    }
  }
  const matrix = f.attack === 'all' ? confusionMatrix(results) : undefined;
  if (matrix && f.confusionSvg) writeHeatMap(f.confusionSvg, matrix);
  if (format === 'json') {
    const body = matrix ? { results, confusion_matrix: matrix } : results.length === 1 ? results[0] : results;
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${renderTable(results)}\n`);
  if (matrix) process.stdout.write(`\n${renderMatrix(matrix)}\n`);
}

/** Injected × attributed counts; the `null` row counts false alarms on attack-free blocks. */
export interface ConfusionMatrix {
  readonly injected: readonly string[];
  readonly attributed: readonly string[];
  /** counts[i][j]: trials of injected[i] attributed as attributed[j] (`none`: not detected). */
  readonly counts: readonly (readonly number[])[];
  /** Trials (or, for the null row, attack-free blocks) per injected row. */
  readonly totals: readonly number[];
}

/** Builds the confusion matrix from one result per attack kind. */
export function confusionMatrix(results: readonly EvaluationResult[]): ConfusionMatrix {
  const attributed = [...ATTACK_CLASSES, 'none'];
  const rows = results.map((r) => attributed.map((c) => r.attributed_as[c] ?? 0));
  const nullRow = attributed.map((c) =>
    c === 'none'
      ? results[0]!.null_blocks - Object.values(results[0]!.null_attributed_as).reduce((a, b) => a + b, 0)
      : (results[0]!.null_attributed_as[c] ?? 0),
  );
  return {
    injected: [...results.map((r) => r.attack), 'null'],
    attributed,
    counts: [...rows, nullRow],
    totals: [...results.map((r) => r.trials), results[0]!.null_blocks],
  };
}

function renderMatrix(m: ConfusionMatrix): string {
  return `Confusion matrix (rows: injected attack; columns: attributed at the detecting block; none = not detected):\n${formatTable(
    ['injected \\ attributed', ...m.attributed],
    m.counts.map((row, i) => [m.injected[i]!, ...row]),
  )}`;
}

/** The confusion matrix as an SVG heat map, each cell shaded by its row fraction and labelled with its count. */
function writeHeatMap(path: string, m: ConfusionMatrix): void {
  const cell = 64;
  const left = 130;
  const top = 120;
  const w = left + cell * m.attributed.length + 20;
  const h = top + cell * m.injected.length + 40;
  const cells = m.counts.flatMap((row, i) =>
    row.map((n, j) => {
      const frac = m.totals[i]! > 0 ? n / m.totals[i]! : 0;
      const shade = Math.round(255 * (1 - frac));
      const x = left + j * cell;
      const y = top + i * cell;
      return `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#999"/><text x="${x + cell / 2}" y="${y + cell / 2 + 5}" text-anchor="middle" font-size="14" fill="${frac > 0.5 ? '#fff' : '#000'}">${n}</text>`;
    }),
  );
  const colLabels = m.attributed.map(
    (c, j) =>
      `<text transform="translate(${left + j * cell + cell / 2},${top - 8}) rotate(-45)" font-size="13">${escapeXml(c)}</text>`,
  );
  const rowLabels = m.injected.map(
    (r, i) =>
      `<text x="${left - 8}" y="${top + i * cell + cell / 2 + 5}" text-anchor="end" font-size="13">${escapeXml(r)}</text>`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/><text x="10" y="20" font-size="15">Attribution: injected (rows) × attributed (columns); shade = row fraction</text>${colLabels.join('')}${rowLabels.join('')}${cells.join('')}</svg>\n`;
  try {
    writeFileSync(path, svg);
  } catch (e) {
    throw new UsageError(`--confusion-svg: cannot write ${path}: ${(e as Error).message}`);
  }
}

function parseKind(text: string): AttackKind {
  if (!(ATTACK_KINDS as readonly string[]).includes(text))
    throw new UsageError(`--attack: "${text}" is not one of ${ATTACK_KINDS.join(', ')}, all`);
  return text as AttackKind;
}

function renderTable(rs: readonly EvaluationResult[]): string {
  const header = [
    'attack',
    'strength',
    'trials',
    'P(detect ≤3)',
    'mean blocks',
    'false alarms/block',
    'keys after detect',
    'insecure key bits',
    'attributed as',
    'attribution accuracy',
    'detectors fired',
    'anomaly P(detect)',
  ];
  const rows = rs.map((r) => [
    r.attack,
    r.strength,
    r.trials,
    r.detection_probability,
    r.mean_blocks_to_detect ?? '-',
    r.false_alarm_rate_per_block,
    r.keys_from_attacked_blocks,
    `${r.insecure_key_bits} of ${r.attacked_key_bits}`,
    topClass(r.attributed_as),
    r.attribution_accuracy ?? '-',
    Object.entries(r.detectors)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k}×${n}`)
      .join(' ') || '-',
    r.anomaly_detection_probability,
  ]);
  const first = rs[0]!;
  return `${formatTable(header, rows)}\n(${first.null_blocks} attack-free blocks of ${first.sifted_bits_per_block} sifted bits, ${first.pulses_per_block} pulses; budget ${first.false_alarm_budget_per_block}/block; anomaly model false alarms ${first.anomaly_false_alarm_rate_per_block}/block)`;
}

/** The class most trials were attributed to (excluding undetected trials). */
function topClass(a: Readonly<Record<string, number>>): string {
  const e = Object.entries(a).filter(([k]) => k !== 'none');
  return e.length === 0 ? '-' : e.sort((x, y) => y[1] - x[1])[0]![0];
}

type Evaluate = (
  kind: AttackKind,
  strength: number,
  trials?: number,
) => { result: EvaluationResult; data: EvaluationData };

/**
 * The run `--roc` plots: at `start` when the user chose it (--roc-strength or --strength), else at the strongest of start, start/2, …
 * (÷10 for trojan-horse and jamming, whose strengths span decades) that 40 probe trials detect in ≤ 90%
 * of cases — where the curve is informative, not a flat line at 1. Fiber-cut has no strength to lower.
 */
function informativeRoc(
  kind: AttackKind,
  start: number,
  chosen: boolean,
  evaluate: Evaluate,
): { result: EvaluationResult; data: EvaluationData } {
  let s = start;
  if (!chosen && kind !== 'fiber-cut') {
    const step = ATTACK_DEFAULTS[kind].max > 1 ? 10 : 2;
    for (let i = 0; i < 30; i++) {
      if (evaluate(kind, s, 40).result.detection_probability <= 0.9) break;
      s /= step;
    }
  }
  return evaluate(kind, s);
}

/** The strengths `--strength-sweep` visits per attack (units of ATTACK_DEFAULTS). */
export const SWEEP_STRENGTHS: Readonly<Record<AttackKind, readonly number[]>> = {
  'intercept-resend': [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
  pns: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
  blinding: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
  'trojan-horse': [1e-10, 1e-9, 1e-8, 1e-6, 1e-4, 1e-2, 0.1, 1],
  'time-shift': [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.8, 1],
  jamming: [10, 100, 1e3, 1e4, 1e5, 1e6],
  'fiber-cut': [0],
};

/** One attack's sweep (snake_case: the JSON). */
export interface StrengthSweep {
  readonly attack: AttackKind;
  /** Bob's countermeasures in this sweep: `on`, `off`, or `preset` (as the preset has them). */
  readonly countermeasures: CountermeasureSetting;
  readonly points: readonly {
    readonly strength: number;
    readonly detection_probability: number;
    readonly attacked_key_bits: number;
    readonly insecure_key_bits: number;
  }[];
  /** Strengths at which key became insecure while detection (≤ 3 blocks) stayed below 99%. */
  readonly coverage_gap: readonly number[];
}

function sweepAttack(
  kind: AttackKind,
  countermeasures: CountermeasureSetting,
  run: (strength: number) => EvaluationResult,
): StrengthSweep {
  const points = SWEEP_STRENGTHS[kind].map((strength) => {
    const r = run(strength);
    return {
      strength,
      detection_probability: r.detection_probability,
      attacked_key_bits: r.attacked_key_bits,
      insecure_key_bits: r.insecure_key_bits,
    };
  });
  const coverage_gap = points
    .filter((p) => p.insecure_key_bits > 0 && p.detection_probability < 0.99)
    .map((p) => p.strength);
  return { attack: kind, countermeasures, points, coverage_gap };
}

function renderSweep(sweeps: readonly StrengthSweep[]): string {
  return sweeps
    .map(
      (sw) =>
        `${sw.attack}${sw.countermeasures === 'preset' ? '' : ` (countermeasures ${sw.countermeasures})`}: coverage gap ${sw.coverage_gap.length ? sw.coverage_gap.join(', ') : 'none'}\n${formatTable(
          ['strength', 'P(detect ≤3)', 'attacked key bits', 'insecure key bits'],
          sw.points.map((p) => [
            p.strength,
            p.detection_probability,
            p.attacked_key_bits,
            p.insecure_key_bits,
          ]),
        )}`,
    )
    .join('\n\n');
}

/** One SVG per attack: detection probability and the insecure share of attacked key over strength. */
function writeSweep(path: string, sw: StrengthSweep, siftedBits: number): void {
  const suffix = sw.countermeasures === 'preset' ? '' : `-countermeasures-${sw.countermeasures}`;
  const file = path.replace(/(\.svg)?$/, `-${sw.attack}${suffix}.svg`);
  const pts = sw.points.filter((p) => p.strength > 0);
  const svg = renderLinePlot({
    title: `${sw.attack}${sw.countermeasures === 'preset' ? '' : ` (countermeasures ${sw.countermeasures})`}: detection vs insecure key over strength (blocks of ${siftedBits} sifted bits); gap: ${sw.coverage_gap.length ? sw.coverage_gap.join(', ') : 'none'}`,
    xLabel: `strength (${ATTACK_DEFAULTS[sw.attack].doc})`,
    yLabel: 'probability / fraction',
    xLog: true,
    series: [
      { name: 'P(detect within 3 blocks)', points: pts.map((p) => [p.strength, p.detection_probability]) },
      {
        name: 'insecure share of key from undetected attacked blocks',
        points: pts.map((p) => [
          p.strength,
          p.attacked_key_bits > 0 ? p.insecure_key_bits / p.attacked_key_bits : 0,
        ]),
        dashed: true,
      },
    ],
  });
  try {
    writeFileSync(file, svg);
  } catch (e) {
    throw new UsageError(`--sweep-svg: cannot write ${file}: ${(e as Error).message}`);
  }
}

const mean = (ps: readonly { detectionProbability: number }[]) =>
  ps.reduce((s, p) => s + p.detectionProbability, 0) / Math.max(1, ps.length);

function writeRoc(
  path: string,
  r: EvaluationResult,
  points: readonly { falseAlarmRate: number; detectionProbability: number }[],
  perDetector: readonly DetectorRoc[],
): void {
  const floor = 1 / (2 * r.null_blocks); // a measured rate of 0 is drawn at half the resolution
  const at = (p: { falseAlarmRate: number; detectionProbability: number }) =>
    [Math.max(p.falseAlarmRate, floor), p.detectionProbability] as const;
  const pts = points.map(at);
  const svg = renderLinePlot({
    title: `ROC: ${r.attack} at strength ${r.strength} (${ATTACK_DEFAULTS[r.attack as AttackKind]?.doc ?? ''}), detection within ${r.detect_within_blocks} blocks`,
    xLabel: `false alarms per block (measured on ${r.null_blocks} blocks; 0 drawn at ${floor.toExponential(0)})`,
    yLabel: 'detection probability',
    xLog: true,
    series: [
      { name: 'all detectors (budget swept 1e-9…0.3)', points: pts },
      // The palette holds 9 lines: the seven detectors that catch the attack most often (mean over budgets).
      ...[...perDetector]
        .sort((a, b) => mean(b.points) - mean(a.points))
        .slice(0, 7)
        .map((d) => ({ name: d.detector, points: d.points.map(at) })),
      {
        name: 'chance',
        points: [
          [floor, floor],
          [1, 1],
        ],
        dashed: true,
      },
    ],
  });
  try {
    writeFileSync(path, svg);
  } catch (e) {
    throw new UsageError(`--roc: cannot write ${path}: ${(e as Error).message}`);
  }
}
