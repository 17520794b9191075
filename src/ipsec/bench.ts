// @edge: times IKEv2 SA establishment on real charons in namespaces (`qkdnet ipsec bench`)
/**
 * SA establishment time by authentication mode, on the testbed: from the VICI `initiate` until charon
 * reports IKE and CHILD SA up (initiate returns then), on the initiator. Modes: `cert-ecdsa` (P-256),
 * `cert-rsa3072`, `psk`, `psk+qkd-ppk` and `cert+qkd-ppk` (RFC 8784 PPK from the KME), `qkd-psk` (the
 * QKD key as the IKE PSK). QKD modes run twice: with the key's journey inside the timed window (ETSI 014
 * `enc_keys` at the UE's KME, the key_ID over the agents' channel, `dec_keys` at the N3IWF's KME, both
 * `load-shared`, the connection reloaded with the new `ppk_id`) and with it done beforehand. The same
 * suite (aes256gcm16-prfsha256-x25519) everywhere, so modes differ in authentication only. Runs are
 * interleaved — each round runs every mode once — so drift of a shared machine hits all modes alike;
 * two warm-up runs per mode are discarded. Each run ends with the IKE SA deleted and confirmed.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { QkdnetError, type FinalKeyBlock } from '../common/index.ts';
import { csprngBlockSource } from '../kms/index.ts';
import { summarize, type ModeStats } from './bench-stats.ts';
import { medianInterval, medianRatioInterval, significant, type Interval } from './bootstrap.ts';
import { connMessage, ppkMessage, ppkSecretId, pskMessage } from './connections.ts';
import { ensureCerts, loadCerts, type CertSet } from './creds.ts';
import { startKmePair } from './kme-pair.ts';
import type { KeySource } from './key-source.ts';
import { makePrivateSubdir, makeWorkDir } from './workdir.ts';
import { requireRoot } from './netns.ts';
import { ChannelClient } from './peer-channel.ts';
import { loadPpkAndConn } from './ppk-initiator.ts';
import { qkdPskMessage, startResponderAgent } from './ppk-responder.ts';
import { initiate, listSas, startTestbed, terminateIke, type Testbed } from './testbed.ts';

/** The modes, in the order the report lists them. */
export const BENCH_MODES = [
  'cert-ecdsa',
  'cert-rsa3072',
  'psk',
  'psk+qkd-ppk',
  'cert+qkd-ppk',
  'qkd-psk',
] as const;
/** One benchmark mode. */
export type BenchMode = (typeof BENCH_MODES)[number];

/** The benchmark result (JSON shape of the issue). */
export interface BenchReport {
  readonly runs: number;
  readonly modes: readonly ModeStats[];
  /**
   * Where the time of the QKD modes with the fetch goes: the key's journey alone (enc_keys, key_ID to the
   * peer agent, dec_keys, both load-shared, conn reload), summarised like `modes`. Not part of the CLI JSON.
   */
  readonly keyJourney?: readonly ModeStats[];
  /** Of that journey, over all fetch runs: the master's `enc_keys` alone, and the rest (channel, dec_keys, loads). */
  readonly fetchBreakdown?: readonly ModeStats[];
  /** Per row: the median with its 95% bootstrap interval (./bootstrap.ts). */
  readonly intervals?: readonly RowInterval[];
  /** Per unordered pair of rows (in row order): ratio of medians a/b with its 95% bootstrap interval; significant when it excludes 1. */
  readonly ratios?: readonly RatioInterval[];
}

/** A row's median and interval. */
export interface RowInterval extends Interval {
  readonly mode: string;
  readonly fetch_in_window: boolean;
}

/** The ratio of two rows' medians with its interval. */
export interface RatioInterval extends Interval {
  readonly a: string;
  readonly b: string;
  readonly significant: boolean;
}

/** Label of a row in ratio listings: the mode, `+fetch` when the key's journey is in the window. */
export const rowLabel = (mode: string, fetch: boolean): string => (fetch ? `${mode} (fetch)` : mode);

