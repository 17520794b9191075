/**
 * Attribution: which attack the detectors that fired on one block point to. Each detector declares the attack
 * classes its statistic indicates, per side of its limit, with a weight for how specific it is (table
 * INDICATIONS below, the physics of each attack beside it). The engine sums the weights of the detectors that
 * fired — each statistic family counted once, whatever the number of intensity classes and bases it fired
 * in — and names the class with the highest score; `unknown-anomaly` when no declared indication fired (an
 * anomaly model or a KME statistic alone).
 *
 * The signatures, measured with the link engine's attacks at their default strengths (docs/detection.md):
 *  - intercept-resend: QBER above its limit in every class, CUSUM/SPRT; gains unchanged;
 *  - photon-number splitting: decoy gains below their limits while the signal gain holds, fewer detections,
 *    more double clicks per detection (Eve forwards multi-photon pulses over a lossless line);
 *  - blinding: QBER below its limit (faked states), no double clicks, decoy gains above;
 *  - time-shift: every gain below, fewer detections, double clicks unchanged;
 *  - jamming: detections, vacuum gain and double clicks above; QBER up. Where the jamming is weak (0.4% more
 *    clicks on the GHz metro link) only the QBER tests fire, as under intercept-resend; what separates the two
 *    is the shape of the disturbance across intensity classes (disturbance-shape.ts: background light adds
 *    clicks to every class alike, most visibly the vacuum class, and raises the QBER ∝ 1/gain; resent states
 *    leave click rates and the vacuum class alone and raise the QBER equally in every class carrying light).
 *    When a QBER-raising detector fired and that likelihood ratio is decisive, the weight of the QBER
 *    detectors goes to the explanation it favours;
 *  - fiber cut: detections collapse;
 *  - Trojan horse: light at Alice's monitor photodiode;
 *  - where the link has the countermeasures: blinding trips Bob's bright-light watchdog, time-shifted pulses
 *    arrive off-centre in the gate.
 * Attribution is a model of these signatures, not a proof: a combined attack is named by its strongest part.
 */
import { ATTACK_KINDS, type Alert, type AttackKind } from './deps.ts';
import type { Finding } from './finding.ts';
import type { ShapeEvidence } from './disturbance-shape.ts';

/** The attack classes an alert can be attributed to: the link engine's attack kinds, or none of them. */
export const ATTACK_CLASSES: readonly AttackClass[] = [...ATTACK_KINDS, 'unknown-anomaly'];
export type AttackClass = AttackKind | 'unknown-anomaly';

/** What one detector's firing indicates. */
export interface Indication {
  /** Detector kind (Finding.kind). */
  readonly kind: string;
  /** Statistic family: the statistic without its [class,basis] suffix, or a pattern on it. */
  readonly statistic: RegExp;
  /** Side of the limit the value must be on. */
  readonly side: 'above' | 'below';
  /** Attack classes indicated, with the weight of the evidence. */
  readonly indicates: Readonly<Partial<Record<AttackClass, number>>>;
}

const gainOf = (classes: string) => new RegExp(`^gain\\[(${classes}),[ZX]\\]$`);

