/**
 * Test fixture for the live relay (used by *.test.ts only, not by production code): four KMEs on
 * 127.0.0.1 with mutual TLS and ephemeral ports — links A–B, B–C, A–D, D–C, each fed the same seeded
 * block at both ends, the end KMEs A and C peers of each other — one SAE per KME (sae-a … sae-d), and a
 * live relay node attached to each. Two node-disjoint paths A→C: A–B–C and A–D–C.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../common/index.ts';
import {
  createPki,
  Etsi014Client,
  issueCertificate,
  startKme,
  supplyBoth,
  type DeliveredKey,
  type KmeConfig,
  type KmeHandle,
} from '../kms/index.ts';
import { attachLiveRelay, type LiveRelayNode, type LiveRelayOptions } from './live-relay.ts';

/** The four KME ids. */
export const NODES = ['kme-a', 'kme-b', 'kme-c', 'kme-d'] as const;
/** The links between them. */
export const LINKS = [
  ['kme-a', 'kme-b'],
  ['kme-b', 'kme-c'],
  ['kme-a', 'kme-d'],
  ['kme-d', 'kme-c'],
] as const;
/** The SAE each KME serves. */
export const saeOf = (kme: string) => kme.replace('kme-', 'sae-');

/** The running network. */
export interface FourKmes {
  readonly dir: string;
  readonly kme: Map<string, KmeHandle>;
  readonly relay: Map<string, LiveRelayNode>;
  /** TLS material of a certificate of the fixture's PKI. */
  tls(name: string): { cert: Buffer; key: Buffer; ca: Buffer };
  /** The master SAE at A takes the next key for sae-c; the slave SAE at C fetches it by key_ID. */
  endToEnd(): Promise<{ m: DeliveredKey; s: DeliveredKey }>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A final key block of `bytes` seeded bytes for `linkId` (identical at both ends). */
export function fixtureBlock(linkId: string, bytes = 4096) {
  const rng = createRng(11).stream(`block:${linkId}`);
  const key = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) key[i] = rng.nextInt(256);
  const estimates = {
    qber: 0.02,
    phaseErrorBound: 0.05,
    leakedBits: 0,
    epsilonSec: 1e-10,
    epsilonCor: 1e-15,
  };
  return { linkId, blockId: `blk-${linkId}`, key, bits: bytes * 8, estimates, createdNs: 0 };
}

/** Starts the four KMEs and their relay nodes (`relayOptions` per node id; `keys` config for every KME). */
export async function startFourKmes(
  opts: {
    relayOptions?: (id: string) => LiveRelayOptions;
    keys?: KmeConfig['keys'];
    /** How KME `id` carries the relay hop to `peer` (config `peers[].protocol`; default qkdnet). */
    hopProtocol?: (id: string, peer: string) => 'qkdnet' | 'etsi020' | undefined;
    /** More SAEs of a KME (beside `saeOf(n)`), e.g. with quotas. */
    extraSaes?: (id: string) => KmeConfig['saes'];
  } = {},
): Promise<FourKmes> {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-live-relay-'));
  await createPki(dir);
  for (const n of NODES) await issueCertificate(dir, n, 'kme');
  for (const n of NODES) await issueCertificate(dir, saeOf(n), 'sae');
  const ports = new Map<string, number>();
  for (const n of NODES) ports.set(n, await freePort());
  const neighbours = (n: string) => {
    const set = new Set<string>(
      LINKS.filter((l) => l.includes(n as never)).map((l) => (l[0] === n ? l[1] : l[0])),
    );
    if (n === 'kme-a') set.add('kme-c'); // the end KMEs are peers of each other (announce, confirm, reservations)
    if (n === 'kme-c') set.add('kme-a');
    return [...set];
  };
  const kme = new Map<string, KmeHandle>();
  const relay = new Map<string, LiveRelayNode>();
  for (const n of NODES) {
    const handle = await startKme({
      id: n,
      port: ports.get(n)!,
      tls: { cert: join(dir, `${n}.pem`), key: join(dir, `${n}.key`), ca: join(dir, 'ca.pem') },
      store: join(dir, `${n}.db`),
      saes: [{ id: saeOf(n) }, ...(opts.extraSaes?.(n) ?? [])],
      peers: neighbours(n).map((p) => ({
        id: p,
        url: `https://127.0.0.1:${ports.get(p)}`,
        saes: [saeOf(p)],
        ...(opts.hopProtocol?.(n, p) ? { protocol: opts.hopProtocol(n, p)! } : {}),
      })),
      ...(opts.keys ? { keys: opts.keys } : {}),
      logLevel: 'silent',
    });
    kme.set(n, handle);
    relay.set(n, attachLiveRelay(handle, { recordViews: true, ...(opts.relayOptions?.(n) ?? {}) }));
  }
  for (const [x, y] of LINKS) supplyBoth(kme.get(x)!, kme.get(y)!, fixtureBlock(`${x}~${y}`));
  const tls = (name: string) => ({
    cert: readFileSync(join(dir, `${name}.pem`)),
    key: readFileSync(join(dir, `${name}.key`)),
    ca: readFileSync(join(dir, 'ca.pem')),
  });
  return {
    dir,
    kme,
    relay,
    tls,
    async endToEnd() {
      const master = new Etsi014Client({ url: kme.get('kme-a')!.url, ...tls('sae-a') });
      const slave = new Etsi014Client({ url: kme.get('kme-c')!.url, ...tls('sae-c') });
      try {
        const [m] = await master.getKeys('sae-c');
        const [s] = await slave.getKeysWithIds('sae-a', [m!.keyId]);
        return { m: m!, s: s! };
      } finally {
        master.close();
        slave.close();
      }
    },
    async close() {
      await Promise.all([...kme.values()].map((k) => k.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
