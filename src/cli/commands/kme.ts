/**
 * `qkdnet kme` — run and query ETSI GS QKD 014 key managers: `serve --config kme.yaml` runs one KME,
 * `demo --dir DIR [--port P]` two KMEs joined by a link, `keys` and `status` talk to a KME as an SAE over
 * mutual TLS (for manual use and scripts). Servers stop cleanly on SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { Etsi014Client, loadKmeConfig, runKmeDemo, startKme, type DeliveredKey } from '../../kms/index.ts';
import { randomUUID } from 'node:crypto';
import { findPreset } from '../../physics/index.ts';
import { LinkKeySupply } from '../../server/index.ts';
import type { KeyMode } from '../../postprocess/index.ts';
import { join } from 'node:path';
import type { KmeHandle } from '../../kms/index.ts';
import { checkPortFree, checkStoreFile, checkWritableDir, readInputFile } from '../preflight.ts';
import { formatTable, parseKmeUrls, parseNumber, UsageError } from '../util.ts';
import { registerStoreCommands } from './kme-store.ts';
import { registerStreamCommands } from './kme-stream.ts';
import { registerDeviceCommands } from './kme-device.ts';
import {
  admitPostgres,
  checkDataDir,
  ensureDatabases,
  findPgBin,
  isPostgresUrl,
  makePrivateDir,
  PgCluster,
} from '../../kms/index.ts';
import { dirname, resolve } from 'node:path';

/** `--store`: a postgres:// URL as given, a SQLite path made absolute; anything else one clear line. */
function storeFlag(v: string): string {
  if (isPostgresUrl(v)) {
    try {
      new URL(v);
    } catch {
      throw new UsageError(`--store: "${v.replace(/:[^:@/]*@/, ':***@')}" is not a valid postgres:// URL`);
    }
    return v;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v))
    throw new UsageError(`--store: only postgres:// URLs or file paths`);
  return resolve(v);
}

/**
 * The demo's PostgreSQL: with `ha` a throwaway cluster under DIR/pg (stopped cleanly at the end, DIR's
 * mode restored), with `url` an existing server; databases qkdnet_kme_a and qkdnet_kme_b.
 */