/** Bootstrap intervals of every row's median and of every pair's ratio of medians (seeded). */
export function benchIntervals(
  rows: readonly { mode: string; fetch: boolean; samples: readonly number[] }[],
  seed: string,
  resamples = 10_000,
): { intervals: RowInterval[]; ratios: RatioInterval[] } {
  const intervals = rows.map((r) => ({
    mode: r.mode,
    fetch_in_window: r.fetch,
    ...medianInterval(r.samples, { seed: `${seed}:${rowLabel(r.mode, r.fetch)}`, resamples }),
  }));
  const ratios: RatioInterval[] = [];
  for (let i = 0; i < rows.length; i++)
    for (let j = i + 1; j < rows.length; j++) {
      const [a, b] = [rows[i]!, rows[j]!];
      const [la, lb] = [rowLabel(a.mode, a.fetch), rowLabel(b.mode, b.fetch)];
      const iv = medianRatioInterval(a.samples, b.samples, { seed: `${seed}:${la}/${lb}`, resamples });
      ratios.push({ a: la, b: lb, ...iv, significant: significant(iv) });
    }
  return { intervals, ratios };
}

/** The key managers a benchmark uses: the agents' key sources, the link's feed, and shutdown. */
export interface BenchKmes {
  /** The UE agent's source (master: `enc_keys` naming sae-n3iwf). */
  readonly ueKeys: KeySource;
  /** The N3IWF agent's source (slave: `dec_keys` naming sae-ue). */
  readonly n3iwfKeys: KeySource;
  /** Delivers one block of the link to both KMEs (resolves once both can serve it). */
  feed(block: FinalKeyBlock): void | Promise<void>;
  close(): Promise<void>;
}

/** Options of `runIpsecBench`. */
export interface BenchOptions {
  readonly runs: number;
  readonly prefix?: string;
  /** Parent of the fresh private work directory (./workdir.ts); default the OS temp dir. */
  readonly dir?: string;
  readonly log: Logger;
  /** Called after every timed run with (done, total). */
  readonly progress?: (done: number, total: number) => void;
  /** Only these modes (default all). */
  readonly modes?: readonly BenchMode[];
  /** Seed of the bootstrap resampling (default fixed). */
  readonly seed?: string;
  /**
   * Starts the two KMEs in `dir` (a fresh private directory). Default: both in this process
   * (./kme-pair.ts); the CLI runs each in its own OS process, as on two sites (src/server).
   */
  readonly kmes?: (dir: string) => Promise<BenchKmes>;
}

interface Row {
  readonly mode: BenchMode;
  readonly fetch: boolean;
}

const CONN = 'bench';
/** Pause before each timed run, so TLS, GC and charon's background work of the previous step settle. */
const SETTLE_MS = 20;
const isQkd = (m: BenchMode) => m === 'psk+qkd-ppk' || m === 'cert+qkd-ppk' || m === 'qkd-psk';

/** The rows measured: every mode, and the QKD modes with and without the fetch in the window. */
export function benchRows(modes: readonly BenchMode[] = BENCH_MODES): Row[] {
  return BENCH_MODES.filter((m) => modes.includes(m)).flatMap((mode): Row[] =>
    isQkd(mode)
      ? [
          { mode, fetch: true },
          { mode, fetch: false },
        ]
      : [{ mode, fetch: false }],
  );
}

