// @edge: spawns the IPsec scenario's two KMEs as `qkdnet site` OS processes and reaches them over mTLS.
/**
 * The two key managers of the 5G non-3GPP scenario (src/ipsec kme-pair.ts: `kme-ue` serving `sae-ue`,
 * `kme-n3iwf` serving `sae-n3iwf`, peers of each other) run as two OS processes, as on two real sites:
 * each is a `qkdnet site` (./site-process.ts) with its own directory, `kme.yaml`, certificates, store and
 * lock (./site-config.ts), started and watched by ./site-fleet.ts. The link's key blocks reach each KME
 * over its IPC pipe (`supply`); the agents reach their KME with `Etsi014Client` over real mutual TLS,
 * pinned to it. Used by `qkdnet ipsec bench`, so that neither KME shares an event loop with the agents,
 * strongSwan's VICI calls or the timing loop (and the second core does some of the work).
 */
import { join } from 'node:path';
import type { FinalKeyBlock } from '../common/index.ts';
import { QkdnetError } from '../common/index.ts';
import { etsi014KeySource, type BenchKmes } from '../ipsec/index.ts';
import { Etsi014Client } from '../kms/index.ts';
import { ensurePki, freePorts, kmeName, pinOf, saeName } from './kme-fleet.ts';
import { siteDir, writeSiteConfig, type SitePlan } from './site-config.ts';
import { startSiteFleet } from './site-fleet.ts';

/** Nodes of the scenario: their KME and SAE names are `kme-<node>` and `sae-<node>`. */
const NODES = ['ue', 'n3iwf'] as const;

/** How long the sites may take to start and to store the first key blocks. */
const READY_MS = 60_000;

/**
 * Starts both KMEs as site processes under `dir` (a fresh private directory); resolves once both
 * answer. `feed` resolves once both stores hold every block fed so far.
 */
export async function startKmeSites(
  dir: string,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<BenchKmes> {
  const pkiDir = join(dir, 'pki');
  await ensurePki(
    pkiDir,
    NODES.map((id) => ({ id, neighbours: NODES.filter((n) => n !== id) })),
  );
  const ports = await freePorts(NODES.length);
  const plans: SitePlan[] = NODES.map((node, i) => ({
    node,
    dir: siteDir(dir, node),
    listenHost: '127.0.0.1',
    port: ports[i]!,
    url: `https://127.0.0.1:${ports[i]}`,
  }));
  for (const p of plans)
    writeSiteConfig(
      p,
      pkiDir,
      plans.filter((q) => q !== p).map((q) => ({ node: q.node, url: q.url })),
    );
  const fleet = startSiteFleet({
    plans,
    pkiDir,
    log: (node, line) => log(`kme-${node}: ${line}`),
    onDown: (node, reason) => log(`kme-${node} process ended (${reason})`),
  });
  const clients = new Map<string, Etsi014Client>();
  const close = async () => {
    for (const c of clients.values()) c.close();
    await fleet.close();
  };
  try {
    await fleet.ready(READY_MS);
    for (const p of plans)
      clients.set(
        p.node,
        Etsi014Client.fromFiles(
          p.url,
          {
            cert: join(pkiDir, `${saeName(p.node)}.pem`),
            key: join(pkiDir, `${saeName(p.node)}.key`),
            ca: join(pkiDir, 'ca.pem'),
          },
          { kmeId: kmeName(p.node), pinSpki: pinOf(pkiDir, kmeName(p.node)).spkiSha256 },
        ),
      );
  } catch (e) {
    await close();
    throw e;
  }
  const ue = clients.get('ue')!;
  const n3iwf = clients.get('n3iwf')!;
  let fedBits = 0;
  return {
    ueKeys: etsi014KeySource(ue, saeName('n3iwf')),
    n3iwfKeys: etsi014KeySource(n3iwf, saeName('ue')),
    async feed(block: FinalKeyBlock) {
      for (const [node, peer] of [
        ['ue', 'n3iwf'],
        ['n3iwf', 'ue'],
      ] as const)
        if (!fleet.send(node, { t: 'supply', peer: kmeName(peer), item: block }))
          throw new QkdnetError('IPSEC_UNAVAILABLE', `the KME process of ${node} is not up`);
      fedBits += block.bits;
      // Both stores hold the blocks before a run starts: each KME owns a share of every block's chunks
      // (what it may hand to its masters), so the two shares add up to what was fed.
      const deadline = Date.now() + READY_MS;
      for (;;) {
        const [a, b] = await Promise.all([ue.status(saeName('n3iwf')), n3iwf.status(saeName('ue'))]);
        if ((a.storedKeyCount + b.storedKeyCount) * a.keySizeBits >= fedBits * 0.95) return;
        if (Date.now() > deadline)
          throw new QkdnetError('IPSEC_UNAVAILABLE', 'the KME processes did not store the key blocks fed');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close,
  };
}
