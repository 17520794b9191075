/**
 * A small PKI for KMEs and SAEs, driving the `openssl` command line (OpenSSL 3, present on every Debian/
 * Ubuntu host and in CI) through child_process with argument vectors — no shell, names checked first.
 * Keys are ECDSA P-256 (prime256v1; NIST SP 800-186, as ETSI GS QKD 014 §4.2 leaves the TLS profile to
 * TLS 1.2+/RFC 8446 suites, which all support it). The CA is self-signed (10 years); leaf certificates
 * (825 days, the CA/Browser Forum maximum) carry the name as subject CN — the KME's identity of an SAE —
 * and as a DNS SAN; KME certificates also name localhost and 127.0.0.1 and allow serverAuth + clientAuth
 * (they serve SAEs and call peer KMEs), SAE certificates clientAuth only. Every file is made 0600 and a
 * directory it creates 0700 (./private-fs.ts). `revokeCertificate` keeps an `openssl ca` database beside
 * the CA and writes `crl.pem` (read by the KME through ./crl.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QkdnetError } from '../common/index.ts';
import { spkiSha256 } from './identity.ts';
import { makePrivateDir, PRIVATE_FILE_MODE, privatizeFiles } from './private-fs.ts';
import { isCertificateRole, ROLE_OID, ROLE_TLS_EKU, ROLES, type CertificateRole } from './roles.ts';

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
  /** SPKI SHA-256 of the new key (base64): the value to pin in a KME or client configuration. */
  readonly spkiSha256: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

async function openssl(args: string[], cwd?: string): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000, ...(cwd ? { cwd } : {}) });
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

/** `openssl req` arguments for a new request with a fresh unencrypted key on curve P-256 (prime256v1, NIST SP 800-186). */
const NEW_P256_KEY = ['-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

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
    ...NEW_P256_KEY,
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
  await writeCrl(dir); // an empty CRL from the start, so KMEs can be configured with it at once
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
    throw new RangeError(`Certificate kind "${String(kind)}" is not one of ${ROLES.join(', ')}`);
  const p = pkiAt(dir);
  if (!existsSync(p.caCert) || !existsSync(p.caKey))
    throw new QkdnetError(
      'CONFIG_INVALID',
      `Cannot issue "${name}": no CA in ${dir} (run qkdnet pki init --dir ${dir})`,
    );
  const out = { name, kind, cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
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
      ...NEW_P256_KEY,
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
  return { ...out, spkiSha256: spkiSha256(readFileSync(out.cert)) };
}

/** `openssl ca` configuration of a PKI directory (paths relative to it: no user text in the file). */
const CA_CONFIG = `[ ca ]
default_ca = qkdnet
[ qkdnet ]
database = crl-index.txt
crlnumber = crlnumber
certificate = ca.pem
private_key = ca.key
new_certs_dir = .
default_md = sha256
default_crl_days = 30
unique_subject = no
policy = anything
[ anything ]
commonName = supplied
`;

/** openssl ca writes its database 0644; the CA's bookkeeping stays private like its key. */
function privateCaFiles(dir: string): void {
  for (const f of ['crl-index.txt', 'crl-index.txt.attr', 'crl-index.txt.old', 'crl-index.txt.attr.old'])
    if (existsSync(join(dir, f))) chmodSync(join(dir, f), 0o600);
  for (const f of ['crlnumber', 'crlnumber.old'])
    if (existsSync(join(dir, f))) chmodSync(join(dir, f), 0o600);
}

/** Path of the CRL of PKI directory `dir` (`DIR/crl.pem`). */
export const crlPath = (dir: string): string => join(dir, 'crl.pem');

/**
 * (Re)writes `DIR/crl.pem`, signed by the CA, listing every certificate revoked so far (RFC 5280 §5;
 * `openssl ca -gencrl`, valid 30 days — run again, e.g. `qkdnet pki crl`, before it lapses). The file
 * is replaced atomically (rename), mode 0600, so a KME watching it never reads half a list.
 */
export async function writeCrl(
  dir: string,
  /** lastUpdate / nextUpdate other than now / now + 30 days (e.g. to test a lapsed CRL). */
  times: { lastUpdate?: Date; nextUpdate?: Date } = {},
): Promise<string> {
  const p = pkiAt(dir);
  if (!existsSync(p.caCert) || !existsSync(p.caKey))
    throw new QkdnetError('CONFIG_INVALID', `No CA in ${dir} (run qkdnet pki init --dir ${dir})`);
  const conf = join(dir, 'openssl-ca.cnf');
  writeFileSync(conf, CA_CONFIG, { mode: 0o600 });
  if (!existsSync(join(dir, 'crl-index.txt'))) writeFileSync(join(dir, 'crl-index.txt'), '', { mode: 0o600 });
  if (!existsSync(join(dir, 'crlnumber'))) writeFileSync(join(dir, 'crlnumber'), '01\n', { mode: 0o600 });
  const tmp = join(dir, `.crl-${randomBytes(6).toString('hex')}.pem`);
  try {
    const at = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
    await openssl(
      [
        'ca',
        '-config',
        'openssl-ca.cnf',
        '-gencrl',
        '-out',
        tmp,
        ...(times.lastUpdate ? ['-crl_lastupdate', at(times.lastUpdate)] : []),
        ...(times.nextUpdate ? ['-crl_nextupdate', at(times.nextUpdate)] : []),
      ],
      dir,
    );
    chmodSync(tmp, 0o600);
    renameSync(tmp, crlPath(dir));
  } finally {
    rmSync(tmp, { force: true });
    privateCaFiles(dir);
  }
  return crlPath(dir);
}

/**
 * Revokes `DIR/<name>.pem` (or the certificate file `certFile`, e.g. an older copy replaced with
 * --force) and rewrites the CRL. Revoking twice is harmless. Returns the CRL path and the serial.
 */
export async function revokeCertificate(
  dir: string,
  name: string,
  opts: { certFile?: string; reason?: 'keyCompromise' | 'superseded' | 'cessationOfOperation' } = {},
): Promise<{ crl: string; serial: string }> {
  if (!NAME.test(name)) throw new RangeError(`Certificate name "${name}" is not a valid name`);
  const cert = opts.certFile ?? join(dir, `${name}.pem`);
  if (!existsSync(cert))
    throw new QkdnetError('CONFIG_INVALID', `Cannot revoke "${name}": ${cert} does not exist`);
  const x = new X509Certificate(readFileSync(cert));
  const serial = x.serialNumber.toUpperCase();
  await writeCrl(dir); // creates the database files on first use
  const index = readFileSync(join(dir, 'crl-index.txt'), 'utf8');
  const listed = index
    .split('\n')
    .some((l) => l.startsWith('R\t') && l.split('\t')[3]?.toUpperCase() === serial);
  if (!listed) {
    await openssl(
      ['ca', '-config', 'openssl-ca.cnf', '-revoke', cert, '-crl_reason', opts.reason ?? 'keyCompromise'],
      dir,
    );
  }
  return { crl: await writeCrl(dir), serial };
}
