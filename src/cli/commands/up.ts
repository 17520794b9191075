/**
 * `qkdnet up <scenario.yaml>` — the live demo network: a KME per node (HTTPS mTLS on 127.0.0.1, SQLite
 * stores under the data directory), the scenario's links producing key in real time, relay and routing,
 * the controller's detectors and the web dashboard. Prints the dashboard URL; Ctrl-C (SIGINT) or SIGTERM
 * stops the web server, the clock and every KME, so the stores are closed consistently. Off loopback the
 * dashboard is HTTPS with a login (tokens or client certificates); access flags: up-access.ts.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseScenario } from '../../network/index.ts';
import { revocationCheck } from '../../kms/index.ts';
import {
  AuditLog,
  buildServer,
  dashboardCrl,
  dashboardTls,
  feedSiem,
  SITES_MODES,
  startLiveNetwork,
  type SitesMode,
} from '../../server/index.ts';
import { checkPortFree, checkWritableDir, readInputFile } from '../preflight.ts';
import { parseNumber, UsageError } from '../util.ts';
import {
  accessConfig,
  accessOptions,
  certificateHosts,
  clientCaOf,
  planAccess,
  siemSinks,
  type AccessFlags,
  type AccessPlan,
} from './up-access.ts';

const EXAMPLES = `
Examples:
  npm start                                        # = qkdnet up scenarios/metro-demo.yaml
  qkdnet up scenarios/metro-demo.yaml --port 9000  # dashboard on http://127.0.0.1:9000/
  qkdnet up my-net.yaml --speed 60                 # one simulated minute per real second
  qkdnet up my-net.yaml --data-dir /tmp/qkd --json # machine-readable start-up line
  qkdnet up --topology etsi015                     # the controller reads each KME's ETSI GS QKD 015 data
                                                   # (RESTCONF, mutual TLS, certificate sdn-controller) and
                                                   # routes on that graph instead of the file's links

The dashboard shows the map, live QBER / key rate / pool charts, alerts with evidence, the provenance of
delivered keys and application sessions; its controls inject attacks, cut and restore links and
compromise nodes. JSON API and /metrics: docs/dashboard.md. Each node's KME speaks ETSI GS QKD 014 over
mutual TLS; certificates for its SAE are in <data-dir>/pki (sae-<node>.pem/.key, ca.pem).

The links are simulated (physics from --seed); the KMEs' key bits come from node:crypto, so nobody
recomputes them and a restart on the same --data-dir never repeats one. --deterministic-keys makes them
reproducible from --seed for tests: such keys carry provenance simulated-deterministic and go only to
SAEs configured test: true.

Off loopback (--host 0.0.0.0 or an interface address) the dashboard is HTTPS and needs a login:
  qkdnet up --host 0.0.0.0 --generate-tokens              # prints an operator and a viewer token once
  qkdnet up --host 10.0.0.5 --operator-token-file ops.txt --metrics-token-file prom.txt
  qkdnet pki issue --dir .qkdnet/live/pki --name alice --kind operator
  qkdnet up --host 0.0.0.0 --client-certs                 # alice.pem/.key log in by certificate
  qkdnet up --siem syslog+udp://siem.example:514 --siem-format cef   # alerts + audit trail to a SIEM
Behind a reverse proxy, keep --host 127.0.0.1 and add --allowed-host NAME --allowed-origin https://NAME
--trust-proxy 127.0.0.1 (docs/dashboard.md, "Security").`;

interface UpOptions extends AccessFlags {
  port: string;
  host: string;
  dataDir: string;
  speed: string;
  seed: string;
  kme: boolean;
  deterministicKeys?: boolean;
  json?: boolean;
  strictPermissions?: boolean;
  sites: string;
  topology: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('up')
    .description('run a live quantum-secured network with its web dashboard')
    .argument('[scenario]', 'scenario file (YAML or JSON)', 'scenarios/metro-demo.yaml')
    .option('--port <n>', 'dashboard port (0 = any free port)', '8080')
    .option('--host <addr>', 'dashboard listen address', '127.0.0.1')
    .option('--data-dir <dir>', 'PKI and KME stores', '.qkdnet/live')
    .option('--speed <x>', 'simulated seconds per real second', '1')
    .option('--seed <s>', 'seed of every simulated stream (physics, statistics, attacks)', '1')
    .option(
      '--deterministic-keys',
      'KME key bytes reproducible from --seed (provenance simulated-deterministic, node SAEs become test SAEs); tests only',
    )
    .option('--no-kme', 'run without the per-node KMEs')
    .option(
      '--sites <mode>',
      'inline (every KME in this process) | processes (one OS process per node) | netns (root: one network namespace per node)',
      'inline',
    )
    .option(
      '--topology <source>',
      "scenario (the file's links) | etsi015 (the controller reads every KME's ETSI GS QKD 015 data over RESTCONF and builds its graph from them)",
      'scenario',
    )
    .option('--json', 'print the start-up line as JSON')
    .option(
      '--strict-permissions',
      'refuse to start if the data dir is open to other users (else a warning)',
    );
  accessOptions(cmd)
    .addHelpText('after', EXAMPLES)
    .action(async (scenario: string, o: UpOptions) => {
      const port = parseNumber(o.port, '--port', { min: 0, max: 65535, integer: true });
      const speed = parseNumber(o.speed, '--speed', { min: 0.001, max: 10000 });
      const sites = parseSites(o.sites, o.kme);
      const topology = parseTopology(o.topology, o.kme, sites);
      // Everything that can be wrong with the input is checked before the PKI and stores are created.
      parseScenario(readInputFile(scenario, 'scenario'), scenario);
      const access = planAccess(o.host, o);
      if (o.kme || access.tls) checkWritableDir(o.dataDir, '--data-dir');
      await checkPortFree(o.host, port, '--port');
      process.umask(0o077); // files this process (and openssl, SQLite) creates are private from the start
      await runUp({
        access,
        scenario,
        port,
        host: o.host,
        dataDir: resolve(o.dataDir),
        speed,
        seed: o.seed,
        kme: o.kme,
        ...(sites ? { sites } : {}),
        topology,
        keys: o.deterministicKeys ? 'deterministic' : 'secret',
        json: o.json === true,
        strictPermissions: o.strictPermissions === true,
      });
    });
}

/** Checks `--topology` (before any state): etsi015 reads the in-process KMEs. */
function parseTopology(value: string, kme: boolean, sites: SitesMode | undefined): 'scenario' | 'etsi015' {
  if (value !== 'scenario' && value !== 'etsi015')
    throw new UsageError(`--topology: "${value}" is not one of scenario, etsi015`);
  if (value === 'etsi015' && !kme)
    throw new UsageError(
      "--topology etsi015 reads the KMEs' ETSI GS QKD 015 data; it cannot go with --no-kme",
    );
  if (value === 'etsi015' && sites)
    throw new UsageError(
      '--topology etsi015 works with --sites inline only (site processes do not serve live link state yet)',
    );
  return value;
}

