// @edge: reads the PKI files and queries every KME over mutual TLS.
/**
 * `qkdnet up --topology etsi015`: the controller learns the network the way an SDN controller does under
 * ETSI GS QKD 015 — it reads each node's `etsi-qkd-sdn-node:qkd_node` over RESTCONF (mutual TLS, the
 * fleet's `sdn-controller` certificate, role sdn) and builds its graph from those data
 * (src/network etsi015-topology.ts), not from the scenario file's links.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMtlsAgent, fetchQkdNode } from '../kms/index.ts';
import { scenarioFromEtsi015, type Scenario } from '../network/index.ts';
import { SDN_CONTROLLER, type KmeFleet } from './kme-fleet.ts';

/** Reads every KME's 015 data (in the file's node order) and builds the controller's scenario from them. */
export async function topologyFromKmes(
  file: Scenario,
  fleet: Pick<KmeFleet, 'kmes' | 'pkiDir'>,
): Promise<{ scenario: Scenario; warnings: string[]; sources: { origin: string; node: unknown }[] }> {
  const pem = (f: string) => readFileSync(join(fleet.pkiDir, f));
  const agent = createMtlsAgent(
    { cert: pem(`${SDN_CONTROLLER}.pem`), key: pem(`${SDN_CONTROLLER}.key`), ca: pem('ca.pem') },
    4,
    { role: 'required' },
  );
  try {
    const sources = await Promise.all(
      [...fleet.kmes].map(async ([, k]) => ({ origin: k.url, node: await fetchQkdNode(agent, k.url) })),
    );
    return { ...scenarioFromEtsi015(file, sources), sources };
  } finally {
    agent.destroy();
  }
}
