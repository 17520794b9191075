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
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { issueCertificate, withDataDirLock } from '../kms/index.ts';
import type { LinkParams } from '../physics/index.ts';
import type { KeyMode } from '../postprocess/index.ts';
import { ensurePki, freePorts, kmeName, type FleetNode } from './kme-fleet.ts';
import { siteDir, writeSiteConfig, type SitePlan } from './site-config.ts';
import { startSiteFleet, type SiteFleet } from './site-fleet.ts';
import { ensureLinkPreshared, writeSiteLinks, type SiteLinkEnd } from './site-links.ts';
import type { FromSite } from './site-protocol.ts';
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
  /** Every message a site sends (./site-protocol.ts). */
  readonly onMessage?: (node: string, m: FromSite) => void;
  /**
   * Links post-processed two-party between their two sites (./site-pp.ts): Alice (`from`) listens, Bob
   * (`to`) connects — directly, or with netns through the link's delaying proxy.
   */
  readonly ppLinks?: readonly SitePpLink[];
  /** The simulated physics of those links (default seed 1, secret keys, 10⁹ pulses per block). */
  readonly pp?: { readonly seed?: string; readonly keys?: KeyMode; readonly pulses?: number };
}

/** A link whose post-processing runs between its two sites. */
export interface SitePpLink {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly params: LinkParams;
  readonly distanceKm: number;
}

/** Running sites (and, with netns, their network); `close()` stops them and releases the directory. */
export type LiveSites = SiteFleet & { readonly mode: SitesMode; readonly describe: string };

/** Starts one site process per node; on any failure everything started is stopped and removed. */
export function startLiveSites(o: LiveSitesOptions): Promise<LiveSites> {
  return withDataDirLock(o.dataDir, { strictPermissions: o.strictPermissions ?? false }, async (lock) => {
    const pkiDir = join(o.dataDir, 'pki');
    await ensurePki(pkiDir, o.nodes);
    const ppLinks = o.ppLinks ?? [];
    const ports = await freePorts(o.nodes.length + ppLinks.length);
    const ppPort = new Map(ppLinks.map((l, i) => [l.id, ports[o.nodes.length + i]!]));
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
        (linkId) => ppPort.get(linkId),
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
      // Each site's ends of its links' post-processing, and the links' pre-shared secrets (kept across runs).
      const runId = randomBytes(4).toString('hex');
      const ends = new Map<string, SiteLinkEnd[]>(o.nodes.map((n) => [n.id, []]));
      for (const l of ppLinks) {
        const preshared = ensureLinkPreshared(plan.get(l.from)!.dir, plan.get(l.to)!.dir, l.id);
        const common = {
          linkId: l.id,
          params: l.params,
          distanceKm: l.distanceKm,
          pulses: o.pp?.pulses ?? 1e9,
          seed: o.pp?.seed ?? '1',
          keys: o.pp?.keys ?? 'secret',
          runId,
          preshared,
        };
        const port = ppPort.get(l.id)!;
        ends.get(l.from)!.push({
          ...common,
          role: 'alice',
          peerKme: kmeName(l.to),
          host: net ? '0.0.0.0' : '127.0.0.1',
          port,
        });
        ends.get(l.to)!.push({
          ...common,
          role: 'bob',
          peerKme: kmeName(l.from),
          ...(net ? net.ppEndpoint(l.id) : { host: '127.0.0.1', port }),
        });
      }
      for (const n of o.nodes) writeSiteLinks(plan.get(n.id)!.dir, ends.get(n.id)!);
      const fleet = startSiteFleet({
        plans,
        pkiDir,
        ...(net ? { prefix: (node: string) => net.prefix(node) } : {}),
        ...(o.onDown ? { onDown: o.onDown } : {}),
        ...(o.onUp ? { onUp: o.onUp } : {}),
        ...(o.onMessage ? { onMessage: o.onMessage } : {}),
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