/** Checks `--sites` (before any state): a mode, root for netns, KMEs on. */
function parseSites(value: string, kme: boolean): SitesMode | undefined {
  if (!(SITES_MODES as readonly string[]).includes(value))
    throw new UsageError(`--sites: "${value}" is not one of ${SITES_MODES.join(', ')}`);
  if (value === 'inline') return undefined;
  if (!kme) throw new UsageError(`--sites ${value} runs the nodes' KMEs; it cannot go with --no-kme`);
  if (value === 'netns' && process.getuid?.() !== 0)
    throw new UsageError('--sites netns needs root (it creates network namespaces); use --sites processes');
  return value as SitesMode;
}

async function runUp(o: {
  access: AccessPlan;
  scenario: string;
  port: number;
  host: string;
  dataDir: string;
  speed: number;
  seed: string;
  kme: boolean;
  sites?: SitesMode;
  topology: 'scenario' | 'etsi015';
  keys: 'secret' | 'deterministic';
  json: boolean;
  strictPermissions: boolean;
}): Promise<void> {
  const started = performance.now();
  const net = await startLiveNetwork({
    scenarioPath: o.scenario,
    dataDir: o.dataDir,
    speed: o.speed,
    seed: o.seed,
    keys: o.keys,
    kmes: o.kme,
    strictPermissions: o.strictPermissions,
    ...(o.sites ? { sites: o.sites } : {}),
    topology: o.topology,
  });
  const plan = o.access;
  const audit = new AuditLog();
  const siem = feedSiem(net.live, audit, siemSinks(plan), (line) =>
    process.stderr.write(`qkdnet: ${line}\n`),
  );
  let app: ReturnType<typeof buildServer> | undefined;
  let crl: Awaited<ReturnType<typeof dashboardCrl>>;
  try {
    const https = plan.tls
      ? await dashboardTls({
          pkiDir: join(o.dataDir, 'pki'),
          ...(plan.flags.tlsCert && plan.flags.tlsKey
            ? { certFile: plan.flags.tlsCert, keyFile: plan.flags.tlsKey }
            : {}),
          hosts: certificateHosts(o.host, plan),
          clientCertificates: plan.flags.clientCerts === true,
          clientCa: clientCaOf(plan, o.dataDir),
        })
      : undefined;
    // Client certificates are checked against the CA's CRL; a lapsed CRL refuses certificate logins.
    crl = plan.flags.clientCerts
      ? await dashboardCrl({
          pkiDir: join(o.dataDir, 'pki'),
          ...(plan.flags.clientCa ? { clientCa: plan.flags.clientCa } : {}),
          ...(plan.flags.clientCrl ? { crlFile: plan.flags.clientCrl } : {}),
          log: (line) => process.stderr.write(`qkdnet: ${line}\n`),
        })
      : undefined;
    app = buildServer(net.live, {
      registries: net.registries,
      access: accessConfig(o.host, plan, crl ? revocationCheck(crl) : undefined),
      audit,
      ...(https ? { https } : {}),
      ...(plan.flags.trustProxy ? { trustProxy: plan.flags.trustProxy } : {}),
    });
    await app.listen({ host: o.host, port: o.port });
  } catch (e) {
    crl?.stop();
    await app?.close();
    await siem.close();
    await net.live.close();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new UsageError(`--port: ${o.port} is already in use (try --port 0)`);
    if (err.code === 'EADDRNOTAVAIL')
      throw new UsageError(`--host: ${o.host} is not an address of this machine`);
    throw e;
  }
  const server = app;
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const url = `${plan.tls ? 'https' : 'http'}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/`;
  const state = net.live.state();
  const kmes = state.nodes
    .filter((n) => n.kmeUrl)
    .map((n) => ({ node: n.id, url: n.kmeUrl, ...(n.site ? { pid: n.site.pid } : {}) }));
  const sitesLine = net.sites ? { sites: { mode: net.sites.mode, describe: net.sites.describe } } : {};
  const auth = [
    ...(plan.tokens.some((t) => t.role !== 'metrics') ? ['token'] : []),
    ...(plan.flags.clientCerts ? ['certificate'] : []),
  ];
  // Signals are taken before the ready lines below: a supervisor may signal as soon as it reads them.
  const stopped = new Promise<void>((resolveStop) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      if (!o.json)
        process.stdout.write(`\n${signal}: stopping the dashboard, the network and ${kmes.length} KMEs…\n`);
      void (async () => {
        crl?.stop();
        await server.close();
        await siem.close();
        await net.live.close();
        if (!o.json) process.stdout.write('Stopped; stores closed.\n');
        resolveStop();
      })();
    };
    // `on`, not `once`: a second signal while stopping (npm forwards the one its process group already
    // delivered) must not kill the process half-way, before the KMEs' stores are closed.
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ dashboard: url, scenario: state.scenario.name, speed: o.speed, data_dir: o.dataDir, topology: o.topology, kmes, ...sitesLine, tls: plan.tls, auth: plan.requireAuth ? auth : ['loopback'], ...(plan.generated ? { tokens: plan.generated } : {}), startup_ms: Math.round(performance.now() - started) })}\n`,
    );
  } else {
    process.stdout.write(`qkdnet: ${state.scenario.title}\n`);
    process.stdout.write(
      `  ${state.nodes.length} nodes, ${state.links.length} links, ${state.apps.length} applications, speed ${o.speed}×${o.topology === 'etsi015' ? ', topology read from the KMEs (ETSI GS QKD 015)' : ''}\n`,
    );
    for (const k of kmes)
      process.stdout.write(
        `  KME ${k.node.padEnd(14)} ${k.url}${'pid' in k ? `  (site process ${k.pid})` : ''}\n`,
      );
    if (net.sites)
      process.stdout.write(
        `  sites: ${net.sites.describe}; a site that dies is restarted automatically (1 s backoff, doubling to 30 s)\n`,
      );
    if (kmes.length) process.stdout.write(`  PKI and stores in ${o.dataDir}\n`);
    process.stdout.write(`\nDashboard: ${url}\n`);
    if (plan.requireAuth)
      process.stdout.write(`  login: ${auth.join(' or ')}; HTTPS ${plan.tls ? 'on' : 'off'}\n`);
    else
      process.stdout.write(
        '  loopback only: no login; controls only from this page (Origin + anti-CSRF token)\n',
      );
    if (plan.generated) {
      // The only place these tokens are ever written; nothing logs them afterwards.
      process.stdout.write(`  operator token: ${plan.generated.operator}\n`);
      process.stdout.write(`  viewer token:   ${plan.generated.viewer}\n`);
    }
    process.stdout.write('Press Ctrl-C to stop.\n');
  }
  await stopped;
}
