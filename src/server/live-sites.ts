// @edge: locks the data directory, writes the sites' PKI and configurations, starts their processes.
/**
 * The sites of `qkdnet up --sites MODE`: the data directory is locked for the supervisor, the
 * scenario's PKI is made (or reused) in `<dataDir>/pki`, every node gets its site directory and
 * `kme.yaml` (./site-config.ts) and its own OS process (./site-fleet.ts).
 *
 * - `processes`: every KME listens on 127.0.0.1 at a port reserved for the run; peers reach each other
 *   directly over mutual TLS.
 * - `netns` (root): every site runs in its own network namespace, and each KME-to-KME connection goes
 *   through that link's delaying proxy (./site-netns.ts).
 */
import { join } from 'node:path';
import { issueCertificate, withDataDirLock } from '../kms/index.ts';
import { ensurePki, freePorts, kmeName, type FleetNode } from './kme-fleet.ts';
import { siteDir, writeSiteConfig, type SitePlan } from './site-config.ts';
import { startSiteFleet, type SiteFleet } from './site-fleet.ts';
import { createSiteNetwork, type SiteLink } from './site-netns.ts';

/** How sites are separated. */
export type SitesMode = 'processes' | 'netns';

/** The values `--sites` accepts (`inline` = the default: every KME in the `up` process). */
export const SITES_MODES = ['inline', 'processes', 'netns'] as const;

/** Options of `startLiveSites`. */
export interface LiveSitesOptions {
  readonly mode: SitesMode;
  readonly nodes: readonly FleetNode[];
  /** The scenario's links (netns: one delaying proxy per KME pair that is a link). */
  readonly links: readonly SiteLink[];
  readonly dataDir: string;
  readonly testSaes?: boolean;
  readonly strictPermissions?: boolean;
  readonly onDown?: (node: string, reason: string) => void;
  readonly onUp?: (node: string) => void;
}

/** Running sites (and, with netns, their network); `close()` stops them and releases the directory. */
export type LiveSites = SiteFleet & { readonly mode: SitesMode; readonly describe: string };

/** Starts one site process per node; on any failure everything started is stopped and removed. */
export function startLiveSites(o: LiveSitesOptions): Promise<LiveSites> {
  return withDataDirLock(o.dataDir, { strictPermissions: o.strictPermissions ?? false }, async (lock) => {
    const pkiDir = join(o.dataDir, 'pki');
    await ensurePki(pkiDir, o.nodes);
    const ports = await freePorts(o.nodes.length);
    const net =
      o.mode === 'netns'
        ? await createSiteNetwork(
            o.nodes.map((n) => n.id),
            o.links,
            o.nodes.flatMap((n) => n.neighbours.map((m) => [n.id, m] as const)),
          )
        : null;
    try {
      const plans: SitePlan[] = o.nodes.map((n, i) => ({
        node: n.id,
        dir: siteDir(o.dataDir, n.id),
        listenHost: net ? '0.0.0.0' : '127.0.0.1',
        port: ports[i]!,
        url: `https://${net ? net.address(n.id) : '127.0.0.1'}:${ports[i]}`,
      }));
      const plan = new Map(plans.map((p) => [p.node, p]));
      const peerUrl = (from: string, to: string) =>
        net ? net.peerUrl(from, to, plan.get(to)!.port) : plan.get(to)!.url;
      net?.startProxies(
        (node) => plan.get(node)!.port,
        (line) => process.stderr.write(`qkdnet: ${line}\n`),
      );
      // In namespaces the KMEs are reached at this run's addresses: each site's KME certificate is
      // re-issued by the scenario's CA to name them (TLS checks the address as well as the KME id).
      if (net)
        for (const n of o.nodes)
          await issueCertificate(pkiDir, kmeName(n.id), 'kme', { force: true, hosts: net.addresses(n.id) });
      for (const n of o.nodes)
        writeSiteConfig(
          plan.get(n.id)!,
          pkiDir,
          n.neighbours.map((m) => ({ node: m, url: peerUrl(n.id, m) })),
          { ...(o.testSaes ? { testSaes: true } : {}), refreshTls: net !== null },
        );
      const fleet = startSiteFleet({
        plans,
        pkiDir,
        ...(net ? { prefix: (node: string) => net.prefix(node) } : {}),
        ...(o.onDown ? { onDown: o.onDown } : {}),
        ...(o.onUp ? { onUp: o.onUp } : {}),
      });
      let closing: Promise<void> | undefined;
      return {
        ...fleet,
        mode: o.mode,
        describe: net ? net.describe : `${o.nodes.length} site processes on 127.0.0.1`,
        close: () =>
          (closing ??= (async () => {
            await fleet.close();
            await net?.destroy();
            lock.release();
          })()),
      };
    } catch (e) {
      await net?.destroy();
      throw e;
    }
  });
}
