// @edge: times many UEs attaching through one N3IWF (`qkdnet ipsec bench --ues N`)
/**
 * The attach benchmark at scale, on the rig of ./scale.ts: after a warm-up of one attach per worker (not
 * counted; skipped on a metered event-level link, whose keys it would spend), `runs` times, N UEs attach (`concurrency` at a
 * time) and are detached again; optionally every UE then reauthenticates once (explicitly: each
 * draws a new key), and with `lifetimeS` every UE attaches once more with that key lifetime and its agent
 * reauthenticates by itself when it expires (a new key each). Reported: attaches per second per run (successful attaches over the attach phase's
 * wall time) with the median over runs and its 95% bootstrap interval (./bootstrap.ts), set-up latency
 * percentiles over all attaches (nearest rank), QKD key bits drawn per attach, and the secret key rate a
 * QKD link must deliver to sustain the measured attach rate (attaches/s × bits per attach). Provenance of
 * every SA, alerts by kind, and — when the pool ran dry — when, and which policy took over.
 */
import os from 'node:os';
import type { Logger } from 'pino';
import type { Alert } from '../common/index.ts';
import { median, medianInterval, nearestRank, type Interval } from './bootstrap.ts';
import type { NoKeyPolicy } from './exhaustion-policy.ts';
import type { KmePair } from './kme-pair.ts';
import {
  PPK_BITS,
  startScaleRig,
  type AttachRecord,
  type KeyFeed,
  type ScaleMode,
  type ScaleRig,
} from './scale.ts';

/** Options of `runScaleBench`. */
export interface ScaleBenchOptions {
  readonly ues: number;
  readonly concurrency: number;
  readonly mode: ScaleMode;
  readonly policy: NoKeyPolicy;
  readonly runs: number;
  /** Every UE reauthenticates once after the last run's attach (a new key each). */
  readonly rekey?: boolean;
  /**
   * Then a lifetime phase: every UE attaches with this key lifetime (seconds) and stays until its own
   * agent has reauthenticated on the lifetime's expiry (a new key each), or until 2 × lifetime after the
   * last attach.
   */
  readonly lifetimeS?: number;
  readonly prefix: string;
  readonly dir?: string;
  readonly log: Logger;
  /** The KMEs' feed (default: the CSPRNG stand-in with enough keys for every attach). */
  readonly feed?: (kmes: KmePair, delivered: (bits: number) => void) => KeyFeed | Promise<KeyFeed>;
  /** Wait for this many feed deliveries before the first attach (an event-level link's first block). */
  readonly waitForBlocks?: number;
  /** Seed of the bootstrap resampling. */
  readonly seed?: string;
  readonly progress?: (done: number, total: number, phase: string) => void;
  readonly alert?: (a: Alert) => void;
  /** Serve the SA ledger's metrics on `http://host:port/metrics` during the run. */
  readonly metrics?: { readonly host: string; readonly port: number };
  /** Told the metrics URL once the endpoint listens. */
  readonly onMetrics?: (url: string) => void;
}

