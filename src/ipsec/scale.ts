// @edge: many UEs attach through one N3IWF charon on the namespace testbed (`qkdnet ipsec bench --ues`)
/**
 * 5G non-3GPP access at scale (3GPP TS 23.501 §4.2.8: many UEs reach one N3IWF over untrusted access with
 * IKEv2/IPsec, TS 24.502). Topology: the two-namespace testbed (./testbed.ts) — **one UE namespace whose
 * charon carries N IKE identities** `ue-<i>.qkdnet.test`, one connection `ue-<i>` each, and its own inner
 * address 10.98.x.y/32 (its CHILD SA's traffic selector), against **one N3IWF charon** with one responder
 * connection that accepts any UE identity holding the PSK and narrows the UEs' inner range 10.98.0.0/16 to
 * each UE's /32. One namespace with many identities rather than N namespaces: N charons would measure
 * process count on 2 cores, not the N3IWF; the N3IWF sees N distinct IKE identities, IKE SAs and CHILD SAs
 * either way (all from one outer address, which IKEv2 allows: SAs are told apart by SPIs, RFC 7296 §2.6).
 *
 * Each UE has its own PPK agent (./ppk-initiator.ts) sharing the UE's ETSI 014 client; one N3IWF agent
 * (./ppk-responder.ts) serves them all. Every SA gets a fresh key from the KME, its key_ID becomes that
 * SA's PPK_ID (strongSwan is told exactly one PPK per connection; the N3IWF's log names the PPK_ID it used
 * for each IKE SA), and no key_ID is ever accepted twice (`usedPpkIds`, shared). A reauthentication draws a
 * new key. Attaches run `concurrency` at a time; each concurrent worker has its own VICI connection and
 * agent channel, because charon answers one connection's requests in order.
 *
 * Measured per attach: from the agent's KME request until VICI `initiate` returned with IKE and CHILD SA up
 * (the key's journey is inside). The run reports attaches per second over the attach phase's wall time,
 * latency percentiles, the QKD key bits drawn per attach and the key rate a link needs to sustain the
 * measured attach rate. When the pool empties, the policy decides (./exhaustion-policy.ts); the time of the
 * first attach without a QKD key and the provenance of every SA are recorded.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Alert, Provenance } from '../common/index.ts';
import { csprngBlockSource } from '../kms/index.ts';
import { CHILD_NAME, IKE_ID, PROPOSALS } from './connections.ts';
import type { NoKeyPolicy } from './exhaustion-policy.ts';
import type { KeySource } from './key-source.ts';
import { ML_KEM_768_PQC, startKmePair, type KmePair } from './kme-pair.ts';
import { NETNS_ADDR } from './netns.ts';
import { ChannelClient } from './peer-channel.ts';
import { SaLedger, type LedgerFile } from './sa-ledger.ts';
import { serveLedgerMetrics } from './sa-metrics.ts';
import { InitiatorAgent, type ActiveSa, type EstablishResult } from './ppk-initiator.ts';
import { startResponderAgent, type ResponderAgent } from './ppk-responder.ts';
import {
  echoThroughTunnel,
  initiate,
  listSas,
  startTestbed,
  terminateIke,
  type SaInfo,
  type Testbed,
} from './testbed.ts';
import type { ViciMessageIn } from './vici-codec.ts';
import { ViciClient } from './vici-client.ts';
import { makePrivateSubdir, makeWorkDir, writeNewFile } from './workdir.ts';
import { requireRoot } from './netns.ts';

/** Attach modes at scale: IKE with PSK and a QKD PPK per SA, or PSK alone (the baseline). */
export const SCALE_MODES = ['psk+qkd-ppk', 'psk'] as const;
/** One attach mode. */
export type ScaleMode = (typeof SCALE_MODES)[number];

