// @edge: runs strongSwan's `pki` tool to issue the certificates of the certificate modes
/**
 * Certificates for the `cert-ecdsa` (P-256) and `cert-rsa3072` modes, issued with strongSwan's own `pki`
 * tool (strongSwan docs "pki --gen/--self/--issue"): one CA per algorithm, one end-entity certificate per
 * side with the IKE identity as subjectAltName. Files are written once per work directory (mode 0600 for
 * private keys) and loaded into charon over VICI (`load-cert`, `load-key`). Test credentials only.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QkdnetError } from '../common/index.ts';
import { IKE_ID } from './connections.ts';
import type { ViciClient } from './vici-client.ts';
import { assertPrivateDir, makePrivateSubdir, writeNewFile } from './workdir.ts';

const run = promisify(execFile);

/** Key algorithms of the certificate modes. */
export type CertAlgorithm = 'ecdsa' | 'rsa3072';

/** PEM texts of one algorithm's credentials. */
export interface CertSet {
  readonly algorithm: CertAlgorithm;
  readonly caPem: string;
  readonly ue: { readonly certPem: string; readonly keyPem: string };
  readonly n3iwf: { readonly certPem: string; readonly keyPem: string };
}

async function pki(args: readonly string[], input?: Buffer): Promise<Buffer> {
  try {
    const p = run('pki', [...args], { encoding: 'buffer', maxBuffer: 1 << 20 });
    if (input) p.child.stdin?.end(input);
    return (await p).stdout;
  } catch (e) {
    throw new QkdnetError(
      'IPSEC_UNAVAILABLE',
      `pki ${args[0]} failed: ${(e as Error).message.split('\n')[0]}`,
    );
  }
}

async function genKey(algorithm: CertAlgorithm): Promise<Buffer> {
  return algorithm === 'ecdsa'
    ? pki(['--gen', '--type', 'ecdsa', '--size', '256', '--outform', 'pem'])
    : pki(['--gen', '--type', 'rsa', '--size', '3072', '--outform', 'pem']);
}

/**
 * Issues (or reads back, when this run already issued them) the CA and both end-entity certificates for
 * `algorithm` in `dir/certs-<algorithm>`. `dir` must be a private directory (./workdir.ts); files are
 * created exclusively, so a planted file or symlink is an error, never written through or trusted.
 */
export async function ensureCerts(dir: string, algorithm: CertAlgorithm): Promise<CertSet> {
  assertPrivateDir(dir);
  const d = join(dir, `certs-${algorithm}`);
  const f = (n: string) => join(d, n);
  if (existsSync(d)) assertPrivateDir(d);
  if (!existsSync(f('done'))) {
    makePrivateSubdir(d);
    const type = algorithm === 'ecdsa' ? 'ecdsa' : 'rsa';
    const caKey = await genKey(algorithm);
    writeNewFile(f('ca.key'), caKey);
    const caCert = await pki([
      '--self',
      '--ca',
      '--lifetime',
      '3650',
      '--type',
      type,
      '--in',
      f('ca.key'),
      '--dn',
      `CN=qkdnet test CA ${algorithm}`,
      '--outform',
      'pem',
    ]);
    writeNewFile(f('ca.pem'), caCert);
    for (const side of ['ue', 'n3iwf'] as const) {
      const key = await genKey(algorithm);
      writeNewFile(f(`${side}.key`), key);
      const pub = await pki(['--pub', '--type', type, '--in', f(`${side}.key`)]);
      const cert = await pki(
        [
          '--issue',
          '--lifetime',
          '365',
          '--cacert',
          f('ca.pem'),
          '--cakey',
          f('ca.key'),
          '--type',
          'pub',
          '--dn',
          `CN=${IKE_ID[side]}`,
          '--san',
          IKE_ID[side],
          '--outform',
          'pem',
        ],
        pub,
      );
      writeNewFile(f(`${side}.pem`), cert);
    }
    writeNewFile(f('done'), '');
  }
  const read = (n: string) => readFileSync(f(n), 'utf8');
  return {
    algorithm,
    caPem: read('ca.pem'),
    ue: { certPem: read('ue.pem'), keyPem: read('ue.key') },
    n3iwf: { certPem: read('n3iwf.pem'), keyPem: read('n3iwf.key') },
  };
}

/** Loads the CA (trust anchor) and this side's certificate and private key into charon. */
export async function loadCerts(vici: ViciClient, set: CertSet, side: 'ue' | 'n3iwf'): Promise<void> {
  await vici.call('load-cert', { type: 'X509', flag: 'CA', data: set.caPem });
  await vici.call('load-cert', { type: 'X509', flag: 'NONE', data: set[side].certPem });
  await vici.call('load-key', { type: set.algorithm === 'ecdsa' ? 'ecdsa' : 'rsa', data: set[side].keyPem });
}