/** Latency percentiles, ms. */
export interface LatencyStats {
  readonly n: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p95_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

/** One run's figures. */
export interface ScaleRun {
  readonly attached: number;
  readonly refused: number;
  readonly wall_ms: number;
  readonly attaches_per_s: number;
}

/** The report (JSON of `qkdnet ipsec bench --ues N --format json`). */
export interface ScaleReport {
  readonly ues: number;
  readonly concurrency: number;
  readonly mode: ScaleMode;
  readonly policy: NoKeyPolicy;
  readonly runs: number;
  readonly link: string;
  /** The link's secret key rate, bit/s, when the feed states it. */
  readonly link_key_rate_bps?: number;
  readonly per_run: readonly ScaleRun[];
  /** Median over runs with its 95% bootstrap interval. */
  readonly attaches_per_s: Interval;
  readonly latency: LatencyStats;
  readonly qkd_bits_drawn: number;
  /** QKD bits drawn over all successful attaches (SAs under pqc count with 0). */
  readonly qkd_bits_per_attach: number;
  /** QKD bits drawn per SA whose PPK contains QKD key (provenance qkd or hybrid). */
  readonly qkd_bits_per_qkd_sa: number;
  /** QKD secret key rate needed to give every attach, at the median attach rate, a QKD key, bit/s. */
  readonly required_key_rate_bps: number;
  /** SAs by PPK provenance (and attaches refused). */
  readonly provenance: Readonly<Record<string, number>>;
  readonly alerts: Readonly<Record<string, number>>;
  /** Failed attaches by reason and message (policy refusals included). */
  readonly failures: Readonly<Record<string, number>>;
  /** First attach without a QKD key: when (ms after the first attach began) and what happened. */
  readonly pool_empty?: {
    readonly at_ms: number;
    /** Attaches that had completed before it (completion order). */
    readonly after_attaches: number;
    readonly policy: NoKeyPolicy;
    readonly took_over: string;
  };
  readonly rekey?: {
    readonly reauthenticated: number;
    readonly new_keys_distinct: boolean;
    readonly latency: LatencyStats;
  };
  /** Reauthentications driven by the SA key lifetime (the agents' own timers), when `lifetimeS` was set. */
  readonly lifetime?: {
    readonly lifetime_s: number;
    readonly attached: number;
    /** UEs that reauthenticated at least once on their lifetime. */
    readonly ues_rekeyed: number;
    readonly rounds: number;
    readonly failed: number;
    /** Every lifetime rekey drew a PPK_ID never used before (by any SA of the run). */
    readonly new_keys_distinct: boolean;
    readonly latency: LatencyStats;
    /** QKD key rate these UEs need at this lifetime: UEs × bits per SA / lifetime, bit/s. */
    readonly required_key_rate_bps: number;
    readonly wall_ms: number;
  };
  /** Blocks the feed delivered during the run (ms after the first attach began, bits). */
  readonly feed_blocks: readonly { readonly at_ms: number; readonly bits: number }[];
  readonly machine: {
    readonly loadavg_before: readonly number[];
    readonly loadavg_after: readonly number[];
    readonly cpu_ms: number;
    readonly wall_ms: number;
  };
}

/** Percentiles of latencies (nearest rank). */
export function latencyStats(ms: readonly number[]): LatencyStats {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  if (s.length === 0) return { n: 0, p50_ms: 0, p90_ms: 0, p95_ms: 0, p99_ms: 0, max_ms: 0 };
  return {
    n: s.length,
    p50_ms: r(nearestRank(s, 0.5)),
    p90_ms: r(nearestRank(s, 0.9)),
    p95_ms: r(nearestRank(s, 0.95)),
    p99_ms: r(nearestRank(s, 0.99)),
    max_ms: r(s.at(-1)!),
  };
}

const cpuMs = (u: NodeJS.CpuUsage) => Math.round((u.user + u.system) / 1000);

/** QKD key rate (bit/s) that sustains `attachesPerS` at `bitsPerAttach`. */
export function requiredKeyRate(attachesPerS: number, bitsPerAttach: number): number {
  return attachesPerS * bitsPerAttach;
}

/**
 * The lifetime phase: every UE attaches with key lifetime `o.lifetimeS`; nothing calls attach() again, so
 * each further SA comes from an agent's own timer. Waits until every attached UE has reauthenticated once
 * (or 2 × lifetime after the last attach), then detaches. Lifetime rounds are not added to `all` (the
 * attach-rate and latency figures stay those of attaches); their PPK_IDs are checked against all of it.
 */
async function lifetimePhase(
  rig: ScaleRig,
  o: ScaleBenchOptions,
  all: readonly AttachRecord[],
): Promise<NonNullable<ScaleReport['lifetime']>> {
  const lifetimeS = o.lifetimeS!;
  const ids = Array.from({ length: o.ues }, (_, i) => i);
  const n0 = rig.records.length;
  const t0 = rig.now();
  o.progress?.(0, 1, `lifetime ${lifetimeS} s: attach`);
  const first = await rig.attach(ids, o.policy, undefined, lifetimeS);
  const attached = first.filter((x) => x.ok).length;
  const rounds = () => rig.records.slice(n0).filter((x) => x.cause === 'lifetime');
  const rekeyed = () => new Set(rounds().map((x) => x.ue)).size;
  const until = rig.now() + 2 * lifetimeS * 1000;
  while (rekeyed() < attached && rig.now() < until) {
    o.progress?.(rekeyed(), attached, `lifetime ${lifetimeS} s: waiting for expiries`);
    await new Promise((res) => setTimeout(res, 250));
  }
  await rig.detachAll();
  const got = rounds();
  const ok = got.filter((x) => x.ok);
  const before = new Set([...all, ...first].map((x) => x.keyId).filter((k) => k !== undefined));
  const keys = ok.map((x) => x.keyId!);
  return {
    lifetime_s: lifetimeS,
    attached,
    ues_rekeyed: new Set(ok.map((x) => x.ue)).size,
    rounds: got.length,
    failed: got.length - ok.length,
    new_keys_distinct: new Set(keys).size === keys.length && keys.every((k) => !before.has(k)),
    latency: latencyStats(ok.map((x) => x.ms)),
    required_key_rate_bps: Math.round((attached * PPK_BITS) / lifetimeS),
    wall_ms: Math.round(rig.now() - t0),
  };
}

/** Runs the scale benchmark (root only); tears everything down whatever happens. */
export async function runScaleBench(o: ScaleBenchOptions): Promise<ScaleReport> {
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new RangeError(`runs must be ≥ 1, got ${o.runs}`);
  const loadBefore = os.loadavg();
  const cpu0 = process.cpuUsage();
  const rekeyKeys = (o.rekey ? o.ues : 0) + (o.lifetimeS !== undefined ? 3 * o.ues : 0);
  const rig = await startScaleRig({
    prefix: o.prefix,
    ...(o.dir ? { dir: o.dir } : {}),
    ues: o.ues,
    concurrency: o.concurrency,
    mode: o.mode,
    log: o.log,
    ...(o.alert ? { alert: o.alert } : {}),
    ...(o.feed ? { feed: o.feed } : {}),
    ...(o.metrics ? { metrics: o.metrics } : {}),
    standInKeys: o.ues * o.runs + rekeyKeys + o.concurrency + 16,
  });
  try {
    if (rig.metricsUrl) o.onMetrics?.(rig.metricsUrl);
    for (let i = 0; i < 6000 && rig.feedEvents.length < (o.waitForBlocks ?? 0); i++) {
      o.progress?.(0, 1, 'waiting for the link’s first block');
      await new Promise((res) => setTimeout(res, 100));
    }
    const ids = Array.from({ length: o.ues }, (_, i) => i);
    // warm-up, not counted: one attach per worker opens its KME (TLS), channel and VICI connections
    if (!o.feed) {
      o.progress?.(0, 1, 'warm-up');
      await rig.attach(ids.slice(0, o.concurrency), o.policy);
      await rig.detachAll();
    }
    const warmBits = rig.qkdBitsDrawn();
    const start = rig.now();
    const wall0 = Date.now();
    const runs: ScaleRun[] = [];
    const all: AttachRecord[] = [];
    const total = o.ues * o.runs + (o.rekey ? o.ues : 0);
    for (let r = 0; r < o.runs; r++) {
      const t = rig.now();
      const recs = await rig.attach(ids, o.policy, (d) =>
        o.progress?.(r * o.ues + d, total, `run ${r + 1}/${o.runs}`),
      );
      const wall = rig.now() - t;
      const ok = recs.filter((x) => x.ok).length;
      runs.push({
        attached: ok,
        refused: recs.length - ok,
        wall_ms: Math.round(wall),
        attaches_per_s: Math.round((ok / (wall / 1000)) * 100) / 100,
      });
      all.push(...recs);
      if (r < o.runs - 1 || !o.rekey) await rig.detachAll();
    }
    let rekey: ScaleReport['rekey'];
    if (o.rekey) {
      const before = new Map(all.slice(-o.ues).map((x) => [x.ue, x.keyId]));
      const recs = await rig.attach(ids, o.policy, (d) => o.progress?.(o.ues * o.runs + d, total, 'rekey'));
      const okRecs = recs.filter((x) => x.ok);
      const keys = okRecs.map((x) => x.keyId);
      rekey = {
        reauthenticated: okRecs.length,
        new_keys_distinct:
          new Set(keys).size === keys.length && okRecs.every((x) => x.keyId !== before.get(x.ue)),
        latency: latencyStats(okRecs.map((x) => x.ms)),
      };
      all.push(...recs);
      await rig.detachAll();
    }
    const drawn = rig.qkdBitsDrawn() - warmBits; // attaches and the explicit rekey, not the lifetime phase
    let lifetime: ScaleReport['lifetime'];
    if (o.lifetimeS !== undefined) lifetime = await lifetimePhase(rig, o, all);
    const okAll = all.filter((x) => x.ok);
    const attached = okAll.length;
    const rates = runs.map((x) => x.attaches_per_s);
    const rate =
      runs.length >= 2
        ? medianInterval(rates, { seed: o.seed ?? 'ipsec-scale', resamples: 10_000 })
        : { estimate: rates[0]!, lo: rates[0]!, hi: rates[0]! };
    const bitsPerAttach = attached > 0 ? drawn / attached : 0;
    const qkdSas = okAll.filter((x) => x.provenance !== undefined && x.provenance !== 'pqc').length;
    const bitsPerQkdSa = qkdSas > 0 ? drawn / qkdSas : 0;
    const provenance: Record<string, number> = {};
    for (const x of all) {
      const k = x.ok ? (x.provenance ?? 'none (psk only)') : `refused (${x.reason})`;
      provenance[k] = (provenance[k] ?? 0) + 1;
    }
    const failures: Record<string, number> = {};
    for (const x of all.filter((y) => !y.ok)) {
      const k = `${x.reason}: ${x.message ?? ''}`;
      failures[k] = (failures[k] ?? 0) + 1;
    }
    const alerts: Record<string, number> = {};
    for (const a of rig.alerts) alerts[a.kind] = (alerts[a.kind] ?? 0) + 1;
    const firstDry = all.find((x) => (x.ok && x.provenance === 'pqc') || (!x.ok && x.reason === 'no-key'));
    const report: ScaleReport = {
      ues: o.ues,
      concurrency: o.concurrency,
      mode: o.mode,
      policy: o.policy,
      runs: o.runs,
      link: rig.feed?.describe ?? '',
      ...(rig.feed?.keyRateBps !== undefined ? { link_key_rate_bps: rig.feed.keyRateBps } : {}),
      per_run: runs,
      attaches_per_s: rate,
      latency: latencyStats(okAll.map((x) => x.ms)),
      qkd_bits_drawn: drawn,
      qkd_bits_per_attach: Math.round(bitsPerAttach * 100) / 100,
      qkd_bits_per_qkd_sa: Math.round(bitsPerQkdSa * 100) / 100,
      required_key_rate_bps: Math.round(requiredKeyRate(median(rates), bitsPerQkdSa)),
      provenance,
      alerts,
      failures,
      ...(firstDry
        ? {
            pool_empty: {
              at_ms: Math.round(firstDry.startMs - start),
              after_attaches: all.indexOf(firstDry),
              policy: o.policy,
              took_over: firstDry.ok
                ? `${o.policy}: PPK from ML-KEM-768 (provenance pqc)`
                : `${o.policy}: no SA`,
            },
          }
        : {}),
      ...(rekey ? { rekey } : {}),
      ...(lifetime ? { lifetime } : {}),
      feed_blocks: rig.feedEvents.map((e) => ({ at_ms: Math.round(e.atMs - start), bits: e.bits })),
      machine: {
        loadavg_before: loadBefore.map((x) => Math.round(x * 100) / 100),
        loadavg_after: os.loadavg().map((x) => Math.round(x * 100) / 100),
        cpu_ms: cpuMs(process.cpuUsage(cpu0)),
        wall_ms: Date.now() - wall0,
      },
    };
    return report;
  } finally {
    await rig.close();
  }
}
