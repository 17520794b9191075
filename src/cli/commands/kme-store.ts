/**
 * `qkdnet kme rekey-store`: rotates the store key that encrypts key material at rest, while KMEs keep
 * serving (src/kms/store-rekey.ts; docs/kme.md "Key material at rest"). Progress goes to stderr line by
 * line (also when it is not a terminal); `--json` prints the result on stdout.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadKmeConfig, rekeyStores } from '../../kms/index.ts';
import { UsageError } from '../util.ts';

const HELP = `
Each store holds key material sealed with AES-256-GCM under a store key. This command adds a new key
version to the key file, has every store re-sealed under it (a running KME does it itself, in batches,
while it keeps answering; a store not in use is re-sealed here), then removes the old key from the file.

Examples:
  qkdnet kme rekey-store --config kme-a.yaml                 # the store and key file of one KME
  qkdnet kme rekey-store --data-dir .qkdnet/live             # every store of qkdnet up (key in pki/store.key)
  qkdnet kme rekey-store --data-dir /tmp/kme-demo            # kme demo's stores (key in store.key)
  qkdnet kme rekey-store --key-file /etc/qkdnet/store.key --store /var/lib/qkdnet/kme-a.db

Keys from an environment variable or a systemd credential cannot be rewritten here: give the KME both
keys (new one as v<N+1>), restart it, and remove the old one at the next restart (docs/kme.md).`;

interface RekeyFlags {
  config?: string;
  dataDir?: string;
  keyFile?: string;
  store?: string[];
  timeout: string;
  json?: boolean;
}

/** Registers `qkdnet kme rekey-store` under `kme`. */
export function registerStoreCommands(kme: Command): void {
  kme
    .command('rekey-store')
    .description('rotate the store key (encryption at rest) without stopping the KMEs')
    .option('--config <file>', 'a KME configuration: its store and storeKey.file')
    .option('--data-dir <dir>', 'a qkdnet up or kme demo data directory: all kme-*.db stores in it')
    .option('--key-file <file>', 'the store-key file (with --store)')
    .option('--store <file...>', 'store files (or postgres:// URLs) sharing --key-file')
    .option('--timeout <s>', 'longest wait for a running KME to re-seal its store', '600')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', HELP)
    .action(async (o: RekeyFlags) => {
      const { keyFile, stores } = target(o);
      const timeoutS = Number(o.timeout);
      if (!(timeoutS > 0)) throw new UsageError(`--timeout: "${o.timeout}" is not a positive number`);
      process.umask(0o077);
      const r = await rekeyStores({
        keyFile,
        stores,
        timeoutMs: timeoutS * 1000,
        progress: (l) => process.stderr.write(`${l}\n`),
      });
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else
        process.stdout.write(
          `Store key rotated to v${r.version} for ${r.stores.length} store(s); v${r.retired.join(', v')} removed from ${keyFile}.\n`,
        );
    });
}

function target(o: RekeyFlags): { keyFile: string; stores: string[] } {
  const given = [o.config, o.dataDir, o.keyFile ?? o.store].filter((x) => x !== undefined);
  if (given.length !== 1)
    throw new UsageError('give one of --config, --data-dir, or --key-file with --store');
  if (o.config) {
    const c = loadKmeConfig(o.config);
    if (!c.storeKey?.file)
      throw new UsageError(
        `--config: ${o.config} takes its store key from ${c.storeKey?.env ? 'an environment variable' : c.storeKey?.credential ? 'a systemd credential' : 'no key'}; only a key file can be rotated here (see --help)`,
      );
    return { keyFile: c.storeKey.file, stores: [c.store] };
  }
  if (o.dataDir) {
    const dir = resolve(o.dataDir);
    if (!existsSync(dir)) throw new UsageError(`--data-dir: no directory ${dir}`);
    const keyFile = [join(dir, 'pki', 'store.key'), join(dir, 'store.key')].find((f) => existsSync(f));
    if (!keyFile) throw new UsageError(`--data-dir: no store.key in ${dir} or ${join(dir, 'pki')}`);
    const stores = readdirSync(dir)
      .filter((f) => /^kme-.*\.db$/.test(f))
      .map((f) => join(dir, f));
    if (stores.length === 0) throw new UsageError(`--data-dir: no kme-*.db store in ${dir}`);
    return { keyFile, stores };
  }
  if (!o.keyFile || !o.store?.length) throw new UsageError('--key-file and --store go together');
  const pgUrl = (s: string) => /^postgres(ql)?:\/\//.test(s);
  for (const s of o.store) if (!pgUrl(s) && !existsSync(s)) throw new UsageError(`--store: no file ${s}`);
  if (!existsSync(o.keyFile)) throw new UsageError(`--key-file: no file ${o.keyFile}`);
  return { keyFile: resolve(o.keyFile), stores: o.store.map((s) => (pgUrl(s) ? s : resolve(s))) };
}
