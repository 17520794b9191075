/**
 * `qkdnet detect evaluate` — measures the threat detectors (src/detect) against the link engine's attacks:
 * detection probability within a few blocks, mean blocks to detection, the false-alarm rate on attack-free
 * blocks, and whether any attacked block's key would reach a store. `--roc` draws the ROC curve over the
 * detectors' false-alarm budget. See docs/detection.md.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createRng } from '../../common/index.ts';
import { findPreset, PRESETS } from '../../physics/index.ts';
import {
  ATTACK_DEFAULTS,
  ATTACK_KINDS,
  buildModel,
  simulateBlock,
  type AttackKind,
} from '../../qkd/index.ts';
import {
  EVALUATE_DEFAULT_STRENGTH,
  evaluateDetection,
  rocCurve,
  sampleLinkTelemetryWith,
  type BlockSimulator,
  type EvaluationResult,
} from '../../detect/index.ts';
import { renderLinePlot } from '../svg-plot.ts';
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
}

const EXAMPLES = `
Examples:
  qkdnet detect evaluate --attack intercept-resend --strength 0.05
      5% intercept-resend: detection probability, blocks to detect, false alarms per block
  qkdnet detect evaluate --attack pns --trials 200 --null-blocks 20000 --format json
  qkdnet detect evaluate --attack time-shift --strength 0.05 --roc roc.svg
      a weak attack, and the ROC curve over the detectors' false-alarm budget
  qkdnet detect evaluate --attack all --trials 100
      every attack kind at its default strength, one row each

Attack kinds and default strengths:
${ATTACK_KINDS.map((k) => `  ${k.padEnd(17)} ${String(EVALUATE_DEFAULT_STRENGTH[k]).padEnd(6)} ${ATTACK_DEFAULTS[k].doc}`).join('\n')}

A trial is detected when a detector aborts a block within 3 blocks of the attack's start. Blocks are sized
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
    .addHelpText('after', EXAMPLES)
    .action((flags: EvaluateFlags) => runEvaluate(flags));
}

function runEvaluate(f: EvaluateFlags): void {
  const format = parseFormat(f.format, ['table', 'json'] as const);
  const kinds: AttackKind[] = f.attack === 'all' ? [...ATTACK_KINDS] : [parseKind(f.attack)];
  if (f.attack === 'all' && f.strength !== undefined)
    throw new UsageError('--strength: give one --attack kind to set its strength');
  if (f.attack === 'all' && f.roc !== undefined) throw new UsageError('--roc: give one --attack kind');
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
  const seedNum = Number(f.seed);
  const seed = Number.isFinite(seedNum) ? seedNum : f.seed;
  const results: EvaluationResult[] = [];
  for (const kind of kinds) {
    const spec = ATTACK_DEFAULTS[kind];
    const strength =
      f.strength === undefined
        ? EVALUATE_DEFAULT_STRENGTH[kind]
        : parseNumber(f.strength, '--strength', { min: spec.min, max: spec.max });
    const base = { params: preset.params, distanceKm, linkId: 'alice-bob' };
    const attack = { kind, param: strength };
    const honest = buildModel({ ...base, blockId: 0, pulses: 1 });
    const attacked = buildModel({ ...base, blockId: 0, pulses: 1, attack });
    const simulate: BlockSimulator = ({ blockId, pulses, attacked: isAttacked }, rng) => {
      const cfg = { ...base, blockId, pulses, ...(isAttacked ? { attack } : {}) };
      return f.exact
        ? simulateBlock(cfg, rng).telemetry
        : sampleLinkTelemetryWith(isAttacked ? attacked : honest, cfg, rng);
    };
    const bar = new ProgressBar(`detect evaluate ${kind}`, 1); // fed the fraction done
    const { result, data } = evaluateDetection(simulate, {
      attack: kind,
      strength,
      trials,
      nullBlocks,
      seed,
      calibrationBlocks,
      targetSiftedBits: siftedBits,
      quantum: { falseAlarmPerBlock: falseAlarm, qberShift },
      onProgress: (done, total) => bar.update(done / total),
    });
    bar.done();
    results.push(result);
    if (f.roc) writeRoc(f.roc, result, rocCurve(data, result.detect_within_blocks, undefined, { qberShift }));
  }
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${renderTable(results)}\n`);
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
    r.anomaly_detection_probability,
  ]);
  const first = rs[0]!;
  return `${formatTable(header, rows)}\n(${first.null_blocks} attack-free blocks of ${first.sifted_bits_per_block} sifted bits, ${first.pulses_per_block} pulses; budget ${first.false_alarm_budget_per_block}/block; anomaly model false alarms ${first.anomaly_false_alarm_rate_per_block}/block)`;
}

function writeRoc(
  path: string,
  r: EvaluationResult,
  points: readonly { falseAlarmRate: number; detectionProbability: number }[],
): void {
  const floor = 1 / (2 * r.null_blocks); // a measured rate of 0 is drawn at half the resolution
  const pts = points.map((p) => [Math.max(p.falseAlarmRate, floor), p.detectionProbability] as const);
  const svg = renderLinePlot({
    title: `ROC: ${r.attack} (strength ${r.strength}), detection within ${r.detect_within_blocks} blocks`,
    xLabel: `false alarms per block (measured on ${r.null_blocks} blocks; 0 drawn at ${floor.toExponential(0)})`,
    yLabel: 'detection probability',
    xLog: true,
    series: [
      { name: 'detectors (budget swept 1e-9…0.3)', points: pts },
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
