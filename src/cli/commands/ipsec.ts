/**
 * `qkdnet ipsec` — QKD keys into real strongSwan IKEv2 as RFC 8784 PPKs (docs/ipsec.md):
 * `up` brings up the UE/N3IWF namespaces, charons, KMEs and PPK agents and proves the tunnel; `down`
 * removes what a killed `up` left behind; `bench` times SA set-up by authentication mode. Root only.
 */
import type { Command } from 'commander';
import pino from 'pino';
import { randomUUID } from 'node:crypto';
import { QkdnetError, type FinalKeyBlock } from '../../common/index.ts';
import { FileSink } from '../../detect/index.ts';
import { PRESETS, type LinkParams } from '../../physics/index.ts';
import { distillBlock, linkAuthBootstrap, type KeyMode } from '../../postprocess/index.ts';
import {
  AGENT_LOG_REDACT,
  harnessDown,
  medianRatio,
  PUBLISHED,
  requireRoot,
  runIpsecBench,
  runScaleBench,
  BENCH_MODES,
  MAX_UES,
  SCALE_MODES,
  type BenchMode,
  type ScaleMode,
  startHarness,
  readRunStatus,
  ledgerRegistry,
  type BenchReport,
  type HarnessStatus,
  type NoKeyPolicy,
  isNoKeyPolicy,
  type SaInfo,
  readChannelKey,
  readConnTemplate,
  startAgentService,
  type EstablishResult,
  detectAlertSink,
} from '../../ipsec/index.ts';
import { eventLevelFeed, intervalTable, scaleTable } from './ipsec-scale.ts';
import { startKmeSites } from '../../server/index.ts';
import { formatTable, parseFormat, parseKmeUrls, parseNumber, ProgressBar, UsageError } from '../util.ts';

const PREFIX = /^[a-z0-9-]{1,20}$/;

function prefixOf(p: string): string {
  if (!PREFIX.test(p)) throw new UsageError(`--prefix: "${p}" must be 1–20 of a-z 0-9 -`);
  return p;
}

function logger(level: string): pino.Logger {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'];
  if (!levels.includes(level))
    throw new UsageError(`--log-level: "${level}" is not one of ${levels.join(', ')}`);
  return pino({ name: 'ipsec', level, redact: AGENT_LOG_REDACT }, pino.destination(2));
}

function printStatus(s: HarnessStatus, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  const rows: [string, SaInfo][] = [
    ...s.ue.map((x): [string, SaInfo] => ['UE', x]),
    ...s.n3iwf.map((x): [string, SaInfo] => ['N3IWF', x]),
  ];
  process.stdout.write(
    `${formatTable(
      ['side', 'conn', 'IKE SA', 'state', 'ppk', 'CHILD SAs'],
      rows.map(([side, x]) => [
        side,
        x.conn,
        x.uniqueId,
        x.state,
        x.ppk ? 'yes' : 'no',
        x.children.map((c) => `${c.name}:${c.state}`).join(' '),
      ]),
    )}\n` +
      `PPK_ID (ETSI 014 key_ID): ${s.current?.keyId ?? '-'}  provenance: ${s.current?.provenance ?? '-'}\n` +
      `ppk = yes on both daemons: ${s.ppk ? 'yes' : 'NO'}; TCP echo 10.99.0.65 → 10.99.0.97 through the tunnel: ${s.traffic ? 'yes' : 'NO'}\n`,
  );
}

function untilSignalOr(ms: number | undefined): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => done(sig);
    const timer = ms === undefined ? undefined : setTimeout(() => done('duration elapsed'), ms);
    const done = (why: string) => {
      clearTimeout(timer);
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(why);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

function hostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  if (!m) throw new UsageError(`${flag}: "${text}" is not host:port`);
  return {
    host: m[1]!.replace(/^\[|\]$/g, ''),
    port: parseNumber(m[2]!, flag, { min: 0, max: 65535, integer: true }),
  };
}

const sinks = {
  open: [] as FileSink[],
  async close(): Promise<void> {
    for (const f of this.open.splice(0)) await f.close();
  },
};

