/**
 * The access flags of `qkdnet up` (docs/dashboard.md "Security"): TLS, tokens, client certificates,
 * allowed hosts and origins, trusted proxies and SIEM sinks. `planAccess` checks them all and reads
 * every file before anything is created — off loopback, a start without a way to authenticate is one
 * line and exit 2 — and returns what the server needs; `accessConfig` completes it once the PKI exists.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import type { AlertFormat } from '../../detect/index.ts';
import {
  generateToken,
  hostsFor,
  isLoopbackHost,
  parseOrigin,
  parseTokenFile,
  sinkFromUrl,
  type AccessConfig,
  type AccessRole,
  type TokenEntry,
} from '../../server/index.ts';
import { readInputFile } from '../preflight.ts';
import { UsageError } from '../util.ts';

/** The raw flags. */
export interface AccessFlags {
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  generateTokens?: boolean;
  operatorTokenFile?: string;
  viewerTokenFile?: string;
  metricsTokenFile?: string;
  clientCerts?: boolean;
  clientCa?: string;
  clientCrl?: string;
  allowedHost?: string[];
  allowedOrigin?: string[];
  trustProxy?: string[];
  siem?: string[];
  siemFormat?: string;
  siemCa?: string;
}

/** Registers the flags on `up`. */
export function accessOptions(cmd: Command): Command {
  return cmd
    .option('--tls', 'serve HTTPS on loopback too (always on off loopback)')
    .option('--tls-cert <file>', 'server certificate chain, PEM (default: issued by <data-dir>/pki)')
    .option('--tls-key <file>', 'its private key, PEM')
    .option('--generate-tokens', 'make an operator and a viewer login token, printed once at start-up')
    .option('--operator-token-file <file>', 'operator tokens, one per line: TOKEN or NAME TOKEN')
    .option('--viewer-token-file <file>', 'viewer tokens (state, events, metrics; no controls)')
    .option('--metrics-token-file <file>', 'bearer tokens for /metrics only (Prometheus)')
    .option(
      '--client-certs',
      'accept client certificates from `qkdnet pki issue --kind operator|viewer|metrics`',
    )
    .option('--client-ca <file>', 'CA that client certificates must chain to (default <data-dir>/pki/ca.pem)')
    .option(
      '--client-crl <file>',
      'CRL client certificates are checked against (default <data-dir>/pki/crl.pem with the default CA); once it lapses, certificate logins are refused',
    )
    .option(
      '--allowed-host <host...>',
      "extra Host names to answer to (a reverse proxy's), name or name:port",
    )
    .option('--allowed-origin <origin...>', 'extra origins for controls, e.g. https://qkd.example.org')
    .option('--trust-proxy <addr...>', 'believe X-Forwarded-For from these proxy addresses/CIDRs')
    .option(
      '--siem <url...>',
      'send alerts and the audit trail to syslog+udp|tcp|tls://host:port, file:///path, https://…',
    )
    .option('--siem-format <f>', 'rfc5424, cef or json (default rfc5424 on syslog, json in files)')
    .option('--siem-ca <file>', 'CA for a syslog+tls receiver (default: the system CAs)');
}

/** What `qkdnet up` will do about access, decided before anything starts. */
export interface AccessPlan {
  readonly offLoopback: boolean;
  readonly tls: boolean;
  readonly tokens: readonly TokenEntry[];
  /** Tokens made at start-up, printed once. */
  readonly generated: { readonly operator: string; readonly viewer: string } | null;
  readonly requireAuth: boolean;
  readonly flags: AccessFlags;
}

const readable = (file: string, flag: string): string => readInputFile(file, flag);

const usage = <T>(f: () => T): T => {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
};