/** Runs the benchmark (root only); tears the testbed down whatever happens. */
export async function runIpsecBench(o: BenchOptions): Promise<BenchReport> {
  requireRoot('run the IPsec benchmark');
  if (!Number.isInteger(o.runs) || o.runs < 1)
    throw new RangeError(`runs must be a positive integer, got ${o.runs}`);
  const prefix = o.prefix ?? 'qkbench';
  const dir = makeWorkDir(prefix, o.dir ?? tmpdir());
  const rows = benchRows(o.modes);
  if (rows.length === 0) throw new RangeError('no benchmark mode selected');
  let tb: Testbed;
  try {
    tb = await startTestbed(prefix, join(dir, 'net'));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let kmes: BenchKmes | undefined;
  let channel: ChannelClient | undefined;
  let closeResponder: (() => Promise<void>) | undefined;
  try {
    const certs = { ecdsa: await ensureCerts(dir, 'ecdsa'), rsa3072: await ensureCerts(dir, 'rsa3072') };
    for (const set of [certs.ecdsa, certs.rsa3072]) {
      await loadCerts(tb.ue.vici, set, 'ue');
      await loadCerts(tb.n3iwf.vici, set, 'n3iwf');
    }
    kmes = await (o.kmes ?? startKmePair)(makePrivateSubdir(join(dir, 'kms')));
    const source = csprngBlockSource('link-bench', 65_536);
    const qkdRows = rows.filter((r) => isQkd(r.mode)).length;
    for (let i = 0; i < Math.ceil(((o.runs + 2) * qkdRows) / 100) + 1; i++) await kmes.feed(source());
    const channelKey = randomBytes(32);
    const responder = await startResponderAgent({
      vici: tb.n3iwf.vici,
      keys: kmes.n3iwfKeys,
      channelKey,
      log: o.log,
    });
    closeResponder = () => responder.close();
    channel = new ChannelClient(channelKey, '127.0.0.1', responder.port);
    const ctx: Ctx = { tb, kmes, channel, certs, psk: randomBytes(32) };
    const samples = new Map<Row, number[]>(rows.map((r) => [r, []]));
    const journeys = new Map<Row, number[]>(rows.filter((r) => r.fetch).map((r) => [r, []]));
    const encMs: number[] = [];
    const restMs: number[] = [];
    const rounds = o.runs; // one run of every mode per round: drift of a shared machine hits all modes alike
    const total = o.runs * rows.length;
    let done = 0;
    for (let round = 0; round < rounds; round++) {
      const n = Math.floor(o.runs / rounds) + (round < o.runs % rounds ? 1 : 0);
      for (const row of rows) {
        await configure(ctx, row.mode);
        for (let i = 0; i < n + (round === 0 ? 2 : 0); i++) {
          const { ms, journeyMs, encKeysMs } = await oneRun(ctx, row);
          if (round > 0 || i >= 2) {
            samples.get(row)!.push(ms);
            if (row.fetch) {
              journeys.get(row)!.push(journeyMs);
              encMs.push(encKeysMs);
              restMs.push(journeyMs - encKeysMs);
            }
            o.progress?.(++done, total);
          }
        }
      }
    }
    return {
      runs: o.runs,
      modes: rows.map((r) => summarize(r.mode, r.fetch, samples.get(r)!)),
      keyJourney: [...journeys].map(([r, xs]) => summarize(r.mode, true, xs)),
      ...(encMs.length > 0
        ? {
            fetchBreakdown: [
              summarize('enc_keys', true, encMs),
              summarize('channel+dec_keys+loads', true, restMs),
            ],
          }
        : {}),
      ...benchIntervals(
        rows.map((r) => ({ mode: r.mode, fetch: r.fetch, samples: samples.get(r)! })),
        o.seed ?? 'ipsec-bench',
      ),
    };
  } finally {
    channel?.close();
    await closeResponder?.().catch(() => undefined);
    await kmes?.close().catch(() => undefined);
    await tb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Ctx {
  readonly tb: Testbed;
  readonly kmes: BenchKmes;
  readonly channel: ChannelClient;
  readonly certs: { readonly ecdsa: CertSet; readonly rsa3072: CertSet };
  readonly psk: Buffer;
}

/** Loads both sides' connection (and the static PSK when the mode uses it) for `mode`. */
async function configure(c: Ctx, mode: BenchMode): Promise<void> {
  const cert = mode === 'cert-rsa3072' ? c.certs.rsa3072 : c.certs.ecdsa;
  const auth = mode.startsWith('cert') ? 'pubkey' : 'psk';
  const ppkRequired = mode.endsWith('qkd-ppk');
  for (const [ep, role, side] of [
    [c.tb.ue, 'initiator', 'ue'],
    [c.tb.n3iwf, 'responder', 'n3iwf'],
  ] as const) {
    if (mode === 'qkd-psk') await ep.vici.request('unload-shared', { id: 'psk-static' });
    else await ep.vici.call('load-shared', pskMessage('psk-static', c.psk));
    await ep.vici.call(
      'load-conn',
      connMessage({
        name: CONN,
        role,
        auth,
        ppkRequired,
        ...(auth === 'pubkey' ? { certPem: cert[side].certPem } : {}),
      }),
    );
  }
}

/** Brings the mode's QKD key to both daemons: fetch, key_ID to the peer agent, load, reload the conn. */
async function placeKey(c: Ctx, mode: BenchMode): Promise<{ keyId: string; encKeysMs: number }> {
  const t0 = performance.now();
  const r = await c.kmes.ueKeys.newKey(256);
  const encKeysMs = performance.now() - t0;
  if (!r.ok) throw new QkdnetError('IPSEC_UNAVAILABLE', `bench: no key from the UE's KME: ${r.message}`);
  const { keyId, key } = r.value;
  const asPsk = mode === 'qkd-psk';
  const local = async () => {
    const auth = mode === 'cert+qkd-ppk' ? 'pubkey' : 'psk';
    const certPem = auth === 'pubkey' ? c.certs.ecdsa.ue.certPem : undefined;
    const spec = { name: CONN, role: 'initiator', auth, ppkId: keyId, ppkRequired: true } as const;
    await loadPpkAndConn(
      c.tb.ue.vici,
      asPsk ? qkdPskMessage(keyId, key) : ppkMessage(keyId, key),
      key,
      asPsk ? undefined : connMessage({ ...spec, ...(certPem ? { certPem } : {}) }),
    );
  };
  // as the agent does: the peer fetches and loads its copy while this side loads its own
  const [answer] = await Promise.all([c.channel.request({ type: asPsk ? 'psk' : 'ppk', keyId }), local()]);
  if (answer.ok !== true)
    throw new QkdnetError(
      'IPSEC_UNAVAILABLE',
      `bench: N3IWF agent refused ${keyId}: ${String(answer.reason)}`,
    );
  return { keyId, encKeysMs };
}

/** One timed SA establishment; the SA is deleted (peer confirmed) and any QKD key unloaded afterwards. */
async function oneRun(c: Ctx, row: Row): Promise<{ ms: number; journeyMs: number; encKeysMs: number }> {
  const qkd = isQkd(row.mode);
  let keyId: string | undefined;
  if (qkd && !row.fetch) keyId = (await placeKey(c, row.mode)).keyId;
  // every mode starts from a quiet moment: the previous teardown (and a key placed "beforehand") settled
  await new Promise((res) => setTimeout(res, SETTLE_MS));
  const t0 = performance.now();
  let encKeysMs = 0;
  if (qkd && row.fetch) ({ keyId, encKeysMs } = await placeKey(c, row.mode));
  const journeyMs = performance.now() - t0;
  const r = await initiate(c.tb.ue.vici, CONN);
  const ms = performance.now() - t0;
  if (!r.ok)
    throw new QkdnetError('IPSEC_UNAVAILABLE', `bench ${row.mode}: SA failed: ${r.reason}: ${r.message}`);
  await terminateIke(c.tb.ue.vici, r.value.ikeUniqueId);
  for (let i = 0; i < 50 && (await listSas(c.tb.n3iwf.vici)).length > 0; i++)
    await new Promise((res) => setTimeout(res, 10));
  if (keyId) {
    await c.tb.ue.vici.request('unload-shared', { id: ppkSecretId(keyId) });
    await c.channel.request({ type: 'release', keyId });
  }
  return { ms, journeyMs, encKeysMs };
}