/** `--alerts FILE`: alerts also go to a JSON-lines file through the detection folder's FileSink. */
function alertsTo(
  file: string | undefined,
  log: pino.Logger,
): { alert?: ReturnType<typeof detectAlertSink> } {
  if (!file) return {};
  const f = new FileSink(file);
  sinks.open.push(f);
  return { alert: detectAlertSink([f], log) };
}

/** The link id of `ipsec up`'s simulated QKD link. */
export const IPSEC_LINK_ID = 'link-ue-n3iwf';

/**
 * The simulated QKD link that feeds both KMEs in `ipsec up`: one block after another through
 * `distillBlock` (src/postprocess distill.ts: the link engine, decoy-state BB84 with the GYS preset over
 * `distanceKm` of fibre, then sifting, estimation, Cascade, verification, privacy amplification to the
 * Lim et al. 2014 finite-key length), block indices 0, 1, 2… of link `link-ue-n3iwf`, with one
 * authentication pool carried from block to block. Key bits come from node:crypto unless `keys` is
 * `deterministic`. 10⁹ pulses at 5 km give ≈3.6·10⁵ secret bits (≈1,400 keys of 256 bits) in about 10 s
 * of one core here. A block that yields no key is skipped (the KMEs simply get nothing).
 */
export function engineBlockSource(
  seed: string,
  distanceKm: number,
  pulses: number,
  keys: KeyMode = 'secret',
  link: { readonly id: string; readonly params: LinkParams } = {
    id: IPSEC_LINK_ID,
    params: PRESETS.gys!.params,
  },
): () => FinalKeyBlock | undefined {
  const authPool = linkAuthBootstrap(seed, link.id, keys);
  let blockIndex = 0;
  return () => {
    const input = {
      seed,
      linkId: link.id,
      blockIndex: blockIndex++,
      pulses,
      params: link.params,
      distanceKm,
    };
    const { result: r, provenance } = distillBlock(input, { keys, authPool });
    if (!r.ok) return undefined;
    r.bob.key.fill(0);
    return { ...r.alice, provenance };
  };
}

function printRound(r: EstablishResult): void {
  process.stderr.write(
    r.ok
      ? `SA up: PPK ${r.value.keyId} (${r.value.provenance}), IKE SA ${r.value.ikeUniqueId}, ${r.value.elapsedMs.toFixed(1)} ms\n`
      : `no SA: ${r.reason}: ${r.message}\n`,
  );
}

/** The printed comparison: our medians beside the published percentages. */
export function benchTable(r: BenchReport): string {
  const psk = r.modes.find((m) => m.mode === 'psk');
  const cert = r.modes.find((m) => m.mode === 'cert-ecdsa');
  const pct = (x: number) => (Number.isFinite(x) ? `${((1 - x) * 100).toFixed(1)}%` : '-');
  const rows = r.modes.map((m) => {
    const rp = medianRatio(m, psk);
    const rc = medianRatio(m, cert);
    return [
      m.mode,
      m.fetch_in_window ? 'yes' : 'no',
      m.mean_ms,
      m.median_ms,
      m.p95_ms,
      m.sd_ms,
      rp.toFixed(3),
      rc.toFixed(3),
      pct(rp),
      pct(rc),
    ];
  });
  const target = r.modes.find((m) => m.mode === 'psk+qkd-ppk' && m.fetch_in_window);
  const t = target ? medianRatio(target, psk) : Number.NaN;
  return [
    `SA establishment (VICI initiate → IKE + CHILD SA up), ${r.runs} runs per mode, medians compared`,
    formatTable(
      [
        'mode',
        'fetch in window',
        'mean ms',
        'median ms',
        'p95 ms',
        'sd ms',
        '×psk',
        '×cert-ecdsa',
        'faster than psk',
        'faster than cert',
      ],
      rows,
    ),
    `published: QKD ${PUBLISHED.fasterThanCertPct}% faster than certificates (×${PUBLISHED.ratioToCert.toFixed(4)}), ` +
      `${PUBLISHED.fasterThanPskPct}% faster than PSK (×${PUBLISHED.ratioToPsk.toFixed(4)})`,
    `target psk+qkd-ppk with fetch ≤ 1.05 × psk: ${Number.isFinite(t) ? `${t.toFixed(3)} × — ${t <= 1.05 ? 'met' : 'NOT met'}` : 'not measured'}`,
  ].join('\n');
}

