/**
 * The `scenarios` group of `qkdnet validate`: every shipped scenario's links against the published figures the
 * scenario records beside them (`published:` of each link — key rate, key per satellite pass, loss, length,
 * with the source), plus the published counts of the networks and the Micius 2017 pass reproduced from the
 * physics (geometry, loss, key per pass). Rows are built from the scenario files, so a link whose rate, length
 * or loss drifts from its recorded source fails `qkdnet validate` and CI.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import {
  MICIUS_2017_INTENSITIES,
  MICIUS_2017_PASS,
  PRESETS,
  channelLossDb,
  leoPass,
  passKeyBits,
} from '../../physics/index.ts';
import { loadScenario, type Scenario, type ScenarioLink } from '../../network/index.ts';
import type { Reference } from './references.ts';

/** The shipped scenarios, from the sources (src/cli/validate/) or from the bundle (dist/cli.mjs). */
const SCENARIO_DIR = fileURLToPath(
  new URL(import.meta.url.endsWith('.mjs') ? '../scenarios/' : '../../../scenarios/', import.meta.url),
);

/** A range tolerance [lo, hi] or, for a single value, a relative one. */
function span(v: number | readonly [number, number], relative: number): Reference['tolerance'] {
  return typeof v === 'number'
    ? { kind: 'relative', value: relative }
    : { kind: 'range', min: v[0], max: v[1] };
}

const mid = (v: number | readonly [number, number]) => (typeof v === 'number' ? v : (v[0] + v[1]) / 2);
const text = (v: number | readonly [number, number]) =>
  typeof v === 'number' ? undefined : `${v[0]}–${v[1]}`;

/** The rows one link's recorded published figure gives. */
function linkRows(s: Scenario, l: ScenarioLink): Reference[] {
  const p = l.published;
  if (!p) return [];
  const base = { group: 'scenarios' as const, source: `scenarios/${s.name}.yaml, link ${l.id}: ${p.source}` };
  const id = `scenario-${s.name}-${l.id}`;
  const rows: Reference[] = [];
  if (p.key_rate_bps !== undefined) {
    const floor = p.key_rate_is_minimum === true;
    rows.push({
      ...base,
      id: `${id}-rate`,
      figure: `secret key rate of link ${l.id} (${s.name})`,
      published: p.key_rate_bps,
      ...(floor ? { publishedText: `> ${p.key_rate_bps}` } : {}),
      unit: 'bit/s',
      tolerance: floor
        ? { kind: 'range', min: p.key_rate_bps, max: 1e12 }
        : { kind: 'relative', value: 0.05 },
      why: floor
        ? 'the source states a floor for every link'
        : 'the link runs at the published rate; 5% covers rounding in the scenario file',
      compute: () => l.rateBps,
    });
  }
  if (p.key_per_pass_bits !== undefined && l.passes) {
    const passes = l.passes;
    rows.push({
      ...base,
      id: `${id}-pass-key`,
      figure: `final key of one pass, link ${l.id} (${s.name}): rate × pass duration`,
      published: p.key_per_pass_bits,
      unit: 'bit',
      tolerance: { kind: 'relative', value: 0.05 },
      why: 'the scenario runs the pass at the published average rate for the published duration',
      compute: () => l.rateBps * passes.durationS,
    });
  }
  if (p.length_km !== undefined && l.lengthKm !== undefined) {
    const len = l.lengthKm;
    rows.push({
      ...base,
      id: `${id}-length`,
      figure: `fibre length of link ${l.id} (${s.name})`,
      published: mid(p.length_km),
      ...(text(p.length_km) ? { publishedText: text(p.length_km)! } : {}),
      unit: 'km',
      tolerance: span(p.length_km, 0.02),
      why:
        typeof p.length_km === 'number'
          ? 'lengths are quoted to the kilometre'
          : 'the source gives a range for the links',
      compute: () => len,
    });
  }
  if (typeof p.loss_db === 'number' && l.params && l.lengthKm !== undefined) {
    const params = l.params;
    const len = l.lengthKm;
    rows.push({
      ...base,
      id: `${id}-loss`,
      figure: `channel loss of link ${l.id} (${s.name}) from its length and device parameters`,
      published: p.loss_db,
      unit: 'dB',
      tolerance: { kind: 'absolute', value: 0.5 },
      why: 'the source quotes the attenuation to one digit ("~0.3 dB/km")',
      compute: () => channelLossDb(params, len),
    });
  }
  return rows;
}

const micius = PRESETS.micius!.params;
/** The preset at the 2017 experiment's intensities (0.8 / 0.1 / vacuum). */
const micius2017 = { ...micius, ...MICIUS_2017_INTENSITIES };
const MICIUS_SRC =
  'S.-K. Liao et al., Nature 549, 43 (2017), text and Fig. 3 (the Xinglong pass of 19 December 2016)';

