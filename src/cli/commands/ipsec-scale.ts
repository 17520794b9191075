/**
 * `qkdnet ipsec bench --ues N` (many UEs through one N3IWF, src/ipsec/scale-bench.ts) and the interval
 * columns of `qkdnet ipsec bench --runs R`: the event-level link feeding the KMEs, and the printed tables.
 */
import { PRESETS } from '../../physics/index.ts';
import { LinkKeySupply } from '../../server/index.ts';
import {
  KME,
  rowLabel,
  type BenchReport,
  type KeyFeed,
  type KmePair,
  type RatioInterval,
  type ScaleReport,
} from '../../ipsec/index.ts';
import { formatTable } from '../util.ts';

/** The event-level link of `--link event-level`: its id, preset and pulses per block. */
export const EVENT_LINK = { id: 'link-ue-n3iwf', preset: 'gys' } as const;

/**
 * The KMEs fed by the event-level link: src/server's live key supply (a worker thread runs the link engine
 * — decoy-state BB84 detection by detection — and post-processing to the finite-key length, block after
 * block) over `distanceKm` of fibre with the GYS preset (2 MHz). A block of `pulses` stands for
 * pulses / 2 MHz seconds of the link; the supply rests that long after each block, so the KMEs never
 * receive key faster than the link would make it (slower by the block's compute time).
 */
export function eventLevelFeed(
  seed: string,
  distanceKm: number,
  pulses: number,
): (kmes: KmePair, delivered: (bits: number) => void) => KeyFeed {
  const params = PRESETS[EVENT_LINK.preset]!.params;
  const blockS = pulses / params.repetitionRateHz;
  return (kmes, delivered) => {
    let bits = 0;
    let blocks = 0;
    const supply = new LinkKeySupply({
      links: [{ id: EVENT_LINK.id, from: KME.ue, to: KME.n3iwf, params, distanceKm }],
      kmes: new Map([
        [KME.ue, kmes.ue],
        [KME.n3iwf, kmes.n3iwf],
      ]),
      seed,
      pulsesPerBlock: pulses,
      pauseMs: blockS * 1000,
      usable: () => true,
      attackOf: () => null,
      nowNs: () => Date.now() * 1e6,
      onBlock: (_id, outcome) => {
        blocks++;
        if ('bits' in outcome) {
          bits += outcome.bits;
          delivered(outcome.bits);
        }
      },
    });
    return {
      describe: `event-level link (GYS preset, ${distanceKm} km, ${pulses.toExponential(0)} pulses per block = ${blockS} s of link at 2 MHz) + post-processing`,
      get keyRateBps() {
        return blocks > 0 ? Math.round(bits / blocks / blockS) : undefined;
      },
      close: () => supply.close(),
    };
  };
}

const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '-');

/** The ratio a/b from the report's unordered pairs (inverted when stored as b/a). */
export function ratioOf(ratios: readonly RatioInterval[], a: string, b: string): RatioInterval | undefined {
  if (a === b) return { a, b, estimate: 1, lo: 1, hi: 1, significant: false };
  const d = ratios.find((r) => r.a === a && r.b === b);
  if (d) return d;
  const i = ratios.find((r) => r.a === b && r.b === a);
  return i && { a, b, estimate: 1 / i.estimate, lo: 1 / i.hi, hi: 1 / i.lo, significant: i.significant };
}

/** Medians with intervals and ratios to psk and cert-ecdsa with intervals (`*` = interval excludes 1). */
export function intervalTable(r: BenchReport): string {
  if (!r.intervals || !r.ratios) return '';
  const cell = (x: RatioInterval | undefined) =>
    x ? `${f(x.estimate)} [${f(x.lo)}, ${f(x.hi)}]${x.significant ? ' *' : ''}` : '-';
  const rows = r.intervals.map((iv) => {
    const label = rowLabel(iv.mode, iv.fetch_in_window);
    return [
      label,
      `${f(iv.estimate)} [${f(iv.lo)}, ${f(iv.hi)}]`,
      cell(ratioOf(r.ratios!, label, 'psk')),
      cell(ratioOf(r.ratios!, label, 'cert-ecdsa')),
    ];
  });
  return [
    'medians with 95% bootstrap intervals (percentile method, 10,000 seeded resamples); * = the ratio interval excludes 1',
    formatTable(['mode', 'median ms [95% CI]', '×psk [95% CI]', '×cert-ecdsa [95% CI]'], rows),
  ].join('\n');
}