async function demoDatabase(
  dir: string,
  ha: boolean,
  url: string | undefined,
): Promise<{ stores: { a: string; b: string }; note: string; stop: () => Promise<void> } | undefined> {
  if (!ha && url === undefined) return undefined;
  let cluster: PgCluster | undefined;
  // As root the server runs as `postgres`: DIR (0700) lets it through only while it starts and stops.
  const admitted = async (fn: () => Promise<void>) => {
    const restore = admitPostgres(dir);
    try {
      await fn();
    } finally {
      restore();
    }
  };
  if (ha) {
    makePrivateDir(dir);
    const c = (cluster = new PgCluster(join(dir, 'pg')));
    process.stderr.write(`Starting a throwaway PostgreSQL cluster in ${c.dir}…\n`);
    await admitted(async () => {
      await c.init();
      await c.start();
    });
  }
  const server = url ?? cluster!.url();
  const stop = async () => {
    if (cluster) await admitted(() => cluster.stop('fast'));
  };
  try {
    const [a, b] = await ensureDatabases(server, ['qkdnet_kme_a', 'qkdnet_kme_b']);
    const note = cluster
      ? `PostgreSQL (throwaway, ${join(dir, 'pg')}): ${server} — stopped cleanly on Ctrl-C, restarted on the next run`
      : `PostgreSQL: ${server.replace(/:[^:@/]*@/, ':***@')}`;
    return { stores: { a: a!, b: b! }, note, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Takes SIGINT and SIGTERM from now on, and returns `until(stop)`: resolves after the first signal, once
 * `stop` has run (at once if a signal came already). Armed before a server says it is ready, since a
 * supervisor may signal as soon as it reads that line: a signal in between met Node's default action and
 * killed the process with its stores open (seen under load). Signals while stopping are ignored, so a
 * second one (npm forwards what its process group already got) cannot cut the stop short.
 */
function trapSignals(): (stop: () => Promise<void>) => Promise<void> {
  let received: NodeJS.Signals | undefined;
  let wake: (() => void) | undefined;
  const on = (sig: NodeJS.Signals) => {
    if (received !== undefined) return;
    received = sig;
    wake?.();
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return (stop) =>
    new Promise((resolve) => {
      const go = () => {
        process.stderr.write(`\n${received}: shutting down\n`);
        void stop()
          .catch((e: Error) => {
            process.stderr.write(`qkdnet: shutdown failed: ${e.message}\n`);
            process.exitCode = 1;
          })
          .finally(() => {
            process.off('SIGINT', on);
            process.off('SIGTERM', on);
            resolve();
          });
      };
      if (received !== undefined) go();
      else wake = go;
    });
}

interface ClientFlags {
  kme: string;
  cert: string;
  key: string;
  ca: string;
  kmeId?: string;
  pinSpki?: string[];
}

function clientOf(o: Partial<ClientFlags>): Etsi014Client {
  for (const f of ['kme', 'cert', 'key', 'ca'] as const)
    if (!o[f]) throw new UsageError(`--${f} is required (see qkdnet kme keys --help)`);
  const urls = parseKmeUrls(o.kme!, '--kme');
  if (!o.kmeId && !o.pinSpki)
    process.stderr.write('note: without --kme-id or --pin-spki any KME certificate of the CA is accepted\n');
  for (const p of o.pinSpki ?? [])
    if (!/^(sha256\/)?([A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})$/.test(p))
      throw new UsageError(`--pin-spki: "${p}" is not a SHA-256 hash (base64 or hex)`);
  try {
    return Etsi014Client.fromFiles(
      urls,
      { cert: o.cert!, key: o.key!, ca: o.ca! },
      { ...(o.kmeId ? { kmeId: o.kmeId } : {}), ...(o.pinSpki ? { pinSpki: o.pinSpki } : {}) },
    );
  } catch (e) {
    throw new UsageError(
      `cannot read TLS files: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

function printKeys(keys: readonly DeliveredKey[], json: boolean): void {
  const rows = keys.map((k) => ({
    key_ID: k.keyId,
    key: Buffer.from(k.key).toString('base64'),
    bits: k.key.length * 8,
    provenance: k.provenance ?? '',
  }));
  if (json) process.stdout.write(`${JSON.stringify({ keys: rows }, null, 2)}\n`);
  else
    process.stdout.write(
      `${formatTable(
        ['key_ID', 'bits', 'provenance', 'key (base64)'],
        rows.map((r) => [r.key_ID, r.bits, r.provenance, r.key]),
      )}\n`,
    );
}

const withClient = (c: Command) =>
  c
    .requiredOption(
      '--kme <url[,url…]>',
      'KME base URL, e.g. https://127.0.0.1:8443; replicas of one KME comma-separated (failed over in order)',
    )
    .requiredOption('--cert <file>', "this SAE's certificate (PEM)")
    .requiredOption('--key <file>', "this SAE's private key (PEM)")
    .requiredOption('--ca <file>', 'CA certificate that issued the KME (PEM)')
    .option(
      '--kme-id <id>',
      "the KME's id: its certificate must name it (DNS SAN), else the connection is refused",
    )
    .option('--pin-spki <sha256...>', "accepted SPKI SHA-256 of the KME's key (as qkdnet pki issue prints)")
    .option('--json', 'print JSON');

/** Registers `qkdnet kme`. */
export function register(program: Command): void {
  const kme = program
    .command('kme')
    .description('run and query ETSI GS QKD 014 key managers (mutual TLS, durable SQLite store)');

  kme
    .command('serve')
    .description('run one KME from a YAML configuration until SIGINT/SIGTERM')
    .requiredOption('--config <file>', 'KME configuration (YAML; see docs/kme.md)')
    .option('--strict-permissions', "refuse to start if the store's directory or key file is open to others")
    .option(
      '--store <path|url>',
      "the key store, overriding the config's `store`: a SQLite file or postgres://user@host:port/db",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  qkdnet kme serve --config kme-a.yaml\n' +
        '  # a replica of KME A on a shared PostgreSQL database (same id, same store key at every replica)\n' +
        '  qkdnet kme serve --config kme-a.yaml --store postgres://qkdnet@db.example:5432/kme_a\n',
    )
    .action(async (o: { config: string; strictPermissions?: boolean; store?: string }) => {
      readInputFile(o.config, '--config');
      const loaded = loadKmeConfig(o.config);
      const config = o.store === undefined ? loaded : { ...loaded, store: storeFlag(o.store) };
      const strict = o.strictPermissions === true;
      if (config.store !== ':memory:' && !isPostgresUrl(config.store)) {
        checkStoreFile(config.store, 'store');
        checkDataDir(dirname(config.store), { strict });
      }
      await checkPortFree(config.host ?? '127.0.0.1', config.port ?? 0, 'port');
      process.umask(0o077); // files this process (and SQLite) creates are private from the start
      const handle = await startKme(config, { strictPermissions: strict });
      const until = trapSignals();
      // performance.now() counts from the process's start: what a restart costs before the first answer.
      process.stderr.write(
        `KME ${handle.id} serving ETSI GS QKD 014 at ${handle.url}/api/v1/keys/ (Ctrl-C to stop; ready ${Math.round(performance.now())} ms after process start)\n`,
      );
      await until(() => handle.close());
    });

  kme
    .command('demo')
    .description(
      'two KMEs joined by a link: A (sae-a, sae-c) at port P, B (sae-b) at P+1; prints curl commands',
    )
    .requiredOption('--dir <dir>', 'directory for the PKI (ca.pem, sae-{a,b,c}.pem/.key) and the stores')
    .option('--port <port>', "KME A's port (KME B uses port+1)", '8443')
    .option('--strict-permissions', 'refuse to start if --dir is open to other users (else a warning)')
    .option(
      '--stand-in',
      'fill the stores from node:crypto instead of the simulated QKD link (instant; not QKD key)',
    )
    .option(
      '--ha',
      'KME A as two replicas (ports P and P+2) on a throwaway PostgreSQL cluster under DIR/pg (Debian binaries, no service)',
    )
    .option(
      '--store <url>',
      'put both KMEs on this PostgreSQL server (postgres://user@host:port/db; databases qkdnet_kme_a and _b are created)',
    )
    .option('--seed <s>', 'seed of the simulated link physics (default: random)')
    .option(
      '--deterministic-keys',
      'key bytes reproducible from --seed, provenance simulated-deterministic, SAEs configured as test SAEs',
    )
    .addHelpText(
      'after',
      '\nThe link between the KMEs is the simulated QKD link: GYS preset, 10 km, blocks of 10⁹ pulses through\n' +
        'the link engine and post-processing (a few seconds of one core each, in a worker thread). The link\n' +
        'is simulated, its key bits come from node:crypto: nobody recomputes them from the seed, and a restart\n' +
        'on the same --dir never repeats one. With --deterministic-keys they follow --seed instead (tests only;\n' +
        'every such key is labelled simulated-deterministic and handed only to SAEs configured test: true).\n' +
        '\nExamples:\n  qkdnet kme demo --dir /tmp/kme-demo --port 8443\n' +
        '  qkdnet kme demo --dir /tmp/kme-test --seed 7 --deterministic-keys   # reproducible test keys\n' +
        '  qkdnet kme demo --dir /tmp/kme-ha --ha --stand-in   # KME A as two replicas on PostgreSQL (8443, 8445)\n',
    )
    .action(
      async (o: {
        dir: string;
        port: string;
        standIn?: boolean;
        seed?: string;
        deterministicKeys?: boolean;
        strictPermissions?: boolean;
        ha?: boolean;
        store?: string;
      }) => {
        const port = parseNumber(o.port, '--port', { min: 1, max: o.ha ? 65533 : 65534, integer: true });
        if (o.ha && o.store) throw new UsageError('--ha runs its own PostgreSQL cluster: drop --store');
        if (o.store !== undefined && !isPostgresUrl(storeFlag(o.store)))
          throw new UsageError('--store: the demo takes a postgres:// URL (SQLite stores live in --dir)');
        if (o.ha) findPgBin(); // no PostgreSQL binaries: one clear line before anything is created
        if (o.deterministicKeys && o.standIn)
          throw new UsageError('--deterministic-keys needs the simulated link (drop --stand-in)');
        checkWritableDir(o.dir, '--dir');
        await checkPortFree('127.0.0.1', port, '--port');
        await checkPortFree('127.0.0.1', port + 1, '--port (+1, KME B)');
        if (o.ha) await checkPortFree('127.0.0.1', port + 2, '--port (+2, second replica of KME A)');
        process.umask(0o077); // files this process (and openssl, SQLite) creates are private from the start
        const keys = o.deterministicKeys ? 'deterministic' : 'secret';
        const db = await demoDatabase(o.dir, o.ha === true, o.store);
        let demo;
        try {
          demo = await runKmeDemo({
            dir: o.dir,
            port,
            strictPermissions: o.strictPermissions === true,
            testSaes: keys === 'deterministic',
            ...(o.standIn ? {} : { blockSource: null }),
            ...(db ? { stores: db.stores } : {}),
            ...(o.ha ? { replicaPort: port + 2 } : {}),
          });
        } catch (e) {
          await db?.stop();
          throw e;
        }
        let supply: LinkKeySupply | undefined;
        if (o.standIn) {
          process.stderr.write('Stand-in link: blocks from node:crypto every second (not QKD key).\n');
        } else {
          process.stderr.write(
            'Distilling the first key block from the simulated QKD link (GYS, 10 km, 10⁹ pulses)…\n',
          );
          try {
            supply = await startDemoLink(demo.a, demo.b, {
              seed: o.seed ?? randomUUID(),
              keys,
              authPoolDir: join(o.dir, 'auth-pools'),
            });
          } catch (e) {
            await demo.close();
            throw e;
          }
        }
        if (db) process.stdout.write(`${db.note}\n`);
        const until = trapSignals();
        process.stdout.write(
          `KME A (sae-a, sae-c): ${demo.a.url}${demo.a2 ? ` and ${demo.a2.url} (replicas)` : ''}\nKME B (sae-b):        ${demo.b.url}\n` +
            `The link keeps filling both stores. Try:\n\n${demo.commands.join('\n')}\n\nCtrl-C to stop.\n`,
        );
        await until(async () => {
          await supply?.close();
          await demo.close();
          await db?.stop();
        });
      },
    );

  registerStoreCommands(kme);
  registerStreamCommands(kme);
  registerDeviceCommands(kme);

  withClient(kme.command('keys'))
    .description('get keys as an SAE: as master (--slave) or, with --key-id, as slave (--master)')
    .option('--slave <sae>', 'slave SAE ID (Get key, enc_keys)')
    .option('--master <sae>', 'master SAE ID (Get key with key IDs, dec_keys)')
    .option('--key-id <uuid...>', 'key_ID(s) to fetch as slave')
    .option('--number <n>', 'number of keys', '1')
    .option('--size <bits>', 'key size in bits (multiple of 8; default: the KME default)')
    .option('--also <sae...>', 'additional slave SAE IDs (multicast)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  qkdnet kme keys --kme https://127.0.0.1:8443 --kme-id kme-a --cert d/sae-a.pem --key d/sae-a.key --ca d/ca.pem --slave sae-b --number 2\n' +
        '  qkdnet kme keys --kme https://127.0.0.1:8444 --cert d/sae-b.pem --key d/sae-b.key --ca d/ca.pem --master sae-a --key-id UUID\n',
    )
    .action(
      async (
        o: ClientFlags & {
          json?: boolean;
          slave?: string;
          master?: string;
          keyId?: string[];
          number: string;
          size?: string;
          also?: string[];
        },
      ) => {
        if ((o.slave === undefined) === (o.master === undefined))
          throw new UsageError(
            'give exactly one of --slave (get new keys) or --master with --key-id (fetch keys)',
          );
        const client = clientOf(o);
        try {
          if (o.master !== undefined) {
            if (!o.keyId?.length) throw new UsageError('--master needs --key-id');
            printKeys(await client.getKeysWithIds(o.master, o.keyId), o.json === true);
            return;
          }
          const number = parseNumber(o.number, '--number', { min: 1, integer: true });
          const sizeBits =
            o.size === undefined ? undefined : parseNumber(o.size, '--size', { min: 8, integer: true });
          if (sizeBits !== undefined && sizeBits % 8 !== 0)
            throw new UsageError(`--size: ${sizeBits} is not a multiple of 8`);
          printKeys(
            await client.getKeys(o.slave!, {
              number,
              ...(sizeBits !== undefined ? { sizeBits } : {}),
              ...(o.also ? { additionalSlaves: o.also } : {}),
            }),
            o.json === true,
          );
        } finally {
          client.close();
        }
      },
    );

  withClient(kme.command('status'))
    .description('Get status of the link from this SAE (master) to a slave SAE')
    .requiredOption('--slave <sae>', 'slave SAE ID')
    .addHelpText(
      'after',
      '\nExample:\n  qkdnet kme status --kme https://127.0.0.1:8443 --cert d/sae-a.pem --key d/sae-a.key --ca d/ca.pem --slave sae-b\n',
    )
    .action(async (o: ClientFlags & { json?: boolean; slave: string }) => {
      const client = clientOf(o);
      try {
        const s = await client.status(o.slave);
        if (o.json) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        else
          process.stdout.write(
            `${formatTable(
              ['field', 'value'],
              Object.entries(s).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]),
            )}\n`,
          );
      } finally {
        client.close();
      }
    });
}

/**
 * The demo's QKD link between KME A and KME B: the live key supply of `qkdnet up` (link engine and
 * post-processing in a worker thread) on one GYS link of 10 km. Resolves once the first block is stored, so
 * the printed curl commands work at once; rejects if the first block cannot be made. The link's
 * authentication pool persists in `authPoolDir`.
 */
export async function startDemoLink(
  a: KmeHandle,
  b: KmeHandle,
  o: { seed: string; keys: KeyMode; authPoolDir: string; pulsesPerBlock?: number },
): Promise<LinkKeySupply> {
  const gys = findPreset('gys');
  if (!gys) throw new Error('the gys preset is missing (bug)');
  let supply: LinkKeySupply | undefined;
  await new Promise<void>((resolve, reject) => {
    let firstBlock = true;
    supply = new LinkKeySupply({
      links: [{ id: 'link-a-b', from: a.id, to: b.id, params: gys.params, distanceKm: 10 }],
      kmes: new Map([
        [a.id, a],
        [b.id, b],
      ]),
      seed: o.seed,
      keys: o.keys,
      authPoolDir: o.authPoolDir,
      ...(o.pulsesPerBlock === undefined ? {} : { pulsesPerBlock: o.pulsesPerBlock }),
      pauseMs: 1000,
      usable: () => true,
      attackOf: () => null,
      nowNs: () => Number(process.hrtime.bigint()),
      onBlock: (_link, outcome) => {
        if (!firstBlock) return;
        firstBlock = false;
        if ('bits' in outcome) resolve();
        else reject(new Error(`The simulated link produced no key in its first block: ${outcome.reason}`));
      },
    });
  });
  return supply!;
}