/** The Micius 2017 pass from the physics: geometry, loss at both ends, final key of the pass. */
function miciusRows(): Reference[] {
  const pass = leoPass({ ...MICIUS_2017_PASS, timeStepS: 5 });
  return [
    {
      id: 'scenario-micius-2017-pass-duration',
      group: 'scenarios',
      figure:
        'duration of the Micius pass from 1,200 km through 645 km to 1,200 km slant range (leoPass, 500 km orbit)',
      source: `${MICIUS_SRC}: key generated for 273 s`,
      published: 273,
      unit: 's',
      tolerance: { kind: 'relative', value: 0.03 },
      why: 'geometry alone (circular orbit, Earth rotation neglected): an independent check of the pass model',
      compute: () => pass[pass.length - 1]!.timeS - pass[0]!.timeS,
    },
    ...(
      [
        [645, 22],
        [1200, 35],
      ] as const
    ).map(([km, db]): Reference => ({
      id: `scenario-micius-2017-loss-${km}km`,
      group: 'scenarios',
      figure: `downlink loss of the micius preset at ${km} km slant range`,
      source: `${MICIUS_SRC}: loss rising ≈ 13 dB from 22 dB at 645 km to 35 dB at 1,200 km`,
      published: db,
      unit: 'dB',
      tolerance: { kind: 'absolute', value: 1 },
      why: 'diffraction, pointing and atmosphere are computed; the turbulence coupling loss (3.8 dB × air mass) and 2.2 dB of receiver loss are fitted to these two figures, so the rows guard the fit',
      compute: () => channelLossDb(micius, km),
    })),
    {
      id: 'scenario-micius-2017-pass-key',
      group: 'scenarios',
      figure:
        'final key of the 2017 Xinglong pass from the physics: finite-key decoy BB84 over the leoPass samples (micius preset)',
      source: `${MICIUS_SRC}: 300,939 final key bits in one pass`,
      published: 300939,
      unit: 'bit',
      tolerance: { kind: 'relative', value: 0.15 },
      why: 'η_Bob (10%) is fitted to this figure; each 5 s sample is evaluated as if the pass were one block (2.7·10¹⁰ pulses) at that sample’s loss, an approximation of the single block the paper post-processes',
      compute: () => passKeyBits('bb84-decoy-finite', micius2017, pass, { blockSize: 1e8 * 270 }),
      plot: () => ({
        title: 'Micius 2017 pass (micius preset): loss along the pass',
        xLabel: 'time from closest approach (s)',
        yLabel: 'loss (dB)',
        series: [
          { name: 'qkdnet loss', points: pass.map((x) => [x.timeS, x.lossDb] as [number, number]) },
          {
            name: 'published: 22 dB at 645 km',
            points: [
              [-10, 22],
              [10, 22],
            ],
            dashed: true,
          },
          {
            name: 'published: 35 dB at 1,200 km',
            points: [
              [-135, 35],
              [135, 35],
            ],
            dashed: true,
          },
        ],
      }),
    },
  ];
}

/** Published counts of whole networks: [scenario, id, figure, source, count, unit, what to count]. */
const COUNTS: readonly [string, string, string, string, number, string, (s: Scenario) => number][] = [
  [
    'beijing-shanghai-backbone',
    'relays',
    'trusted relays of the Beijing–Shanghai backbone (nodes other than the two ends)',
    'CAS press release on Liao et al., PRL 120, 030501 (2018), text: "linking Beijing to Shanghai (going through Jinan and Hefei, and 32 trustful relays)"',
    32,
    'nodes',
    (s) => s.nodes.length - 2,
  ],
  [
    'secoqc-vienna-2008',
    'links',
    'QKD links of the SECOQC network',
    'IEEE Spectrum, 22 October 2008, text: "eight links"; M. Peev et al., New J. Phys. 11, 075001 (2009)',
    8,
    'links',
    (s) => s.links.length,
  ],
];

function countRows(byName: ReadonlyMap<string, Scenario>): Reference[] {
  return COUNTS.flatMap(([name, what, figure, source, count, unit, measure]): Reference[] => {
    const s = byName.get(name);
    if (!s) return [];
    return [
      {
        id: `scenario-${name}-${what}`,
        group: 'scenarios',
        figure,
        source,
        published: count,
        unit,
        tolerance: { kind: 'absolute', value: 0 },
        why: 'a count: exact or wrong',
        compute: () => measure(s),
      },
    ];
  });
}

/** Every scenario row, scenarios in file-name order. */
export function scenarioReferences(dir = SCENARIO_DIR): Reference[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const byName = new Map<string, Scenario>();
  const rows: Reference[] = [];
  for (const f of files) {
    const s = loadScenario(join(dir, f));
    byName.set(s.name, s);
    for (const l of s.links) rows.push(...linkRows(s, l));
  }
  return [...rows, ...countRows(byName), ...miciusRows()];
}
