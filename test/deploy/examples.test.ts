/**
 * The example deployment under deploy/ (docs/deploy.md) is loaded and run, so it cannot rot: both site
 * configurations validate as they are; then, with certificates from a fresh PKI laid out as the comments
 * say and only the listen port and the peer's URL moved onto free local ports, each runs as a KME, the
 * device files named in `supply` feed the link's key block to both, and an SAE at each site gets the same
 * key. The Prometheus example scrapes the sites' port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  createPki,
  crlPath,
  Etsi014Client,
  issueCertificate,
  loadKmeConfig,
  startKme,
  validateKmeConfig,
  writeCrl,
  type KmeConfig,
  type KmeHandle,
} from '../../src/kms/index.ts';
import { freePorts } from '../../src/server/index.ts';

const SITES = ['a', 'b'] as const;
const example = (s: string) =>
  parse(readFileSync(join('deploy', `site-${s}`, 'kme.yaml'), 'utf8')) as KmeConfig;

test('the example site configurations validate as shipped', () => {
  for (const s of SITES) {
    const c = validateKmeConfig(example(s));
    assert.equal(c.id, `kme-${s}`);
    assert.equal(c.port, 8443);
    assert.equal(c.peers!.length, 1);
    assert.equal(c.supply![0]!.peer, c.peers![0]!.id);
  }
  const prom = parse(readFileSync('deploy/prometheus.yml', 'utf8')) as {
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  const kme = prom.scrape_configs.find((j) => j.job_name === 'qkdnet-kme')!;
  assert.deepEqual(kme.static_configs[0]!.targets, ['kme-a.example.net:8443', 'kme-b.example.net:8443']);
});

test('the two example sites run, take key from their device files and serve it to their SAEs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-deploy-'));
  const kmes: KmeHandle[] = [];
  try {
    const pki = join(dir, 'pki');
    await createPki(pki);
    for (const s of SITES) {
      await issueCertificate(pki, `kme-${s}`, 'kme');
      await issueCertificate(pki, `sae-${s}`, 'sae');
    }
    await writeCrl(pki);
    const ports = await freePorts(2);
    for (const [i, s] of SITES.entries()) {
      const site = join(dir, `site-${s}`);
      mkdirSync(join(site, 'tls'), { recursive: true, mode: 0o700 });
      for (const f of [`kme-${s}.pem`, `kme-${s}.key`, 'ca.pem'])
        copyFileSync(join(pki, f), join(site, 'tls', f));
      copyFileSync(crlPath(pki), join(site, 'tls', 'crl.pem'));
      const c = example(s);
      const moved = {
        ...c,
        host: '127.0.0.1',
        logLevel: 'warn' as const,
        port: ports[i]!,
        peers: [{ ...c.peers![0]!, url: `https://127.0.0.1:${ports[1 - i]}` }],
      };
      writeFileSync(join(site, 'kme.yaml'), stringify(moved));
      writeFileSync(join(site, 'qkd-link-a-b.jsonl'), ''); // the device driver's file exists before the KME starts
      kmes.push(await startKme(loadKmeConfig(join(site, 'kme.yaml'))));
    }
    // The device driver at each end appends the same block.
    const line = `${JSON.stringify({ block_id: 'dev-000001', key_hex: randomBytes(64).toString('hex') })}\n`;
    for (const s of SITES) appendFileSync(join(dir, `site-${s}`, 'qkd-link-a-b.jsonl'), line);
    const sae = (s: string, i: number) =>
      Etsi014Client.fromFiles(
        kmes[i]!.url,
        { cert: join(pki, `sae-${s}.pem`), key: join(pki, `sae-${s}.key`), ca: join(pki, 'ca.pem') },
        { kmeId: `kme-${s}` },
      );
    const a = sae('a', 0);
    const b = sae('b', 1);
    try {
      // Each site reads its own device file on its own schedule. A reservation that reaches site B before
      // B has read the block is refused (documented ordering limit, docs/kme.md), so wait until B holds
      // key from the link — as an operator waits for both ends of a new link — before drawing one at A.
      for (let t = 0; ; t++) {
        const st = await b.status('sae-a').catch(() => null);
        if (st && st.storedKeyCount > 0) break;
        if (t > 300) throw new Error('site B never read its device file');
        await new Promise((r) => setTimeout(r, 100));
      }
      let key;
      for (let t = 0; !key; t++) {
        try {
          [key] = await a.getKeys('sae-b', { number: 1, sizeBits: 256 });
        } catch (e) {
          if (t > 100) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const [same] = await b.getKeysWithIds('sae-a', [key.keyId]);
      assert.deepEqual(same!.key, key.key);
    } finally {
      a.close();
      b.close();
    }
  } finally {
    await Promise.all(kmes.map((k) => k.close()));
    rmSync(dir, { recursive: true, force: true });
  }
});