/** Every declared indication (one row per detector statistic and side). */
export const INDICATIONS: readonly Indication[] = [
  { kind: 'trojan-horse', statistic: /^monitor-power-w$/, side: 'above', indicates: { 'trojan-horse': 10 } },
  // countermeasures (src/qkd bright-light-watchdog.ts, detector-randomisation.ts): each sees its attack's light
  { kind: 'bright-light', statistic: /^watchdog-trips/, side: 'above', indicates: { blinding: 10 } },
  { kind: 'gate-timing', statistic: /^gate-edge-share$/, side: 'above', indicates: { 'time-shift': 10 } },
  { kind: 'fiber-cut', statistic: /^detections-per-pulse$/, side: 'below', indicates: { 'fiber-cut': 8 } },
  { kind: 'jamming', statistic: /^detections-per-pulse$/, side: 'above', indicates: { jamming: 8 } },
  {
    kind: 'click-rate-drop',
    statistic: /^detections-per-pulse$/,
    side: 'below',
    indicates: { pns: 1, 'time-shift': 1 },
  },
  { kind: 'qber-too-low', statistic: /^qber\[/, side: 'below', indicates: { blinding: 4 } },
  {
    kind: 'double-click-rate',
    statistic: /^double-clicks-per-detection$/,
    side: 'below',
    indicates: { blinding: 4 },
  },
  {
    kind: 'double-click-rate',
    statistic: /^double-clicks-per-detection$/,
    side: 'above',
    // jamming also raises detections (its own, heavier indication); alone, more double clicks mean PNS
    indicates: { pns: 3, jamming: 2 },
  },
  {
    kind: 'decoy-inconsistent',
    statistic: gainOf('signal'),
    side: 'below',
    indicates: { 'time-shift': 3, 'fiber-cut': 1 },
  },
  {
    kind: 'decoy-inconsistent',
    statistic: gainOf('decoy|vacuum'),
    side: 'below',
    indicates: { pns: 1, 'time-shift': 1, 'fiber-cut': 1 },
  },
  { kind: 'decoy-inconsistent', statistic: gainOf('decoy'), side: 'above', indicates: { blinding: 1 } },
  { kind: 'decoy-inconsistent', statistic: gainOf('vacuum'), side: 'above', indicates: { jamming: 2 } },
  { kind: 'decoy-inconsistent', statistic: /^qber\[vacuum/, side: 'above', indicates: { jamming: 1 } },
  {
    kind: 'qber-high',
    statistic: /^qber\[/,
    side: 'above',
    indicates: { 'intercept-resend': 2, jamming: 0.5, 'fiber-cut': 0.5 },
  },
  { kind: 'qber-cusum', statistic: /^cusum-llr/, side: 'above', indicates: { 'intercept-resend': 2 } },
  { kind: 'qber-sprt', statistic: /^sprt-llr/, side: 'above', indicates: { 'intercept-resend': 2 } },
  {
    kind: 'detector-control',
    statistic: /^(sifted-share|bob-basis-z-share)/,
    side: 'above',
    indicates: { 'time-shift': 1, blinding: 1 },
  },
  {
    kind: 'detector-control',
    statistic: /^(sifted-share|bob-basis-z-share)/,
    side: 'below',
    indicates: { 'time-shift': 1, blinding: 1 },
  },
];

/** Tie-break order: the more specific signature first. */
const PRIORITY: readonly AttackClass[] = [
  'trojan-horse',
  'fiber-cut',
  'jamming',
  'blinding',
  'pns',
  'time-shift',
  'intercept-resend',
  'unknown-anomaly',
];

/**
 * One firing detector's evidence, worded so that nobody misreads it (the Alert contract's attribution evidence):
 * e.g. "double-clicks-per-detection = 6.10e-4, below its lower limit 6.61e-4 (p = 6.4e-6)".
 */
export type Evidence = NonNullable<Alert['attribution']>['evidence'][number];

/** The attributed attack of one block and the evidence behind it. */
export interface Attribution {
  readonly attack: AttackClass;
  /** Score per class (only classes some firing detector indicated). */
  readonly scores: Readonly<Partial<Record<AttackClass, number>>>;
  readonly evidence: readonly Evidence[];
}

/** The side a finding lies on: declared by the detector, else inferred from value and limit. */
export function sideOf(f: Finding): 'above' | 'below' {
  return f.side ?? (f.value >= f.threshold ? 'above' : 'below');
}

const num = (v: number) => (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3));

/** The evidence line of a finding. */
export function evidenceOf(f: Finding): Evidence {
  const side = sideOf(f);
  const p = f.pValue !== undefined ? ` (p = ${f.pValue.toExponential(2)})` : '';
  return {
    detector: f.kind,
    statistic: f.statistic,
    value: f.value,
    limit: f.threshold,
    side,
    ...(f.pValue !== undefined ? { pValue: f.pValue } : {}),
    text: `${f.statistic} = ${num(f.value)}, ${side} its ${side === 'above' ? 'upper' : 'lower'} limit ${num(f.threshold)}${p}`,
  };
}

/** Detectors whose firing says only "the QBER rose"; the disturbance shape tells by what. */
const QBER_RISE = new Set(['qber-high', 'qber-cusum', 'qber-sprt']);

/** The evidence line of a decisive disturbance-shape likelihood ratio. */
export function shapeEvidenceOf(s: ShapeEvidence & { side: 'above' | 'below' }): Evidence {
  const limit = s.side === 'above' ? s.limit : -s.limit;
  const means = s.side === 'above' ? 'background light (jamming)' : 'resent states (intercept-resend)';
  return {
    detector: 'disturbance-shape',
    statistic: 'background-vs-resend-llr',
    value: s.llr,
    limit,
    side: s.side,
    text: `background-vs-resend-llr = ${num(s.llr)} over ${s.blocks} block(s), ${s.side} its ${s.side === 'above' ? 'upper' : 'lower'} limit ${num(limit)}: the QBER rise fits ${means}`,
  };
}

/**
 * Combines the findings of one block into an attributed attack class (undefined when none fired). `shape`,
 * the disturbance-shape likelihood ratio of the recent blocks, decides between jamming and intercept-resend
 * for the QBER detectors' weight when it is decisive.
 */
export function attribute(findings: readonly Finding[], shape?: ShapeEvidence): Attribution | undefined {
  if (findings.length === 0) return undefined;
  const scores: Partial<Record<AttackClass, number>> = {};
  const counted = new Set<Indication>();
  const decisive =
    shape?.side !== undefined && findings.some((f) => QBER_RISE.has(f.kind) && sideOf(f) === 'above');
  for (const f of findings) {
    const side = sideOf(f);
    for (const ind of INDICATIONS) {
      if (counted.has(ind) || ind.kind !== f.kind || ind.side !== side || !ind.statistic.test(f.statistic))
        continue;
      counted.add(ind);
      let indicates = Object.entries(ind.indicates) as [AttackClass, number][];
      if (decisive && QBER_RISE.has(ind.kind)) {
        const total = indicates.reduce((a, [, w]) => a + w, 0);
        indicates = [[shape!.side === 'above' ? 'jamming' : 'intercept-resend', total]];
      }
      for (const [c, w] of indicates) scores[c] = (scores[c] ?? 0) + w;
    }
  }
  let attack: AttackClass = 'unknown-anomaly';
  let best = 0;
  for (const c of PRIORITY) {
    const s = scores[c] ?? 0;
    if (s > best) {
      best = s;
      attack = c;
    }
  }
  const evidence = findings.map(evidenceOf);
  if (decisive) evidence.push(shapeEvidenceOf(shape as ShapeEvidence & { side: 'above' | 'below' }));
  return { attack, scores, evidence };
}