/** Checks every access flag against `host`; throws UsageError (exit 2) with one line. */
export function planAccess(host: string, f: AccessFlags): AccessPlan {
  const offLoopback = !isLoopbackHost(host);
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  if (f.tlsCert) readable(f.tlsCert, '--tls-cert');
  if (f.tlsKey) readable(f.tlsKey, '--tls-key');
  if (f.clientCa) readable(f.clientCa, '--client-ca');
  if (f.clientCrl) readable(f.clientCrl, '--client-crl');
  if (f.clientCrl && !f.clientCerts) throw new UsageError('--client-crl needs --client-certs');
  if (f.siemCa) readable(f.siemCa, '--siem-ca');
  const tokens: TokenEntry[] = [];
  const fromFile = (file: string | undefined, role: AccessRole, flag: string) => {
    if (file) tokens.push(...usage(() => parseTokenFile(readable(file, flag), role, flag)));
  };
  fromFile(f.operatorTokenFile, 'operator', '--operator-token-file');
  fromFile(f.viewerTokenFile, 'viewer', '--viewer-token-file');
  fromFile(f.metricsTokenFile, 'metrics', '--metrics-token-file');
  const generated = f.generateTokens ? { operator: generateToken(), viewer: generateToken() } : null;
  if (generated)
    tokens.push(
      { name: 'operator-token', role: 'operator', token: generated.operator },
      { name: 'viewer-token', role: 'viewer', token: generated.viewer },
    );
  if (new Set(tokens.map((t) => t.token)).size !== tokens.length)
    throw new UsageError('token files: the same token appears twice (each token must name one role)');
  const canLogIn = tokens.some((t) => t.role !== 'metrics') || f.clientCerts === true;
  if (offLoopback && !canLogIn)
    throw new UsageError(
      `--host ${host} is not a loopback address, so the dashboard needs authentication: add --generate-tokens, --operator-token-file FILE or --client-certs`,
    );
  usage(() => hostsFor(host, f.allowedHost ?? []));
  for (const o of f.allowedOrigin ?? []) usage(() => parseOrigin(o));
  const format = f.siemFormat;
  if (format !== undefined && !['rfc5424', 'cef', 'json'].includes(format))
    throw new UsageError(`--siem-format: "${format}" is not rfc5424, cef or json`);
  for (const url of f.siem ?? [])
    void usage(() => sinkFromUrl(url, format as AlertFormat | undefined)).close();
  return {
    offLoopback,
    tls: offLoopback || f.tls === true || f.tlsCert !== undefined || f.clientCerts === true,
    tokens,
    generated,
    requireAuth: offLoopback || canLogIn,
    flags: f,
  };
}

/** The server's access configuration for `host`. */
export function accessConfig(
  host: string,
  plan: AccessPlan,
  /** Revocation check of client certificates (src/kms/crl.ts `revocationCheck`). */
  revoked?: (serial: string) => boolean,
): AccessConfig {
  return {
    hosts: hostsFor(host, plan.flags.allowedHost ?? []),
    origins: (plan.flags.allowedOrigin ?? []).map(parseOrigin),
    secure: plan.tls,
    tokens: plan.tokens,
    clientCertificates: plan.flags.clientCerts === true,
    ...(revoked ? { revoked } : {}),
    requireAuth: plan.requireAuth,
  };
}

/** The SIEM sinks of the plan (opened now: call after the checks). */
export function siemSinks(plan: AccessPlan) {
  const f = plan.flags;
  return (f.siem ?? []).map((u) => sinkFromUrl(u, f.siemFormat as AlertFormat | undefined, f.siemCa));
}

/** Names and addresses the issued server certificate must cover. */
export function certificateHosts(host: string, plan: AccessPlan): string[] {
  return hostsFor(host, plan.flags.allowedHost ?? [])
    .map((h) => h.hostname)
    .filter((h) => /^[A-Za-z0-9.:-]{1,253}$/.test(h));
}

/** The client CA file (default in the run's PKI). */
export const clientCaOf = (plan: AccessPlan, dataDir: string): string =>
  plan.flags.clientCa ?? join(dataDir, 'pki', 'ca.pem');