/** Registers `qkdnet ipsec`. */
export function register(program: Command): void {
  const ipsec = program
    .command('ipsec')
    .description(
      'QKD keys into strongSwan IKEv2 as RFC 8784 PPKs: harness, teardown, SA set-up benchmark (root)',
    )
    .addHelpText(
      'after',
      `
The UE's agent (ETSI 014 master) fetches a key from its KME, passes the key_ID to the N3IWF's agent (slave)
over an HMAC-authenticated channel; both load it into charon as PPK (PPK_ID = key_ID) and the UE initiates.
Keys rotate by reauthentication; with no key the policy is fail-closed (no SA) or pqc (ML-KEM-768), never
an SA without a PPK. Details: docs/ipsec.md.

Examples:
  sudo qkdnet ipsec up --duration 0       # bring up, prove ppk = yes and traffic, tear down
  sudo qkdnet ipsec bench --runs 30       # SA set-up times beside the published percentages
  qkdnet ipsec agent --help               # the agent beside your own strongSwan`,
    );

  ipsec
    .command('up')
    .description(
      'UE and N3IWF namespaces, charon in each, two KMEs, PPK agents; proves the tunnel, rotates keys',
    )
    .option(
      '--policy <p>',
      'pool exhaustion: fail-closed (no SA), pqc (ML-KEM-768 PPK) or hybrid (QKD ⊕ ML-KEM, ML-KEM alone when empty)',
      'fail-closed',
    )
    .option('--lifetime <s>', 'seconds between PPK rotations (reauthentication with a fresh key)', '60')
    .option('--auth <a>', 'IKE authentication beside the PPK: psk or cert (ECDSA P-256)', 'psk')
    .option(
      '--duration <s>',
      'tear down after this many seconds (default: on Ctrl-C; 0: right after the proof)',
    )
    .option('--prefix <name>', 'namespace prefix (<prefix>-ue, <prefix>-n3iwf)', 'qkdnet')
    .option('--log-level <l>', 'agent log level on stderr (JSON): error, warn, info, debug', 'warn')
    .option('--alerts <file>', 'also append alerts (no QKD key, auth failure, pqc fallback) as JSON lines')
    .option(
      '--metrics <host:port>',
      'serve Prometheus metrics on http://host:port/metrics: SAs by PPK provenance, alerts by kind',
    )
    .option(
      '--link <l>',
      'QKD link feeding the KMEs: engine (simulated BB84 + post-processing) or stand-in (CSPRNG)',
      'engine',
    )
    .option('--seed <s>', 'seed of the simulated link physics (default: random)')
    .option(
      '--deterministic-keys',
      'key bytes reproducible from --seed (provenance simulated-deterministic; the agents become test SAEs). Never for real traffic',
    )
    .option('--json', 'print the status as JSON')
    .addHelpText(
      'after',
      `
The PPKs are key from a simulated QKD link: its physics follows --seed, its key bits come from node:crypto,
so nobody can recompute them; --deterministic-keys makes them reproducible (test only, labelled).
Needs root (network namespaces, charon). Only addresses inside the namespaces are used
(10.99.0.1/30 ↔ 10.99.0.2/30 outer, 10.99.0.65 ↔ 10.99.0.97 inner); everything is removed on exit.

Examples:
  sudo qkdnet ipsec up --duration 0            # bring up, prove ppk = yes and traffic, tear down
  sudo qkdnet ipsec up --lifetime 10           # rotate the PPK every 10 s until Ctrl-C
  sudo qkdnet ipsec up --policy pqc --auth cert
  sudo qkdnet ipsec down                       # clean up after a killed 'up'`,
    )
    .action(
      async (o: {
        policy: string;
        lifetime: string;
        auth: string;
        duration?: string;
        prefix: string;
        logLevel: string;
        alerts?: string;
        link: string;
        seed?: string;
        deterministicKeys?: boolean;
        json?: boolean;
        metrics?: string;
      }) => {
        if (o.deterministicKeys && o.link !== 'engine')
          throw new UsageError('--deterministic-keys needs --link engine (the stand-in link is node:crypto)');
        if (o.link !== 'engine' && o.link !== 'stand-in')
          throw new UsageError(`--link: "${o.link}" is not engine or stand-in`);
        if (!isNoKeyPolicy(o.policy))
          throw new UsageError(`--policy: "${o.policy}" is not fail-closed, pqc or hybrid`);
        if (o.auth !== 'psk' && o.auth !== 'cert')
          throw new UsageError(`--auth: "${o.auth}" is not psk or cert`);
        const lifetimeS = parseNumber(o.lifetime, '--lifetime', { min: 1 });
        const durationS =
          o.duration === undefined ? undefined : parseNumber(o.duration, '--duration', { min: 0 });
        const prefix = prefixOf(o.prefix);
        const metrics = o.metrics !== undefined ? hostPort(o.metrics, '--metrics') : undefined;
        const log = logger(o.logLevel);
        requireRoot('run qkdnet ipsec up');
        if (o.link === 'engine')
          process.stderr.write(
            '· QKD link: link engine (GYS preset, 5 km, 10⁹ pulses/block) + post-processing, ~10 s per block\n',
          );
        const h = await startHarness({
          prefix,
          policy: o.policy as NoKeyPolicy,
          lifetimeS,
          auth: o.auth,
          // engine: one block (~10 s) before the first SA, another every 10 minutes; stand-in: every second
          ...(o.link === 'engine'
            ? {
                blockSource: engineBlockSource(
                  o.seed ?? randomUUID(),
                  5,
                  1e9,
                  o.deterministicKeys ? 'deterministic' : 'secret',
                ),
                testSaes: o.deterministicKeys === true,
                initialBlocks: 1,
                feedIntervalMs: 600_000,
              }
            : { feedIntervalMs: 1000 }),
          log,
          step: (s) => process.stderr.write(`· ${s}\n`),
          onRound: printRound,
          ...alertsTo(o.alerts, log),
          ...(metrics ? { metrics } : {}),
        });
        try {
          if (h.metricsUrl) process.stderr.write(`· metrics on ${h.metricsUrl}\n`);
          printStatus(await h.status(), o.json === true);
          if (durationS === 0) return;
          // Taken before the line that tells a supervisor the harness is up (it may signal at once).
          const signalled = untilSignalOr(durationS === undefined ? undefined : durationS * 1000);
          process.stderr.write(
            `rotating the PPK every ${lifetimeS} s; ${durationS === undefined ? 'Ctrl-C' : `${durationS} s`} to tear down\n`,
          );
          const why = await signalled;
          process.stderr.write(`${why}: tearing down\n`);
          if (!o.json) printStatus(await h.status(), false);
        } finally {
          await h.close();
          await sinks.close();
          process.stderr.write('namespaces, daemons, KMEs and agents removed\n');
        }
      },
    );

  ipsec
    .command('down')
    .description("remove what a killed 'qkdnet ipsec up' left: its process, charons, namespaces, files")
    .option('--prefix <name>', 'namespace prefix used by up', 'qkdnet')
    .option('--json', 'print what was removed as JSON')
    .action(async (o: { prefix: string; json?: boolean }) => {
      const removed = await harnessDown(prefixOf(o.prefix));
      if (o.json) process.stdout.write(`${JSON.stringify({ removed }, null, 2)}\n`);
      else process.stdout.write(removed.length ? `removed: ${removed.join(', ')}\n` : 'nothing to remove\n');
    });

  ipsec
    .command('status')
    .description(
      'SAs of a running ipsec up (or bench --ues): state, ppk, PPK_ID and the provenance of each PPK',
    )
    .option('--prefix <name>', 'namespace prefix of the run (up: qkdnet, bench: qkbench)', 'qkdnet')
    .option('--format <f>', 'table, json or prometheus (SAs up, PPKs and alerts by provenance/kind)', 'table')
    .addHelpText(
      'after',
      `
Reads the run's SAs over VICI and its PPK ledger (sas.json in the run's private work directory). The
provenance says what protects each SA: qkd, hybrid (QKD ⊕ ML-KEM-768) or pqc (ML-KEM-768 alone, after a
downgrade). Needs root, like the run.

Examples:
  sudo qkdnet ipsec status
  sudo qkdnet ipsec status --prefix qkbench --format prometheus`,
    )
    .action(async (o: { prefix: string; format: string }) => {
      const format = parseFormat(o.format, ['table', 'json', 'prometheus'] as const);
      const prefix = prefixOf(o.prefix);
      requireRoot('read the IPsec run status');
      const runs = await readRunStatus(prefix);
      if (runs.length === 0)
        throw new QkdnetError('IPSEC_UNAVAILABLE', `No running IPsec run with prefix ${prefix}`);
      if (format === 'json') return void process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      if (format === 'prometheus')
        // one exposition for all matching runs (their counts summed)
        return void process.stdout.write(
          await ledgerRegistry(() => runs.flatMap((r) => (r.ledger ? [r.ledger] : []))).metrics(),
        );
      for (const r of runs)
        process.stdout.write(
          `${r.dir}\n${formatTable(
            ['side', 'conn', 'IKE SA', 'state', 'ppk', 'PPK_ID', 'provenance', 'CHILD SAs'],
            r.rows.map((x) => [
              x.side,
              x.conn,
              x.ikeUniqueId,
              x.state,
              x.ppk ? 'yes' : 'no',
              x.ppkId ?? '-',
              x.provenance ?? '-',
              x.children,
            ]),
          )}\nalerts: ${
            Object.entries(r.ledger?.alerts ?? {})
              .map(([k, n]) => `${k} ${n}`)
              .join(', ') || 'none'
          }\n`,
        );
    });

  ipsec
    .command('agent')
    .description(
      'run one PPK agent beside your own strongSwan (initiator = ETSI 014 master, responder = slave)',
    )
    .requiredOption('--role <r>', 'initiator or responder')
    .option('--vici <path>', "charon's VICI socket", '/var/run/charon.vici')
    .requiredOption(
      '--kme <url[,url…]>',
      "this SAE's KME, e.g. https://kme-a.example:8443 (several, comma-separated: replicas of one KME, failed over)",
    )
    .requiredOption('--cert <file>', "this SAE's client certificate (PEM)")
    .requiredOption('--key <file>', "this SAE's private key (PEM)")
    .requiredOption('--ca <file>', 'CA of the KME (PEM)')
    .requiredOption(
      '--peer-sae <id>',
      "the other SAE's ID (slave for the initiator, master for the responder)",
    )
    .requiredOption(
      '--channel-key <file>',
      'key shared by the two agents: 64 hex digits (openssl rand -hex 32)',
    )
    .option('--kme-id <id>', "this SAE's KME id: its certificate must name it, else it is refused")
    .option('--pin-spki <sha256...>', "accepted SPKI SHA-256 of the KME's key (qkdnet pki issue prints it)")
    .option('--peer <host:port>', 'initiator: the responder agent')
    .option('--conn <file>', 'initiator: the connection to protect, YAML/JSON load-conn template')
    .option('--listen <host:port>', 'responder: where to listen', '127.0.0.1:7300')
    .option('--lifetime <s>', 'initiator: seconds between PPK rotations', '3600')
    .option(
      '--policy <p>',
      'initiator: fail-closed, pqc or hybrid (QKD ⊕ ML-KEM-768; ML-KEM alone when the KME has no key)',
      'fail-closed',
    )
    .option('--allow-pqc', 'responder: answer ML-KEM-768 exchanges of a pqc- or hybrid-policy initiator')
    .option('--log-level <l>', 'log level on stderr (JSON)', 'info')
    .option('--alerts <file>', 'also append alerts as JSON lines (detect FileSink)')
    .option(
      '--metrics <host:port>',
      'serve Prometheus metrics on http://host:port/metrics: SAs/PPKs by provenance, alerts by kind',
    )
    .addHelpText(
      'after',
      `
The responder's own connection must set ppk_required = yes and no ppk_id; the initiator's template is the
connection without them (the agent sets ppk_id = key_ID on every rotation). Key_IDs travel between the
agents as HMAC-SHA-256-authenticated messages; key material never travels between the agents.

Examples:
  openssl rand -hex 32 > chan.key      # copy to both hosts
  qkdnet ipsec agent --role responder --kme https://kme-b:8443 --kme-id kme-b --cert sae-b.pem --key sae-b.key \\
      --ca ca.pem --peer-sae sae-a --channel-key chan.key --listen 0.0.0.0:7300
  qkdnet ipsec agent --role initiator --kme https://kme-a:8443 --cert sae-a.pem --key sae-a.key \\
      --ca ca.pem --peer-sae sae-b --channel-key chan.key --peer gw-b:7300 --conn conn.yaml --lifetime 600`,
    )
    .action(
      async (o: {
        role: string;
        vici: string;
        kme: string;
        cert: string;
        key: string;
        ca: string;
        peerSae: string;
        kmeId?: string;
        pinSpki?: string[];
        channelKey: string;
        peer?: string;
        conn?: string;
        listen: string;
        lifetime: string;
        policy: string;
        allowPqc?: boolean;
        logLevel: string;
        alerts?: string;
        metrics?: string;
      }) => {
        if (o.role !== 'initiator' && o.role !== 'responder')
          throw new UsageError(`--role: "${o.role}" is not initiator or responder`);
        const kmeUrls = parseKmeUrls(o.kme, '--kme');
        if (!isNoKeyPolicy(o.policy))
          throw new UsageError(`--policy: "${o.policy}" is not fail-closed, pqc or hybrid`);
        const lifetimeS = parseNumber(o.lifetime, '--lifetime', { min: 1 });
        const listen = hostPort(o.listen, '--listen');
        if (o.role === 'initiator' && (!o.peer || !o.conn))
          throw new UsageError('--peer and --conn are required with --role initiator');
        const peer = o.peer ? hostPort(o.peer, '--peer') : undefined;
        const metrics = o.metrics !== undefined ? hostPort(o.metrics, '--metrics') : undefined;
        const log = logger(o.logLevel);
        const svc = await startAgentService({
          role: o.role,
          viciPath: o.vici,
          kme: {
            url: kmeUrls[0]!,
            urls: kmeUrls.slice(1),
            cert: o.cert,
            key: o.key,
            ca: o.ca,
            ...(o.kmeId ? { kmeId: o.kmeId } : {}),
            ...(o.pinSpki ? { pinSpki: o.pinSpki } : {}),
          },
          peerSaeId: o.peerSae,
          channelKey: readChannelKey(o.channelKey),
          listen,
          ...(peer ? { peer } : {}),
          ...(o.conn ? { connTemplate: readConnTemplate(o.conn) } : {}),
          lifetimeS,
          policy: o.policy as NoKeyPolicy,
          allowPqc: o.allowPqc === true,
          log,
          ...alertsTo(o.alerts, log),
          onRound: printRound,
          ...(metrics ? { metrics } : {}),
        });
        const signalled = untilSignalOr(undefined); // before the ready line: a supervisor may signal at once
        if (svc.port !== undefined)
          process.stderr.write(`responder agent listening on ${listen.host}:${svc.port}\n`);
        if (svc.metricsUrl) process.stderr.write(`metrics on ${svc.metricsUrl}\n`);
        try {
          const why = await signalled;
          process.stderr.write(`${why}: stopping the agent\n`);
        } finally {
          await svc.close();
          await sinks.close();
        }
      },
    );

  ipsec
    .command('bench')
    .description(
      'time IKEv2 SA set-up by mode (cert-ecdsa, cert-rsa3072, psk, psk+qkd-ppk, cert+qkd-ppk, qkd-psk), or N UEs attaching (--ues)',
    )
    .option(
      '--runs <n>',
      'timed runs per mode (after 2 warm-up runs); with --ues: attach rounds of all UEs (default 30, with --ues 3)',
    )
    .option(
      '--mode <m[,m…]>',
      `modes; default all. With --ues: ${SCALE_MODES.join(' or ')} (default psk+qkd-ppk)`,
    )
    .option('--ues <n>', 'N UE identities attach to one N3IWF charon, each SA with its own fresh QKD PPK')
    .option('--concurrency <c>', 'with --ues: attaches in parallel', '8')
    .option('--policy <p>', 'with --ues: pool exhaustion policy fail-closed, pqc or hybrid', 'fail-closed')
    .option('--rekey', 'with --ues: after the last run every UE reauthenticates once (a new key each)')
    .option(
      '--lifetime <s>',
      'with --ues: then every UE attaches with this SA key lifetime and its agent reauthenticates on expiry (a new key each)',
    )
    .option(
      '--link <l>',
      'with --ues: stand-in (CSPRNG, enough keys) or event-level (link engine + post-processing)',
      'stand-in',
    )
    .option('--distance-km <d>', 'with --link event-level: fibre length (GYS preset, 2 MHz)', '25')
    .option(
      '--metrics <host:port>',
      'with --ues: serve Prometheus metrics of the SAs (by PPK provenance) and alerts on http://host:port/metrics',
    )
    .option(
      '--pulses <n>',
      'with --link event-level: pulses per block (a block is pulses / 2 MHz seconds of link)',
      '1e9',
    )
    .option('--seed <s>', 'seed of the bootstrap resampling and of the event-level link physics', 'qkdnet')
    .option(
      '--kmes <where>',
      'without --ues: in-process (both KMEs in this process) or processes (each KME its own OS process, as on two sites)',
      'in-process',
    )
    .option('--format <f>', 'table or json', 'table')
    .option('--prefix <name>', 'namespace prefix', 'qkbench')
    .addHelpText(
      'after',
      `
Without --ues: one UE, one N3IWF, each mode timed --runs times, interleaved. QKD modes run twice: with the
ETSI 014 fetch (enc_keys, key_ID to the peer agent, dec_keys, load-shared) inside the timed window and with
the key placed beforehand. Per mode the median with its 95% bootstrap interval, per pair of modes the ratio
of medians with its interval (significant when it excludes 1). JSON: {runs, modes, intervals, ratios}.
--kmes processes runs each KME as its own qkdnet site process (own store, IPC supply), as on two hosts.

With --ues N: one UE namespace with N IKE identities (ue-<i>.qkdnet.test, inner 10.98.x.y) attaches to one
N3IWF charon, --concurrency at a time; every SA gets a fresh key from the KME as its PPK (distinct PPK_IDs).
Reports attaches/s (median over runs, 95% CI), set-up latency percentiles, QKD bits per attach and the key
rate needed to sustain the attach rate; with --link event-level the pool meets the link's real key rate:
when it empties, the policy takes over (fail-closed: UEs refused; pqc/hybrid: ML-KEM-768, with alerts).
With --lifetime S every UE then attaches once more with key lifetime S and stays until its agent has
reauthenticated on expiry with a fresh key (a new IKE SA: a new PPK acts only there).
Progress on stderr. Needs root; namespaces <prefix>-ue/<prefix>-n3iwf are removed on exit.

Examples:
  sudo qkdnet ipsec bench --runs 30
  sudo qkdnet ipsec bench --runs 50 --format json > ipsec.json
  sudo qkdnet ipsec bench --ues 100 --concurrency 8 --runs 3
  sudo qkdnet ipsec bench --ues 100 --lifetime 5   # then SAs expire after 5 s: each agent rekeys, new key
  sudo qkdnet ipsec bench --ues 300 --link event-level --distance-km 25 --policy pqc`,
    )
    .action(
      async (o: {
        runs?: string;
        mode?: string;
        ues?: string;
        concurrency: string;
        policy: string;
        rekey?: boolean;
        lifetime?: string;
        metrics?: string;
        link: string;
        distanceKm: string;
        pulses: string;
        seed: string;
        kmes: string;
        format: string;
        prefix: string;
      }) => {
        const format = parseFormat(o.format, ['table', 'json'] as const);
        const prefix = prefixOf(o.prefix);
        if (o.ues === undefined) {
          for (const [flag, v] of [
            ['--concurrency', o.concurrency !== '8'],
            ['--policy', o.policy !== 'fail-closed'],
            ['--rekey', o.rekey === true],
            ['--lifetime', o.lifetime !== undefined],
            ['--metrics', o.metrics !== undefined],
            ['--link', o.link !== 'stand-in'],
          ] as const)
            if (v) throw new UsageError(`${flag} needs --ues`);
          if (o.kmes !== 'in-process' && o.kmes !== 'processes')
            throw new UsageError(`--kmes: "${o.kmes}" is not in-process or processes`);
          const runs = parseNumber(o.runs ?? '30', '--runs', { min: 1, max: 10_000, integer: true });
          const modes = o.mode?.split(',').map((m) => m.trim());
          for (const m of modes ?? [])
            if (!(BENCH_MODES as readonly string[]).includes(m))
              throw new UsageError(`--mode: "${m}" is not one of ${BENCH_MODES.join(', ')}`);
          requireRoot('run qkdnet ipsec bench');
          const bar = new ProgressBar('ipsec bench', 1);
          const r = await runIpsecBench({
            runs,
            prefix,
            seed: o.seed,
            ...(modes ? { modes: modes as BenchMode[] } : {}),
            log: logger('error'),
            // Each KME in its own OS process, as on two sites (not sharing the timing loop's event loop).
            ...(o.kmes === 'processes' ? { kmes: (dir: string) => startKmeSites(dir) } : {}),
            progress: (done, total) => bar.update(done / total),
          });
          bar.done();
          if (format === 'json')
            process.stdout.write(
              `${JSON.stringify({ runs: r.runs, modes: r.modes, intervals: r.intervals, ratios: r.ratios }, null, 2)}\n`,
            );
          else process.stdout.write(`${benchTable(r)}\n${intervalTable(r)}\n`);
          return;
        }
        if (o.kmes !== 'in-process') throw new UsageError('--kmes applies without --ues only');
        const ues = parseNumber(o.ues, '--ues', { min: 1, max: MAX_UES, integer: true });
        const concurrency = parseNumber(o.concurrency, '--concurrency', { min: 1, max: 256, integer: true });
        const runs = parseNumber(o.runs ?? '3', '--runs', { min: 1, max: 1000, integer: true });
        const mode = o.mode ?? 'psk+qkd-ppk';
        if (!(SCALE_MODES as readonly string[]).includes(mode))
          throw new UsageError(`--mode: "${mode}" is not one of ${SCALE_MODES.join(', ')} with --ues`);
        if (!isNoKeyPolicy(o.policy))
          throw new UsageError(`--policy: "${o.policy}" is not fail-closed, pqc or hybrid`);
        if (o.link !== 'stand-in' && o.link !== 'event-level')
          throw new UsageError(`--link: "${o.link}" is not stand-in or event-level`);
        if (o.link === 'event-level' && mode !== 'psk+qkd-ppk')
          throw new UsageError('--link event-level needs --mode psk+qkd-ppk (mode psk uses no key)');
        const distanceKm = parseNumber(o.distanceKm, '--distance-km', { min: 0, max: 500 });
        const pulses = parseNumber(o.pulses, '--pulses', { min: 1e6, max: 1e11, integer: true });
        const lifetimeS =
          o.lifetime === undefined
            ? undefined
            : parseNumber(o.lifetime, '--lifetime', { min: 1, max: 86_400 });
        const metrics = o.metrics !== undefined ? hostPort(o.metrics, '--metrics') : undefined;
        if (lifetimeS !== undefined && mode !== 'psk+qkd-ppk')
          throw new UsageError('--lifetime needs --mode psk+qkd-ppk (mode psk has no key to renew)');
        requireRoot('run qkdnet ipsec bench');
        let last = '';
        let bar: ProgressBar | undefined; // made when the timed attaches begin, so its ETA counts them only
        const r = await runScaleBench({
          ues,
          concurrency,
          runs,
          mode: mode as ScaleMode,
          policy: o.policy,
          rekey: o.rekey === true,
          ...(lifetimeS !== undefined ? { lifetimeS } : {}),
          ...(metrics
            ? { metrics, onMetrics: (url: string) => process.stderr.write(`· metrics on ${url}\n`) }
            : {}),
          prefix,
          seed: o.seed,
          log: logger('error'),
          ...(o.link === 'event-level'
            ? { feed: eventLevelFeed(o.seed, distanceKm, pulses), waitForBlocks: 1 }
            : {}),
          progress: (done, total, phase) => {
            if (phase !== last) {
              last = phase;
              process.stderr.write(`· ${phase}\n`);
            }
            if (done > 0) (bar ??= new ProgressBar(`ipsec bench --ues ${ues}`, 1)).update(done / total);
          },
        });
        bar?.done();
        if (format === 'json') process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else process.stdout.write(`${scaleTable(r)}\n`);
      },
    );
}