/** PPK length drawn from the KME per SA (bits). */
export const PPK_BITS = 256;
/** The N3IWF's responder connection. */
export const N3IWF_CONN = 'n3iwf-ues';
/** The UEs' inner (tunnelled) range; UE i has 10.98.x.y with x·256 + y = i + 1. */
export const UE_INNER_RANGE = '10.98.0.0/16';
/** VICI `initiate` timeout per attach, ms. */
export const INITIATE_TIMEOUT_MS = 30_000;
/** Most UEs one rig holds (the inner /16 minus network and broadcast). */
export const MAX_UES = 65_000;

/** UE i's IKE identity, connection name and inner address. */
export function ueIdentity(i: number): { id: string; conn: string; inner: string } {
  if (!Number.isInteger(i) || i < 0 || i >= MAX_UES) throw new RangeError(`UE index ${i} out of range`);
  const k = i + 1;
  return { id: `ue-${i}.qkdnet.test`, conn: `ue-${i}`, inner: `10.98.${k >> 8}.${k & 255}` };
}

/**
 * One PSK-authenticated connection of the rig: no IKE or CHILD rekeying by charon (reauthentication with a
 * fresh PPK is the agents' job), `unique = never` (many identities, one outer address).
 */
function pskConn(c: {
  name: string;
  local: [addr: string, id: string, ts: string];
  remote: [addr: string, id: string, ts: string];
  ppk: { ppk_id?: string | undefined; ppk_required: boolean };
}): ViciMessageIn {
  return {
    [c.name]: {
      version: 2,
      local_addrs: [c.local[0]],
      remote_addrs: [c.remote[0]],
      proposals: [PROPOSALS.ike],
      rekey_time: 0,
      reauth_time: 0,
      unique: 'never',
      ...c.ppk,
      local: { auth: 'psk', id: c.local[1] },
      remote: { auth: 'psk', id: c.remote[1] },
      children: {
        [CHILD_NAME]: {
          local_ts: [c.local[2]],
          remote_ts: [c.remote[2]],
          esp_proposals: [PROPOSALS.esp],
          rekey_time: 0,
          start_action: 'none',
        },
      },
    },
  };
}

/** UE i's connection (initiator), with `ppkId` when the SA uses a PPK. */
export function ueConnMessage(i: number, ppkId: string | undefined): ViciMessageIn {
  const u = ueIdentity(i);
  return pskConn({
    name: u.conn,
    local: [NETNS_ADDR.ueOuter, u.id, `${u.inner}/32`],
    remote: [NETNS_ADDR.n3iwfOuter, IKE_ID.n3iwf, `${NETNS_ADDR.n3iwfInner}/32`],
    ppk: { ppk_id: ppkId, ppk_required: ppkId !== undefined },
  });
}

/** The N3IWF's one connection for every UE: any UE identity, PPK required (or not, for mode psk). */
export function n3iwfConnMessage(ppkRequired: boolean): ViciMessageIn {
  return pskConn({
    name: N3IWF_CONN,
    local: [NETNS_ADDR.n3iwfOuter, IKE_ID.n3iwf, `${NETNS_ADDR.n3iwfInner}/32`],
    remote: [NETNS_ADDR.ueOuter, '%any', UE_INNER_RANGE],
    ppk: { ppk_required: ppkRequired },
  });
}

/** What started a round: `attach()`, or the agent's timer when the SA's key lifetime ran out. */
export type AttachCause = 'attach' | 'lifetime';

/** One attach (or reauthentication) of one UE. */
export interface AttachRecord {
  readonly ue: number;
  readonly ok: boolean;
  /** `attach` (through `attach()`) or `lifetime` (the agent's timer when the key lifetime ran out). */
  readonly cause?: AttachCause;
  /** PPK_ID (= ETSI 014 key_ID, or the ML-KEM exchange's id) when ok with a PPK. */
  readonly keyId?: string;
  readonly provenance?: Provenance;
  /** KME request (or initiate, mode psk) → IKE + CHILD SA up, ms. */
  readonly ms: number;
  /** Start and end, ms since the rig started. */
  readonly startMs: number;
  readonly endMs: number;
  readonly ikeUniqueId?: string;
  /** Why not, when not ok. */
  readonly reason?: string;
  readonly message?: string;
}

