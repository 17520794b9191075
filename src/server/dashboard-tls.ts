// @edge: reads and writes certificate files (the run's PKI under the data directory).
/**
 * TLS of the dashboard: the server certificate comes from files the operator gives (`--tls-cert`,
 * `--tls-key`, e.g. from their own CA) or is issued by the run's PKI (src/kms/pki.ts) as `dashboard.pem`
 * with every name and address the server answers to as subject alternative names — re-issued when a
 * name is missing. It is a `kme`-kind certificate (the PKI's server-capable kind); no KME lists
 * `dashboard` among its peers, so it opens no KME route. With client certificates on, the server asks
 * for one and verifies it against the client CA (default: the run's CA), but lets a browser without one
 * through to the token login; roles are read from the certificate (access.ts). Client certificates are
 * checked against a CRL (`dashboardCrl`), followed like a KME follows its own.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { ServerOptions as HttpsOptions } from 'node:https';
import {
  certificatesOf,
  createPki,
  crlPath,
  issueCertificate,
  watchCrl,
  writeCrl,
  type CrlWatch,
} from '../kms/index.ts';

/** Where the dashboard's TLS material comes from. */
export interface DashboardTlsOptions {
  /** The run's PKI directory (`<data-dir>/pki`); its CA is created when missing. */
  readonly pkiDir: string;
  /** Server certificate chain and key files; both or neither. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Names and addresses the certificate must cover (when issued from the PKI). */
  readonly hosts: readonly string[];
  /** Ask for and verify client certificates. */
  readonly clientCertificates: boolean;
  /** CA file client certificates are verified against (default `<pkiDir>/ca.pem`). */
  readonly clientCa?: string;
}

/** True when `cert` names every host. */
export function certificateCovers(cert: X509Certificate, hosts: readonly string[]): boolean {
  return hosts.every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
}

/** Issues (or reuses) the server certificate and returns the options of `https.createServer`. */
export async function dashboardTls(o: DashboardTlsOptions): Promise<HttpsOptions> {
  let certFile = o.certFile;
  let keyFile = o.keyFile;
  if (certFile === undefined || keyFile === undefined) {
    if (!existsSync(join(o.pkiDir, 'ca.pem'))) await createPki(o.pkiDir, { commonName: 'qkdnet live CA' });
    certFile = join(o.pkiDir, 'dashboard.pem');
    keyFile = join(o.pkiDir, 'dashboard.key');
    const hosts = [...new Set(o.hosts)];
    const fresh =
      existsSync(certFile) && certificateCovers(new X509Certificate(readFileSync(certFile)), hosts);
    if (!fresh) await issueCertificate(o.pkiDir, 'dashboard', 'kme', { force: true, hosts });
  }
  const clientCa = o.clientCa ?? join(o.pkiDir, 'ca.pem');
  return {
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    minVersion: 'TLSv1.2',
    ...(o.clientCertificates
      ? { requestCert: true, rejectUnauthorized: false, ca: readFileSync(clientCa) }
      : { requestCert: false }),
  };
}

/**
 * The CRL client certificates are checked against: `crlFile`, or — when the client CA is the run's
 * (no `clientCa`) — `<pkiDir>/crl.pem`, written by the CA when missing. Reloaded on change and SIGHUP;
 * `onExpired` runs once when it lapses (src/kms/crl.ts policy: certificate logins are then refused).
 * Undefined when a foreign client CA is given without a CRL file (nothing to check against).
 */
export async function dashboardCrl(o: {
  readonly pkiDir: string;
  readonly clientCa?: string;
  readonly crlFile?: string;
  readonly log: (line: string) => void;
  readonly onExpired?: () => void;
}): Promise<CrlWatch | undefined> {
  let file = o.crlFile;
  if (file === undefined) {
    if (o.clientCa !== undefined) return undefined;
    file = crlPath(o.pkiDir);
    if (!existsSync(file)) await writeCrl(o.pkiDir);
  }
  const cas = certificatesOf(readFileSync(o.clientCa ?? join(o.pkiDir, 'ca.pem')));
  return watchCrl(
    file,
    cas,
    {
      info: (_o, m) => o.log(`dashboard client CRL: ${m}`),
      error: (e, m) => o.log(`dashboard client CRL: ${m} ${JSON.stringify(e)}`),
    },
    { ...(o.onExpired ? { onExpired: () => o.onExpired!() } : {}) },
  );
}
