// @edge: writes charon's configuration and runs /usr/lib/ipsec/charon inside a network namespace
/**
 * One strongSwan charon daemon per endpoint, confined to a network namespace (facts in
 * docs/ipsec.md). Each daemon has its own directory holding `strongswan.conf`, its VICI
 * socket, its log and a private `/run` (charon always writes `/var/run/charon.pid`; `ip netns exec` gives
 * the command its own mount namespace, so `/run` is bind-mounted over there). The plugin list is explicit
 * so the set is the same on every machine; kernel-libipsec carries ESP in user space because this kernel
 * has none. Logging stays at level 1: higher levels print key material (strongSwan logging docs, level 4).
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QkdnetError } from '../common/index.ts';
import { ViciClient } from './vici-client.ts';
import { assertOwnSocket, makePrivateSubdir, writeNewFile } from './workdir.ts';

/** Where the Debian package installs the daemon. */
export const CHARON_PATH = '/usr/lib/ipsec/charon';

/** Plugins loaded, in order (crypto from openssl; ESP in user space; VICI for control). */
export const CHARON_PLUGINS = [
  'random',
  'nonce',
  'openssl',
  'pem',
  'pkcs1',
  'pkcs8',
  'x509',
  'pubkey',
  'sha2',
  'hmac',
  'gcm',
  'aes',
  'kdf',
  'kernel-libipsec',
  'kernel-netlink',
  'socket-default',
  'vici',
] as const;

/** A running charon. */
export interface Charon {
  readonly name: string;
  readonly namespace: string;
  readonly pid: number;
  readonly dir: string;
  readonly viciPath: string;
  readonly logPath: string;
  /** Stops the daemon (SIGTERM, then SIGKILL after 3 s); safe to call twice. */
  stop(): Promise<void>;
}

/** The strongswan.conf text for a daemon rooted at `dir`. */
export function charonConfig(dir: string): string {
  return `# written by qkdnet (src/ipsec/charon.ts)
charon {
  load = ${CHARON_PLUGINS.join(' ')}
  install_virtual_ip = no
  retransmit_timeout = 1.0
  retransmit_tries = 2
  # every simulated UE shares one outer address (src/ipsec/scale.ts): per-IP half-open limits would
  # measure that artefact; the global cookie threshold (default 30 half-open SAs) stays as deployed
  block_threshold = 100000
  # a VICI initiate or terminate holds a worker thread until it completes: with many in parallel the
  # default 16 threads starve the IKE jobs themselves (attaches then stall until their timeout)
  threads = 64
  cookie_threshold_ip = 100000
  filelog {
    qkdnet {
      path = ${join(dir, 'charon.log')}
      time_format = %T
      ike_name = yes
      flush_line = yes
      default = 1
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
  plugins {
    vici {
      socket = unix://${join(dir, 'charon.vici')}
    }
    # charon follows addresses and routes through netlink events: a burst of them (1,000 UE addresses)
    # overflowed the default socket buffer ("No buffer space available") and charon missed some; 8 MiB,
    # forced past rmem_max (charon runs as root). The scale rig also adds its addresses before start-up.
    kernel-netlink {
      receive_buffer_size = 8388608
      force_receive_buffer_size = yes
    }
  }
}
`;
}

/** Whether strongSwan's daemon is installed on this machine. */
export function charonInstalled(): boolean {
  return existsSync(CHARON_PATH) && existsSync('/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so');
}

/** Starts charon in `namespace` with its files under `dir`; resolves once VICI answers. */
export async function startCharon(name: string, namespace: string, dir: string): Promise<Charon> {
  if (!charonInstalled())
    throw new QkdnetError(
      'IPSEC_UNAVAILABLE',
      `Cannot start charon: ${CHARON_PATH} or kernel-libipsec is missing (apt-get install strongswan-charon libcharon-extra-plugins)`,
    );
  // A fresh private directory (its parent must be private too): nothing planted there is used.
  makePrivateSubdir(dir);
  makePrivateSubdir(join(dir, 'run'));
  const conf = join(dir, 'strongswan.conf');
  writeNewFile(conf, charonConfig(dir));
  const viciPath = join(dir, 'charon.vici');
  const logPath = join(dir, 'charon.log');
  const out = openSync(join(dir, 'charon.stderr'), 'wx', 0o600);
  const child = spawn(
    'ip',
    ['netns', 'exec', namespace, 'sh', '-c', `mount --bind "$0/run" /run && exec ${CHARON_PATH}`, dir],
    { detached: true, stdio: ['ignore', out, out], env: { ...process.env, STRONGSWAN_CONF: conf } },
  );
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new QkdnetError('IPSEC_UNAVAILABLE', `Cannot start charon for ${name}`);
  writeNewFile(join(dir, 'charon.pid'), String(pid));
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = async () => {
    await stopPid(pid, () => exited);
  };
  for (let i = 0; i < 100; i++) {
    if (exited) break;
    if (existsSync(viciPath)) {
      assertOwnSocket(viciPath); // the daemon's own socket, in a directory nobody else can enter
      const c = await ViciClient.connect(viciPath, 1000).catch(() => undefined);
      if (c) {
        c.close();
        return { name, namespace, pid, dir, viciPath, logPath, stop };
      }
    }
    await sleep(30);
  }
  await stop();
  const tail = readTail(join(dir, 'charon.stderr')) || readTail(logPath);
  throw new QkdnetError('IPSEC_UNAVAILABLE', `charon for ${name} did not answer on VICI within 3 s: ${tail}`);
}

/**
 * Sends SIGTERM to `pid` (its process group), then SIGKILL if it is still alive after 3 s. Returns false
 * when there was nothing to stop.
 */
export async function stopPid(pid: number, gone: () => boolean = () => !alive(pid)): Promise<boolean> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      try {
        process.kill(pid, s);
      } catch {
        /* already gone */
      }
    }
  };
  if (gone() || !alive(pid)) return false;
  signal('SIGTERM');
  for (let i = 0; i < 60 && !gone() && alive(pid); i++) await sleep(50);
  if (!gone() && alive(pid)) signal('SIGKILL');
  return true;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '';
  }
}