/** A block of key the feed delivered (time since the rig started). */
export interface FeedEvent {
  readonly atMs: number;
  readonly bits: number;
}

/** What feeds the KMEs during the run. */
export interface KeyFeed {
  /** One line for reports: the link and its parameters. */
  readonly describe: string;
  /** The link's secret key rate in bit/s, when known. */
  readonly keyRateBps?: number | undefined;
  close(): Promise<void> | void;
}

/** Options of `startScaleRig`. */
export interface ScaleRigOptions {
  readonly prefix: string;
  /** Parent of the fresh private work directory; default the OS temp dir. */
  readonly dir?: string;
  /** UEs the rig is built for (identities, inner addresses, PSK owners). */
  readonly ues: number;
  /** Parallel attaches (each with its own VICI connection and agent channel). */
  readonly concurrency: number;
  readonly mode: ScaleMode;
  readonly log: Logger;
  /** Alerts of every UE agent (also kept in `rig.alerts`). */
  readonly alert?: (a: Alert) => void;
  /**
   * Starts the KMEs' feed; `delivered` reports each block. Default: the key manager's CSPRNG stand-in,
   * blocks of 65,536 bits up front, `standInKeys` keys' worth (default 2 × ues).
   */
  readonly feed?: (kmes: KmePair, delivered: (bits: number) => void) => KeyFeed | Promise<KeyFeed>;
  readonly standInKeys?: number;
  /**
   * Key lifetime of every UE's SA, seconds: after its first attach each UE's agent reauthenticates every
   * `lifetimeS` by its own timer, drawing a fresh key for a new IKE SA (recorded with cause `lifetime`).
   * Default: no timer, reauthentication only through `attach()`.
   */
  readonly lifetimeS?: number;
  /** Called after each lifetime-driven reauthentication. */
  readonly onLifetimeRound?: (r: AttachRecord) => void;
  /** Serve the ledger's metrics (./sa-metrics.ts) on `http://host:port/metrics` while the rig runs. */
  readonly metrics?: { readonly host: string; readonly port: number };
}

/** The running rig. */
export interface ScaleRig {
  readonly testbed: Testbed;
  readonly kmes: KmePair;
  readonly responder: ResponderAgent | undefined;
  readonly feed: KeyFeed | undefined;
  readonly records: AttachRecord[];
  readonly alerts: Alert[];
  readonly feedEvents: FeedEvent[];
  /** Every SA's PPK_ID and provenance, alerts by kind (also in `<workdir>/sas.json`). */
  ledger(): LedgerFile;
  /** QKD key bits the UE agents drew from the KME (every successful `enc_keys`, SA or not). */
  readonly qkdBitsDrawn: () => number;
  /**
   * Attaches (or reauthenticates) UEs `ids` under `policy`, `concurrency` at a time; records each.
   * `lifetimeS` overrides the rig's for the agents this call creates (UEs not attached since `detachAll`).
   */
  attach(
    ids: readonly number[],
    policy: NoKeyPolicy,
    progress?: (done: number) => void,
    lifetimeS?: number,
  ): Promise<AttachRecord[]>;
  /** Deletes every UE's SA (peer confirmed) and unloads its PPK on both sides; agents start afresh. */
  detachAll(): Promise<void>;
  /** Draws every key the UE's KME still has (they are dropped): the pool is empty afterwards. */
  drain(): Promise<number>;
  /** IKE SAs on both daemons. */
  sas(): Promise<{ ue: SaInfo[]; n3iwf: SaInfo[] }>;
  /** PPK_ID per IKE SA as the N3IWF's charon logged it ("using PPK for PPK_ID"), keyed by its unique id. */
  n3iwfPpkIds(): Map<string, string>;
  /** TCP echo from UE i's inner address to the N3IWF's through the tunnel. */
  traffic(i: number): Promise<boolean>;
  /** Milliseconds since the rig started. */
  now(): number;
  /** With `metrics`: the endpoint's URL. */
  readonly metricsUrl: string | undefined;
  close(): Promise<void>;
}

