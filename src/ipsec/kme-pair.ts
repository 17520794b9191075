// @edge: starts the two key managers of the IPsec scenario (HTTPS with mutual TLS on 127.0.0.1)
/**
 * The key managers of the 5G non-3GPP scenario, from src/kms: KME `kme-ue` serving SAE `sae-ue` (the UE's
 * PPK agent, ETSI GS QKD 014 master) and KME `kme-n3iwf` serving `sae-n3iwf` (the N3IWF's agent, slave),
 * peers of each other, with a PKI of their own (CA, KME and SAE certificates). A QKD link feeds both
 * stores identical final key blocks through `feed()`; the caller chooses the block source (the CLI passes
 * the simulated link engine; the default is the key manager's CSPRNG stand-in). The agents reach their
 * KME with `Etsi014Client` over real mutual TLS, wrapped as a `KeySource`.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { FinalKeyBlock } from '../common/index.ts';
import {
  createPki,
  Etsi014Client,
  issueCertificate,
  mlKemDecapsulate,
  mlKemEncapsulate,
  mlKemKeygen,
  pqcKey,
  spkiSha256,
  startKme,
  type KmeHandle,
} from '../kms/index.ts';
import { etsi014KeySource, type KeySource } from './key-source.ts';
import type { PqcKem } from './ppk-responder.ts';
import { assertPrivateDir, makePrivateSubdir } from './workdir.ts';

/**
 * The `pqc` policy's fallback: ML-KEM-768 (FIPS 203) from the key manager's pqc module, the PPK derived
 * with its `pqcKey` (HKDF-SHA-256, info bound to the PPK_ID, context `ipsec-ppk`), provenance `pqc`.
 */
export const ML_KEM_768_PQC: PqcKem = {
  keygen: () => mlKemKeygen(),
  encapsulate: (publicKey) => mlKemEncapsulate(publicKey),
  decapsulate: (cipherText, secretKey) => mlKemDecapsulate(cipherText, secretKey),
  derive: (secret, keyId, lengthBytes) => pqcKey(secret, keyId, lengthBytes, 'ipsec-ppk'),
  provenance: 'pqc',
};

/** SAE and KME identities of the scenario. */
export const SAE = { ue: 'sae-ue', n3iwf: 'sae-n3iwf' } as const;
/** KME identities of the scenario. */
export const KME = { ue: 'kme-ue', n3iwf: 'kme-n3iwf' } as const;

/** The running pair. */
export interface KmePair {
  readonly ue: KmeHandle;
  readonly n3iwf: KmeHandle;
  /** The UE agent's source (master: `enc_keys` naming sae-n3iwf). */
  readonly ueKeys: KeySource;
  /** The N3IWF agent's source (slave: `dec_keys` naming sae-ue). */
  readonly n3iwfKeys: KeySource;
  /** The raw clients (for status and benchmarks). */
  readonly ueClient: Etsi014Client;
  readonly n3iwfClient: Etsi014Client;
  /** Delivers one block of the link to both KMEs; returns the chunks each stored. */
  feed(block: FinalKeyBlock): void;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Creates the PKI in `dir` (a private directory, created if missing — ./workdir.ts) and starts both KMEs
 * with fresh stores (ports picked free on 127.0.0.1). `testSaes`: configure both SAEs `test: true`, so
 * they accept `simulated-deterministic` keys (`qkdnet ipsec up --deterministic-keys`).
 */
export async function startKmePair(dir: string, opts: { testSaes?: boolean } = {}): Promise<KmePair> {
  const test = opts.testSaes === true ? { test: true } : {};
  if (existsSync(dir)) assertPrivateDir(dir);
  else makePrivateSubdir(dir);
  for (const n of [KME.ue, KME.n3iwf])
    for (const ext of ['.db', '.db-wal', '.db-shm']) rmSync(join(dir, `${n}${ext}`), { force: true });
  await createPki(dir, { force: true, commonName: 'qkdnet ipsec CA' });
  for (const n of [KME.ue, KME.n3iwf]) await issueCertificate(dir, n, 'kme', { force: true });
  for (const n of [SAE.ue, SAE.n3iwf]) await issueCertificate(dir, n, 'sae', { force: true });
  const tls = (n: string) => ({
    cert: join(dir, `${n}.pem`),
    key: join(dir, `${n}.key`),
    ca: join(dir, 'ca.pem'),
  });
  // This pair issued every certificate, so each identity is pinned by its key (SPKI SHA-256).
  const pin = (n: string) => ({ spkiSha256: [spkiSha256(readFileSync(join(dir, `${n}.pem`)))] });
  const [pu, pn] = [await freePort(), await freePort()];
  const url = (p: number) => `https://127.0.0.1:${p}`;
  const ue = await startKme({
    id: KME.ue,
    port: pu,
    tls: tls(KME.ue),
    store: join(dir, `${KME.ue}.db`),
    saes: [{ id: SAE.ue, pin: pin(SAE.ue), ...test }],
    peers: [{ id: KME.n3iwf, url: url(pn), saes: [SAE.n3iwf], pin: pin(KME.n3iwf) }],
    logLevel: 'silent',
  });
  let n3iwf: KmeHandle;
  try {
    n3iwf = await startKme({
      id: KME.n3iwf,
      port: pn,
      tls: tls(KME.n3iwf),
      store: join(dir, `${KME.n3iwf}.db`),
      saes: [{ id: SAE.n3iwf, pin: pin(SAE.n3iwf), ...test }],
      peers: [{ id: KME.ue, url: url(pu), saes: [SAE.ue], pin: pin(KME.ue) }],
      logLevel: 'silent',
    });
  } catch (e) {
    await ue.close();
    throw e;
  }
  const client = (sae: string, kme: KmeHandle) =>
    Etsi014Client.fromFiles(
      kme.url,
      { cert: join(dir, `${sae}.pem`), key: join(dir, `${sae}.key`), ca: join(dir, 'ca.pem') },
      { kmeId: kme.id, pinSpki: pin(kme.id).spkiSha256 }, // the agent accepts only its own KME
    );
  const ueClient = client(SAE.ue, ue);
  const n3iwfClient = client(SAE.n3iwf, n3iwf);
  return {
    ue,
    n3iwf,
    ueClient,
    n3iwfClient,
    ueKeys: etsi014KeySource(ueClient, SAE.n3iwf),
    n3iwfKeys: etsi014KeySource(n3iwfClient, SAE.ue),
    feed(block) {
      ue.supply(KME.n3iwf, block);
      n3iwf.supply(KME.ue, block);
    },
    async close() {
      ueClient.close();
      n3iwfClient.close();
      await Promise.all([ue.close(), n3iwf.close()]);
    },
  };
}
