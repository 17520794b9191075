/**
 * The directory of one site of `qkdnet up --sites …`: `<dataDir>/sites/<node>/` (0700) holding the site's
 * own TLS identity (`tls/kme.pem`, `tls/kme.key`, `tls/ca.pem`, copied from the scenario's PKI in
 * `<dataDir>/pki`), its store key, its SQLite store and `kme.yaml` — a plain `qkdnet kme serve`
 * configuration (docs/kme.md), so a site here is configured exactly like a KME on its own host
 * (docs/deploy.md). Relative paths in `kme.yaml` resolve from the site directory. Peers are pinned by
 * the SPKI SHA-256 of their certificates and the CRL is the PKI's, so a revocation reaches every site.
 */
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { crlPath, makePrivateDir, type KmeConfig } from '../kms/index.ts';
import { kmeName, pinOf, saeName } from './kme-fleet.ts';
import { SITE_CONFIG } from './site-protocol.ts';

/** Where one site lives and how it is reached. */
export interface SitePlan {
  readonly node: string;
  /** The site's private directory. */
  readonly dir: string;
  /** Address and port its KME listens on (inside its namespace with `--sites netns`). */
  readonly listenHost: string;
  readonly port: number;
  /** Its KME's base URL as the supervisor (and the dashboard's SAE sessions) reach it. */
  readonly url: string;
}

/** The directory of `node`'s site under a data directory. */
export function siteDir(dataDir: string, node: string): string {
  return join(dataDir, 'sites', node);
}

/**
 * Writes (or rewrites: ports change per run) the site's `kme.yaml` and copies its certificates from
 * the PKI when missing (or always, with `refreshTls`, after the PKI re-issued them). `peers` gives, per neighbour node, the URL this site uses to reach it (directly,
 * or through the link's delaying proxy). Returns the configuration as written.
 */
export function writeSiteConfig(
  plan: SitePlan,
  pkiDir: string,
  peers: readonly { readonly node: string; readonly url: string }[],
  opts: { testSaes?: boolean; logLevel?: KmeConfig['logLevel']; refreshTls?: boolean } = {},
): KmeConfig {
  makePrivateDir(plan.dir);
  const tls = join(plan.dir, 'tls');
  makePrivateDir(tls);
  const copies: [string, string][] = [
    [`${kmeName(plan.node)}.pem`, 'kme.pem'],
    [`${kmeName(plan.node)}.key`, 'kme.key'],
    ['ca.pem', 'ca.pem'],
  ];
  for (const [from, to] of copies)
    if (opts.refreshTls || !existsSync(join(tls, to))) copyFileSync(join(pkiDir, from), join(tls, to));
  const config: KmeConfig = {
    id: kmeName(plan.node),
    host: plan.listenHost,
    port: plan.port,
    tls: { cert: 'tls/kme.pem', key: 'tls/kme.key', ca: 'tls/ca.pem', crl: crlPath(pkiDir) },
    store: `${kmeName(plan.node)}.db`,
    storeKey: { file: 'store.key' },
    saes: [
      {
        id: saeName(plan.node),
        pin: pinOf(pkiDir, saeName(plan.node)),
        ...(opts.testSaes ? { test: true } : {}),
      },
    ],
    peers: peers.map((p) => ({
      id: kmeName(p.node),
      url: p.url,
      saes: [saeName(p.node)],
      pin: pinOf(pkiDir, kmeName(p.node)),
    })),
    logLevel: opts.logLevel ?? 'warn',
  };
  writeFileSync(
    join(plan.dir, SITE_CONFIG),
    `# Site ${plan.node}, written by qkdnet up --sites (rewritten at every start: ports change).\n` +
      `# The same file runs this site on its own host: qkdnet kme serve --config ${SITE_CONFIG}\n` +
      stringify(config),
    { mode: 0o600 },
  );
  return config;
}
