// @edge: creates Linux network namespaces and a veth pair with `ip` (root only)
/**
 * The two-namespace topology of the 5G non-3GPP access scenario (3GPP TS 23.501 §4.2.8: the UE reaches
 * the N3IWF over untrusted access with IKEv2/IPsec, TS 24.502): namespace `<prefix>-ue` and
 * `<prefix>-n3iwf` joined by one veth pair. Outer (IKE) addresses 10.99.0.1/30 and 10.99.0.2/30; inner
 * (tunnelled) hosts 10.99.0.65/32 and 10.99.0.97/32 on `lo` — separate subnets, as kernel-libipsec needs
 *. The host's interfaces are never touched: the veth is created inside
 * the UE namespace and its peer moved into the N3IWF namespace. Existing namespaces of the same names are
never reused or removed (another run may own them); `destroy()` is idempotent.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { QkdnetError } from '../common/index.ts';

const run = promisify(execFile);

/** Addresses of the topology (fixed: each pair of namespaces has its own network stack). */
export const NETNS_ADDR = {
  ueOuter: '10.99.0.1',
  n3iwfOuter: '10.99.0.2',
  outerPrefix: 30,
  ueInner: '10.99.0.65',
  n3iwfInner: '10.99.0.97',
} as const;

/** A created pair of namespaces. */
export interface NetnsPair {
  readonly ue: string;
  readonly n3iwf: string;
  /** Runs a command inside a namespace; rejects with its stderr on a non-zero exit. */
  exec(ns: string, argv: readonly string[], timeoutMs?: number): Promise<string>;
  /** Deletes both namespaces (and with them the veth pair); safe to call twice. */
  destroy(): Promise<void>;
}

/** Throws IPSEC_NOT_ROOT unless the process runs as root (namespaces and charon need it). */
export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new QkdnetError(
      'IPSEC_NOT_ROOT',
      `Cannot ${what}: network namespaces and charon need root (uid is ${process.getuid()}); run with sudo`,
    );
}

async function ip(argv: readonly string[], timeoutMs = 10_000): Promise<string> {
  try {
    const r = await run('ip', [...argv], { timeout: timeoutMs });
    return r.stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new QkdnetError(
      'IPSEC_UNAVAILABLE',
      `ip ${argv.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`,
    );
  }
}

/** Lists existing namespaces whose name starts with `prefix`. */
export async function listNamespaces(prefix: string): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Deletes a namespace if it exists (processes inside must be stopped first). */
export async function deleteNamespace(name: string): Promise<void> {
  if ((await listNamespaces(name)).includes(name)) await ip(['netns', 'delete', name]);
}

/** Creates the UE/N3IWF pair; on any failure what was created is deleted before the error propagates. */
export async function createNetnsPair(prefix: string): Promise<NetnsPair> {
  requireRoot('create network namespaces');
  if (!/^[a-z0-9-]{1,20}$/.test(prefix))
    throw new RangeError(`namespace prefix "${prefix}" is not [a-z0-9-]{1,20}`);
  const ue = `${prefix}-ue`;
  const n3iwf = `${prefix}-n3iwf`;
  const exec = (ns: string, argv: readonly string[], timeoutMs?: number) =>
    ip(['netns', 'exec', ns, ...argv], timeoutMs);
  const destroy = async () => {
    await deleteNamespace(ue);
    await deleteNamespace(n3iwf);
  };
  const existing = (await listNamespaces(`${prefix}-`)).filter((n) => n === ue || n === n3iwf);
  if (existing.length > 0)
    throw new QkdnetError(
      'IPSEC_UNAVAILABLE',
      `Cannot create namespaces ${ue} and ${n3iwf}: ${existing.join(' and ')} ${existing.length === 1 ? 'exists' : 'exist'} already — another run with prefix "${prefix}" is active or crashed (qkdnet ipsec down --prefix ${prefix})`,
    );
  try {
    await ip(['netns', 'add', ue]);
    await ip(['netns', 'add', n3iwf]);
    const { ueOuter, n3iwfOuter, outerPrefix, ueInner, n3iwfInner } = NETNS_ADDR;
    await ip(['-n', ue, 'link', 'add', 'veth-ue', 'type', 'veth', 'peer', 'name', 'veth-n3iwf']);
    await ip(['-n', ue, 'link', 'set', 'veth-n3iwf', 'netns', n3iwf]);
    for (const [ns, dev, outer, inner] of [
      [ue, 'veth-ue', ueOuter, ueInner],
      [n3iwf, 'veth-n3iwf', n3iwfOuter, n3iwfInner],
    ] as const) {
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', ns, 'addr', 'add', `${outer}/${outerPrefix}`, 'dev', dev]);
      await ip(['-n', ns, 'addr', 'add', `${inner}/32`, 'dev', 'lo']);
      await ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (e) {
    await destroy().catch(() => undefined);
    throw e;
  }
  return { ue, n3iwf, exec, destroy };
}