/** The printed report of `--ues N`. */
export function scaleTable(r: ScaleReport): string {
  const lines = [
    `${r.ues} UEs through one N3IWF, ${r.concurrency} at a time, mode ${r.mode}, policy ${r.policy}, ${r.runs} run(s)`,
    `link: ${r.link}${r.link_key_rate_bps !== undefined ? ` — ${r.link_key_rate_bps} bit/s secret key` : ''}`,
    formatTable(
      ['run', 'attached', 'refused', 'wall ms', 'attaches/s'],
      r.per_run.map((x, i) => [i + 1, x.attached, x.refused, x.wall_ms, x.attaches_per_s]),
    ),
    r.runs > 1
      ? `attaches/s: median ${f(r.attaches_per_s.estimate, 2)} [95% CI ${f(r.attaches_per_s.lo, 2)}, ${f(r.attaches_per_s.hi, 2)}] over ${r.runs} runs`
      : `attaches/s: ${f(r.attaches_per_s.estimate, 2)} (one run: no interval; --runs R for one)`,
    `set-up latency (KME request → IKE + CHILD SA up), ms: p50 ${r.latency.p50_ms}, p90 ${r.latency.p90_ms}, p95 ${r.latency.p95_ms}, p99 ${r.latency.p99_ms}, max ${r.latency.max_ms} (n = ${r.latency.n})`,
    `QKD key: ${r.qkd_bits_drawn} bits drawn, ${r.qkd_bits_per_attach} bits per attach (${r.qkd_bits_per_qkd_sa} per QKD-keyed SA); ${f(r.attaches_per_s.estimate, 2)} attaches/s all on QKD keys need ${r.required_key_rate_bps} bit/s of secret key`,
    `SAs by PPK provenance: ${Object.entries(r.provenance)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `alerts: ${
      Object.entries(r.alerts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
  ];
  const failed = Object.entries(r.failures).filter(([k]) => !k.startsWith('no-key'));
  if (failed.length > 0) lines.push(`failed attaches: ${failed.map(([k, n]) => `${n} × ${k}`).join('; ')}`);
  if (r.pool_empty)
    lines.push(
      `pool empty ${r.pool_empty.at_ms} ms into the run (${r.pool_empty.after_attaches} attaches had completed); then ${r.pool_empty.took_over}`,
    );
  if (r.rekey)
    lines.push(
      `rekey: ${r.rekey.reauthenticated} UEs reauthenticated with new keys (all distinct: ${r.rekey.new_keys_distinct ? 'yes' : 'NO'}), p50 ${r.rekey.latency.p50_ms} ms`,
    );
  if (r.lifetime) {
    const l = r.lifetime;
    lines.push(
      `lifetime ${l.lifetime_s} s: ${l.ues_rekeyed} of ${l.attached} UEs reauthenticated by their agents on expiry (${l.rounds} rounds, ${l.failed} failed), new keys all distinct: ${l.new_keys_distinct ? 'yes' : 'NO'}, p50 ${l.latency.p50_ms} ms; ${l.attached} UEs at this lifetime need ${l.required_key_rate_bps} bit/s of QKD key`,
    );
  }
  lines.push(
    `machine: load average ${r.machine.loadavg_before.join(' ')} before, ${r.machine.loadavg_after.join(' ')} after; ${r.machine.cpu_ms} ms CPU of this process over ${r.machine.wall_ms} ms`,
  );
  return lines.join('\n');
}
