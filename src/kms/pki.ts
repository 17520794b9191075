/**
 * A small PKI for KMEs and SAEs, driving the `openssl` command line (OpenSSL 3, present on every Debian/
 * Ubuntu host and in CI) through child_process with argument vectors — no shell, names checked first.
 * Keys are ECDSA P-256 (prime256v1; NIST SP 800-186, as ETSI GS QKD 014 §4.2 leaves the TLS profile to
 * TLS 1.2+/RFC 8446 suites, which all support it). The CA is self-signed (10 years); leaf certificates
 * (825 days, the CA/Browser Forum maximum) carry the name as subject CN — the KME's identity of an SAE —
 * and as a DNS SAN; KME certificates also name localhost and 127.0.0.1 and allow serverAuth + clientAuth
 * (they serve SAEs and call peer KMEs), SAE certificates clientAuth only. Every file is made 0600 and a
 * directory it creates 0700 (./private-fs.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QkdnetError } from '../common/index.ts';
import { makePrivateDir, PRIVATE_FILE_MODE, privatizeFiles } from './private-fs.ts';
import { isCertificateRole, ROLE_OID, ROLE_TLS_EKU, type CertificateRole } from './roles.ts';

const run = promisify(execFile);

/** Paths of a PKI directory's CA. */
export interface Pki {
  readonly dir: string;
  /** CA certificate, PEM (`DIR/ca.pem`): the trust anchor every KME and SAE is given. */
  readonly caCert: string;
  /** CA private key, PEM (`DIR/ca.key`, mode 0600). */
  readonly caKey: string;
}

/** Paths of an issued certificate and its key. */
export interface IssuedCertificate {
  readonly name: string;
  readonly kind: CertificateRole;
  /** `DIR/<name>.pem` */
  readonly cert: string;
  /** `DIR/<name>.key` (mode 0600) */
  readonly key: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new QkdnetError('CONFIG_INVALID', 'Cannot create certificates: openssl is not installed');
    throw new QkdnetError(
      'CONFIG_INVALID',
      `openssl ${args[0]} failed: ${(err.stderr ?? err.message).trim().split('\n')[0]}`,
    );
  }
}

/** The PKI in `dir` (no files touched). */
export function pkiAt(dir: string): Pki {
  return { dir, caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca.key') };
}

/** Creates `dir/ca.pem` + `dir/ca.key`. Refuses to replace an existing CA unless `force`. */
export async function createPki(
  dir: string,
  opts: { force?: boolean; commonName?: string } = {},
): Promise<Pki> {
  const p = pkiAt(dir);
  if (existsSync(p.caCert) && !opts.force)
    throw new QkdnetError(
      'CONFIG_INVALID',
      `Cannot create a CA in ${dir}: ca.pem already exists (use --force to replace)`,
    );
  makePrivateDir(dir);
  const cn = opts.commonName ?? 'qkdnet CA';
  if (!/^[A-Za-z0-9 ._@-]{1,64}$/.test(cn))
    throw new RangeError(`CA name "${cn}" has characters outside A-Z a-z 0-9 space . _ @ -`);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    p.caKey,
    '-out',
    p.caCert,
    '-days',
    '3650',
    '-sha256',
    '-subj',
    `/O=qkdnet/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  privatizeFiles(p.caKey, p.caCert);
  return p;
}

/**
 * Issues `dir/<name>.pem` + `dir/<name>.key` signed by the CA in `dir`. `hosts` adds DNS/IP SANs (KMEs
 * reachable elsewhere than 127.0.0.1). Refuses to replace an existing certificate unless `force`.
 */
export async function issueCertificate(
  dir: string,
  name: string,
  kind: CertificateRole,
  opts: { force?: boolean; hosts?: readonly string[] } = {},
): Promise<IssuedCertificate> {
  if (!NAME.test(name))
    throw new RangeError(
      `Certificate name "${name}" must be 1–64 of A-Z a-z 0-9 . _ @ - (starting alphanumeric)`,
    );
  if (!isCertificateRole(kind))
    throw new RangeError(`Certificate kind "${String(kind)}" is not kme, sae, operator, viewer or metrics`);
  const p = pkiAt(dir);
  if (!existsSync(p.caCert) || !existsSync(p.caKey))
    throw new QkdnetError(
      'CONFIG_INVALID',
      `Cannot issue "${name}": no CA in ${dir} (run qkdnet pki init --dir ${dir})`,
    );
  const out: IssuedCertificate = {
    name,
    kind,
    cert: join(dir, `${name}.pem`),
    key: join(dir, `${name}.key`),
  };
  if (name === 'ca') throw new RangeError('Certificate name "ca" is reserved for the CA');
  if (existsSync(out.cert) && !opts.force)
    throw new QkdnetError(
      'CONFIG_INVALID',
      `Cannot issue "${name}": ${out.cert} already exists (use --force to replace)`,
    );
  const hosts = [...(kind === 'kme' ? ['localhost', '127.0.0.1', '::1'] : []), ...(opts.hosts ?? [])];
  for (const h of hosts)
    if (!/^[A-Za-z0-9.:-]{1,253}$/.test(h)) throw new RangeError(`Host "${h}" is not a DNS name or IP`);
  const san = [`DNS:${name}`, ...hosts.map((h) => (/^[0-9.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`))];
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyAgreement',
      `extendedKeyUsage=${ROLE_TLS_EKU[kind]},${ROLE_OID[kind]}`,
      `subjectAltName=${[...new Set(san)].join(',')}`,
      '',
    ].join('\n'),
    { mode: PRIVATE_FILE_MODE },
  );
  try {
    await openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      out.key,
      '-out',
      csr,
      '-subj',
      `/O=qkdnet/OU=${kind}/CN=${name}`,
    ]);
    privatizeFiles(out.key);
    await openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      p.caCert,
      '-CAkey',
      p.caKey,
      '-set_serial',
      `0x${(randomBytes(16)[0]! & 0x7f).toString(16).padStart(2, '0')}${randomBytes(15).toString('hex')}`,
      '-days',
      '825',
      '-sha256',
      '-extfile',
      ext,
      '-out',
      out.cert,
    ]);
    privatizeFiles(out.cert);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  return out;
}