/** Builds the rig (root only); on failure everything created is removed before the error propagates. */
export async function startScaleRig(o: ScaleRigOptions): Promise<ScaleRig> {
  requireRoot('run the IPsec scale testbed');
  if (!Number.isInteger(o.ues) || o.ues < 1 || o.ues > MAX_UES)
    throw new RangeError(`ues must be an integer in [1, ${MAX_UES}], got ${o.ues}`);
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${o.concurrency}`);
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const dir = makeWorkDir(o.prefix, o.dir ?? tmpdir());
  const undo: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const u of undo.splice(0).reverse()) await Promise.resolve(u()).catch(() => undefined);
  };
  try {
    // every UE's inner address on the UE namespace's lo, in one batch, before charon starts: charon reads
    // the addresses present at start-up, while hundreds added later arrive as netlink events it may miss
    // (seen at 300 and 1,000 UEs: those UEs' CHILD SA routes then fail to install)
    const batch = Array.from({ length: o.ues }, (_, i) => `addr add ${ueIdentity(i).inner}/32 dev lo`).join(
      '\n',
    );
    const tb = await startTestbed(o.prefix, join(dir, 'net'), (pair) => ipBatch(pair.ue, batch));
    undo.push(() => tb.close());
    // as the harness does: `qkdnet ipsec down --prefix` can clean up after a killed run
    writeNewFile(
      join(dir, 'state.json'),
      JSON.stringify({
        owner: process.pid,
        prefix: o.prefix,
        charons: [tb.ue.charon.pid, tb.n3iwf.charon.pid],
      }),
    );
    const psk = randomBytes(32);
    const owners = [IKE_ID.n3iwf, ...Array.from({ length: o.ues }, (_, i) => ueIdentity(i).id)];
    for (const v of [tb.ue.vici, tb.n3iwf.vici])
      await v.call('load-shared', { id: 'psk-ues', type: 'IKE', data: psk, owners });
    psk.fill(0);
    const qkd = o.mode === 'psk+qkd-ppk';
    await tb.n3iwf.vici.call('load-conn', n3iwfConnMessage(qkd));
    const kmes = await startKmePair(makePrivateSubdir(join(dir, 'kms')));
    undo.push(() => kmes.close());
    const feedEvents: FeedEvent[] = [];
    const delivered = (bits: number) => feedEvents.push({ atMs: now(), bits });
    let feed: KeyFeed | undefined;
    if (o.feed) feed = await o.feed(kmes, delivered);
    else {
      const source = csprngBlockSource('link-ue-n3iwf', 65_536);
      const keys = o.standInKeys ?? 2 * o.ues;
      // the KMEs hand out about 100 keys of 256 bits per 65,536-bit block (measured; the existing
      // benchmark provisions the same): provision by that, not by the raw bit count
      for (let b = 0; b < Math.ceil(keys / 100) + 1; b++) {
        kmes.feed(source());
        delivered(65_536);
      }
      feed = { describe: 'CSPRNG stand-in (key manager), fed before the run', close: () => undefined };
    }
    undo.push(() => feed?.close());
    let drawnBits = 0;
    const counting: KeySource = {
      async newKey(sizeBits) {
        const r = await kmes.ueKeys.newKey(sizeBits);
        if (r.ok) drawnBits += r.value.key.length * 8;
        return r;
      },
      keyById: (id) => kmes.ueKeys.keyById(id),
    };
    const channelKey = randomBytes(32);
    let responder: ResponderAgent | undefined;
    if (qkd) {
      responder = await startResponderAgent({
        vici: tb.n3iwf.vici,
        keys: kmes.n3iwfKeys,
        channelKey,
        log: o.log.child({ agent: 'n3iwf' }),
        pqc: ML_KEM_768_PQC,
      });
      const r = responder;
      undo.push(() => r.close());
    }
    // one VICI connection and one agent channel per concurrent worker
    const vicis: ViciClient[] = [];
    const channels: ChannelClient[] = [];
    undo.push(() => {
      for (const c of channels) c.close();
      for (const v of vicis) v.close();
    });
    const base = Date.now() * 1000;
    for (let w = 0; w < o.concurrency; w++) {
      vicis.push(await connectRetrying(tb.ue.charon.viciPath));
      if (responder)
        channels.push(new ChannelClient(channelKey, '127.0.0.1', responder.port, base + w * 1e7));
    }
    const alerts: Alert[] = [];
    const records: AttachRecord[] = [];
    const ledger = new SaLedger(o.mode, dir); // `qkdnet ipsec status --prefix <prefix>` reads it while running
    undo.push(() => ledger.close());
    const metrics = await serveLedgerMetrics(ledger, o.metrics);
    if (metrics) undo.push(() => metrics.close());
    const used = new Set<string>();
    const pskSas: string[] = []; // mode psk: the IKE SAs to delete on detach
    const live = new Map<number, string>(); // UE → PPK_ID of its SA
    const agents = new Map<string, InitiatorAgent>(); // per UE and policy
    const timed = new Set<InitiatorAgent>(); // agents whose lifetime timer runs
    undo.push(async () => {
      for (const a of agents.values()) await a.stop().catch(() => undefined);
    });
    const agentFor = (
      i: number,
      w: number,
      policy: NoKeyPolicy,
      lifetimeS: number | undefined,
    ): InitiatorAgent => {
      const key = `${i}/${policy}`;
      let a = agents.get(key);
      if (!a) {
        a = new InitiatorAgent({
          vici: vicis[w]!,
          keys: counting,
          channel: channels[w]!,
          conn: { name: ueIdentity(i).conn, auth: 'psk' },
          connFor: (ppkId) => ueConnMessage(i, ppkId),
          childName: CHILD_NAME,
          // a loaded shared machine (load average 20–30 on 2 cores) can take seconds per exchange
          initiateTimeoutMs: INITIATE_TIMEOUT_MS,
          policy,
          pqc: ML_KEM_768_PQC,
          // without lifetimeS, reauthentication is driven by attach() alone
          lifetimeS: lifetimeS ?? 86_400,
          onRound: (r, cause) => {
            if (cause !== 'lifetime') return;
            const rec = recordRound(i, a!, now() - (r.ok ? r.value.elapsedMs : 0), r, 'lifetime');
            records.push(rec);
            o.onLifetimeRound?.(rec);
          },
          keyBits: PPK_BITS,
          log: o.log.child({ agent: ueIdentity(i).conn }),
          nodeId: ueIdentity(i).conn,
          alert: (al) => {
            alerts.push(al);
            ledger.alert(al);
            o.alert?.(al);
          },
          usedPpkIds: used,
        });
        agents.set(key, a);
      }
      return a;
    };
    // the record and ledger entry of one round, whoever started it (an attach, or the SA's key lifetime)
    const recordRound = (
      i: number,
      agent: InitiatorAgent,
      startMs: number,
      r: EstablishResult,
      cause: AttachCause,
    ): AttachRecord => {
      const endMs = now();
      const base = { ue: i, cause, startMs, endMs };
      if (!r.ok) {
        const stale = live.get(i);
        // fail-closed deletes an SA whose key lifetime ran out without a new key
        if (stale && agent.current?.keyId !== stale) (ledger.retired(stale), live.delete(i));
        return { ...base, ok: false, ms: endMs - startMs, reason: r.reason, message: r.message };
      }
      const sa: ActiveSa = r.value;
      const before = live.get(i);
      if (before) ledger.retired(before);
      live.set(i, sa.keyId);
      ledger.up(ueIdentity(i).conn, sa.ikeUniqueId, sa.keyId, sa.provenance);
      return {
        ...base,
        ok: true,
        keyId: sa.keyId,
        provenance: sa.provenance,
        ms: sa.elapsedMs,
        ikeUniqueId: sa.ikeUniqueId,
      };
    };
    const attachOne = async (
      i: number,
      w: number,
      policy: NoKeyPolicy,
      lifetimeS: number | undefined,
    ): Promise<AttachRecord> => {
      const startMs = now();
      if (!qkd) {
        await vicis[w]!.call('load-conn', ueConnMessage(i, undefined));
        const r = await initiate(vicis[w]!, ueIdentity(i).conn, INITIATE_TIMEOUT_MS);
        const endMs = now();
        if (r.ok) pskSas.push(r.value.ikeUniqueId);
        return r.ok
          ? { ue: i, ok: true, ms: endMs - startMs, startMs, endMs, ikeUniqueId: r.value.ikeUniqueId }
          : { ue: i, ok: false, ms: endMs - startMs, startMs, endMs, reason: r.reason, message: r.message };
      }
      const agent = agentFor(i, w, policy, lifetimeS);
      // with a lifetime, the first attach starts the agent's timer: it reauthenticates with a fresh key
      // every lifetimeS from then on, by itself
      const first = lifetimeS !== undefined && !timed.has(agent);
      if (first) timed.add(agent);
      return recordRound(i, agent, startMs, await (first ? agent.start() : agent.establish()), 'attach');
    };
    const rig: ScaleRig = {
      testbed: tb,
      kmes,
      responder,
      feed,
      records,
      alerts,
      feedEvents,
      qkdBitsDrawn: () => drawnBits,
      ledger: () => ledger.value,
      async attach(ids, policy, progress, lifetimeS = o.lifetimeS) {
        const out: AttachRecord[] = [];
        let next = 0;
        let done = 0;
        const worker = async (w: number) => {
          for (;;) {
            const k = next++;
            if (k >= ids.length) return;
            const rec = await attachOne(ids[k]!, w, policy, lifetimeS);
            out.push(rec);
            records.push(rec);
            progress?.(++done);
          }
        };
        await Promise.all(Array.from({ length: Math.min(o.concurrency, ids.length) }, (_, w) => worker(w)));
        return out;
      },
      async detachAll() {
        for (const a of agents.values()) await a.stop();
        agents.clear();
        timed.clear();
        for (const keyId of live.values()) ledger.retired(keyId);
        live.clear();
        for (const id of pskSas.splice(0)) await terminateIke(tb.ue.vici, id).catch(() => undefined);
      },
      async drain() {
        let n = 0;
        for (;;) {
          const r = await kmes.ueKeys.newKey(PPK_BITS);
          if (!r.ok) return n;
          r.value.key.fill(0);
          n++;
        }
      },
      async sas() {
        return { ue: await listSas(tb.ue.vici), n3iwf: await listSas(tb.n3iwf.vici) };
      },
      n3iwfPpkIds: () => ppkIdsFromLog(readFileSync(tb.n3iwf.charon.logPath, 'utf8')),
      traffic: (i) => echoThroughTunnel(tb.pair, ueIdentity(i).inner),
      now,
      metricsUrl: metrics ? metrics.url : undefined,
      close,
    };
    return rig;
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * PPK_ID per IKE SA from a charon log written with `ike_name = yes`: lines such as
 * `… [IKE] <n3iwf-ues|12> using PPK for PPK_ID '…'` (strongSwan 5.9.8 ikev2/tasks/ike_auth.c).
 */
export function ppkIdsFromLog(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/<[^|>]*\|(\d+)> using PPK for PPK_ID '([^']+)'/g)) out.set(m[1]!, m[2]!);
  return out;
}

/** charon's VICI socket has a short listen backlog: a burst of connects may see EAGAIN; retry briefly. */
async function connectRetrying(path: string): Promise<ViciClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ViciClient.connect(path);
    } catch (e) {
      if (attempt >= 20 || !/EAGAIN/.test((e as Error).message)) throw e;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

async function ipBatch(ns: string, commands: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn('ip', ['-n', ns, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch failed: ${err.trim()}`))));
    p.stdin.end(`${commands}\n`);
  });
}
