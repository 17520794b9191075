// @edge: the `qkdnet ipsec up/down` harness: namespaces, daemons, KMEs, agents, proof of traffic
/**
 * The whole 5G non-3GPP scenario on one machine: UE and N3IWF namespaces with a charon each
 * (testbed.ts), the two KMEs fed by a QKD link (kme-pair.ts), the N3IWF's agent listening on the
 * authenticated channel and the UE's agent rotating PPKs every `lifetimeS`. `startHarness` returns once
 * the first SA is up, `ppk = yes` has been read back over VICI on both daemons and a TCP echo crossed the
 * tunnel — or it tears everything down and throws. Everything lives in a fresh private work directory
 * (./workdir.ts); `sas.json` there is the ledger of every SA's PPK and its provenance (./sa-ledger.ts,
 * read by `qkdnet ipsec status`); its state file (`state.json`) lets `harnessDown(prefix)` clean up after a process that
 * died without its `finally`.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { QkdnetError, type Alert, type FinalKeyBlock } from '../common/index.ts';
import { csprngBlockSource } from '../kms/index.ts';
import { loggerAlertSink, type AlertSink } from './alerts.ts';
import { stopPid } from './charon.ts';
import { connMessage, pskMessage } from './connections.ts';
import { ensureCerts, loadCerts } from './creds.ts';
import { ML_KEM_768_PQC, startKmePair, type KmePair } from './kme-pair.ts';
import { deleteNamespace, listNamespaces, requireRoot } from './netns.ts';
import { ChannelClient } from './peer-channel.ts';
import { SaLedger } from './sa-ledger.ts';
import { serveLedgerMetrics } from './sa-metrics.ts';
import { InitiatorAgent, type ActiveSa, type EstablishResult, type NoKeyPolicy } from './ppk-initiator.ts';
import { startResponderAgent, type ResponderAgent } from './ppk-responder.ts';
import { echoThroughTunnel, listSas, startTestbed, type SaInfo, type Testbed } from './testbed.ts';
import { findWorkDirs, makePrivateSubdir, makeWorkDir, writeNewFile } from './workdir.ts';

/** Options of `startHarness`. */
export interface HarnessOptions {
  /** Namespace prefix (`<prefix>-ue`, `<prefix>-n3iwf`); default `qkdnet`. */
  readonly prefix?: string;
  /**
   * Parent of the work directory (default the OS temp dir). The work directory itself is always a fresh
   * `mkdtemp` directory `<parent>/qkdnet-ipsec-<prefix>-XXXXXX`, mode 0700 (./workdir.ts).
   */
  readonly dir?: string;
  readonly policy?: NoKeyPolicy;
  /** Seconds between PPK rotations; default 60. */
  readonly lifetimeS?: number;
  /** IKE authentication beside the PPK: a random PSK or ECDSA certificates. Default psk. */
  readonly auth?: 'psk' | 'cert';
  /** Blocks of the QKD link; default the key manager's stand-in link (CSPRNG, identical at both ends). */
  readonly blockSource?: () => FinalKeyBlock | undefined;
  /** The agents' SAEs are test SAEs (needed for `simulated-deterministic` blocks). Default false. */
  readonly testSaes?: boolean;
  /** Blocks delivered before the first SA (default 4) and then every `feedIntervalMs` (0: never). */
  readonly initialBlocks?: number;
  readonly feedIntervalMs?: number;
  readonly log: Logger;
  readonly alert?: AlertSink;
  /** Called after every PPK round of the UE's agent (first SA and each rotation). */
  readonly onRound?: (r: EstablishResult) => void;
  /** Progress callback (one line per step). */
  readonly step?: (what: string) => void;
  /** Serve the SA ledger's metrics (./sa-metrics.ts) on `http://host:port/metrics` while up. */
  readonly metrics?: { readonly host: string; readonly port: number };
}

/** What `status()` reports: the proof that the tunnel works and is PPK-protected. */
export interface HarnessStatus {
  readonly namespaces: readonly [string, string];
  readonly ue: readonly SaInfo[];
  readonly n3iwf: readonly SaInfo[];
  /** `ppk = yes` on every established IKE SA of both daemons (and there is at least one). */
  readonly ppk: boolean;
  readonly traffic: boolean;
  readonly current: ActiveSa | undefined;
  readonly alerts: number;
}

/** A running harness. */
export interface Harness {
  readonly testbed: Testbed;
  readonly kmes: KmePair;
  readonly agent: InitiatorAgent;
  readonly responder: ResponderAgent;
  readonly alerts: readonly Alert[];
  /** With `metrics`: the endpoint's URL. */
  readonly metricsUrl: string | undefined;
  status(): Promise<HarnessStatus>;
  /** Tears everything down (agents, daemons, namespaces, KMEs, files). Idempotent. */
  close(): Promise<void>;
}

const CONN = 'n3gpp-ppk';

/** Brings the scenario up (root only). */
export async function startHarness(o: HarnessOptions): Promise<Harness> {
  requireRoot('start the IPsec harness');
  const prefix = o.prefix ?? 'qkdnet';
  const dir = makeWorkDir(prefix, o.dir ?? tmpdir());
  const step = o.step ?? (() => undefined);
  const alerts: Alert[] = [];
  const sink = o.alert ?? loggerAlertSink(o.log);
  let ledger: SaLedger | undefined;
  const alert: AlertSink = (a) => (alerts.push(a), ledger?.alert(a), sink(a));
  const undo: (() => Promise<void>)[] = [];
  let timer: NodeJS.Timeout | undefined;
  const close = async () => {
    clearInterval(timer);
    for (const f of undo.splice(0).reverse()) await f().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    step(`namespaces ${prefix}-ue and ${prefix}-n3iwf, veth, charon with kernel-libipsec in each`);
    const tb = await startTestbed(prefix, join(dir, 'net'));
    undo.push(() => tb.close());
    writeNewFile(
      join(dir, 'state.json'),
      JSON.stringify({ owner: process.pid, prefix, charons: [tb.ue.charon.pid, tb.n3iwf.charon.pid] }),
    );
    ledger = new SaLedger(o.policy ?? 'fail-closed', dir);
    const book = ledger;
    undo.push(async () => book.close());
    const metrics = await serveLedgerMetrics(book, o.metrics);
    if (metrics) undo.push(() => metrics.close());
    step('key managers kme-ue and kme-n3iwf (ETSI GS QKD 014 over mutual TLS) fed by the QKD link');
    const kmes = await startKmePair(makePrivateSubdir(join(dir, 'kms')), { testSaes: o.testSaes === true });
    undo.push(() => kmes.close());
    const source = o.blockSource ?? csprngBlockSource('link-ue-n3iwf', 65_536);
    const feed = () => {
      const block = source(); // undefined: the block gave no secret key (e.g. an estimate failed)
      if (block) kmes.feed(block);
    };
    for (let i = 0; i < (o.initialBlocks ?? 4); i++) feed();
    if ((o.feedIntervalMs ?? 0) > 0) timer = setInterval(feed, o.feedIntervalMs);
    step(`IKE authentication: ${o.auth ?? 'psk'}; connections with ppk_required on both sides`);
    const auth = o.auth === 'cert' ? 'pubkey' : 'psk';
    let certPem: string | undefined;
    if (o.auth === 'cert') {
      const certs = await ensureCerts(dir, 'ecdsa');
      await loadCerts(tb.ue.vici, certs, 'ue');
      await loadCerts(tb.n3iwf.vici, certs, 'n3iwf');
      certPem = certs.ue.certPem;
      const responderConn = connMessage({
        name: CONN,
        role: 'responder',
        auth,
        certPem: certs.n3iwf.certPem,
        ppkRequired: true,
      });
      await tb.n3iwf.vici.call('load-conn', responderConn);
    } else {
      const psk = randomBytes(32);
      await tb.ue.vici.call('load-shared', pskMessage('psk-ike', psk));
      await tb.n3iwf.vici.call('load-shared', pskMessage('psk-ike', psk));
      psk.fill(0);
      await tb.n3iwf.vici.call(
        'load-conn',
        connMessage({ name: CONN, role: 'responder', auth, ppkRequired: true }),
      );
    }
    step('PPK agents: N3IWF (slave SAE) on an HMAC-authenticated channel, UE (master SAE) initiating');
    const channelKey = randomBytes(32);
    const policy = o.policy ?? 'fail-closed';
    const responder = await startResponderAgent({
      vici: tb.n3iwf.vici,
      keys: kmes.n3iwfKeys,
      channelKey,
      log: o.log.child({ agent: 'n3iwf' }),
      ...(policy !== 'fail-closed' ? { pqc: ML_KEM_768_PQC } : {}),
    });
    undo.push(() => responder.close());
    const channel = new ChannelClient(channelKey, '127.0.0.1', responder.port);
    undo.push(async () => channel.close());
    const agent = new InitiatorAgent({
      vici: tb.ue.vici,
      keys: kmes.ueKeys,
      channel,
      conn: { name: CONN, auth, ...(certPem ? { certPem } : {}) },
      policy,
      ...(policy !== 'fail-closed' ? { pqc: ML_KEM_768_PQC } : {}),
      lifetimeS: o.lifetimeS ?? 60,
      log: o.log.child({ agent: 'ue' }),
      alert,
      onRound: (r) => {
        // the ledger (`qkdnet ipsec status`): the new SA and its PPK's provenance; the replaced one retired
        if (r.ok) {
          if (lastKey) book.retired(lastKey);
          book.up(CONN, r.value.ikeUniqueId, r.value.keyId, r.value.provenance);
          lastKey = r.value.keyId;
        } else if (!agent.current && lastKey) {
          book.retired(lastKey);
          lastKey = undefined;
        }
        o.onRound?.(r);
      },
    });
    let lastKey: string | undefined;
    undo.push(() => agent.stop());
    const first = await agent.start();
    if (!first.ok)
      throw new QkdnetError(
        'IPSEC_UNAVAILABLE',
        `No SA between UE and N3IWF: ${first.reason}: ${first.message}`,
      );
    const status = async (): Promise<HarnessStatus> => {
      const ue = await listSas(tb.ue.vici);
      const n3iwf = await listSas(tb.n3iwf.vici);
      const up = [...ue, ...n3iwf].filter((s) => s.state === 'ESTABLISHED');
      return {
        namespaces: [tb.pair.ue, tb.pair.n3iwf],
        ue,
        n3iwf,
        ppk: up.length >= 2 && up.every((s) => s.ppk),
        traffic: await echoThroughTunnel(tb.pair),
        current: agent.current,
        alerts: alerts.length,
      };
    };
    step('proof: ppk = yes over VICI on both daemons, TCP echo 10.99.0.65 → 10.99.0.97 through the tunnel');
    const s = await status();
    if (!s.ppk || !s.traffic)
      throw new QkdnetError(
        'IPSEC_UNAVAILABLE',
        `Tunnel check failed: ppk=${s.ppk ? 'yes' : 'no'}, traffic=${s.traffic ? 'yes' : 'no'}`,
      );
    const metricsUrl = metrics ? metrics.url : undefined;
    return { testbed: tb, kmes, agent, responder, alerts, metricsUrl, status, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** True when `/proc/<pid>/cmdline` mentions `needle` (Linux; the harness is Linux-only). */
function runs(pid: number, needle: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
  } catch {
    return false;
  }
}

/** The state file of a work directory, if it is a regular file of this user (never through a symlink). */
function readState(dir: string): { owner?: number; charons?: number[] } | undefined {
  const path = join(dir, 'state.json');
  try {
    const st = lstatSync(path);
    if (!st.isFile() || st.uid !== (process.getuid?.() ?? 0)) return undefined;
    return JSON.parse(readFileSync(path, 'utf8')) as { owner?: number; charons?: number[] };
  } catch {
    return undefined;
  }
}

/**
 * Removes what a harness with `prefix` left behind (a killed `ipsec up`): stops its owner process and
 * daemons, deletes the namespaces and its work directories in `parent` (default the OS temp dir) — only
 * private directories of this user (./workdir.ts `findWorkDirs`); anything else there is left alone.
 * Returns what it removed.
 */
export async function harnessDown(prefix = 'qkdnet', parent: string = tmpdir()): Promise<string[]> {
  requireRoot('tear down the IPsec harness');
  const removed: string[] = [];
  for (const dir of findWorkDirs(prefix, parent)) {
    const s = readState(dir);
    // a recycled PID must not be killed: check what runs under it first
    if (s?.owner && s.owner !== process.pid && runs(s.owner, 'ipsec') && (await stopPid(s.owner)))
      removed.push(`process ${s.owner}`);
    for (const pid of s?.charons ?? [])
      if (runs(pid, 'charon') && (await stopPid(pid))) removed.push(`charon ${pid}`);
  }
  for (const ns of await listNamespaces(`${prefix}-`)) {
    if (ns !== `${prefix}-ue` && ns !== `${prefix}-n3iwf`) continue;
    await deleteNamespace(ns);
    removed.push(`namespace ${ns}`);
  }
  for (const dir of findWorkDirs(prefix, parent)) {
    rmSync(dir, { recursive: true, force: true });
    removed.push(`directory ${dir}`);
  }
  return removed;
}
