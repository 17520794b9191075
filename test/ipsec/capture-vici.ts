/**
 * Generator of test/ipsec/vici-captured.json: VICI packets captured from a real charon (strongSwan 5.9.8),
 * for the codec's unit tests (src/ipsec/vici-codec.test.ts). Root only. It starts the two-namespace
 * testbed, puts a recording proxy socket in front of the UE's charon, and drives it twice over:
 * with strongSwan's own `swanctl` (libvici, an independent encoder: its request bytes check ours) and
 * with our client (load-shared with a binary PPK, an unknown command, an unknown event, a streamed
 * initiate with control-log events, list-sas with list-sa events showing `ppk = yes`).
 * The PSK and PPK here are fixed fixture bytes, not key material of anything.
 *   run: node --import tsx test/ipsec/capture-vici.ts
 */
import { execFile } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ViciClient } from '../../src/ipsec/vici-client.ts';
import { ViciFramer } from '../../src/ipsec/vici-codec.ts';
import { connMessage, pskMessage, ppkMessage } from '../../src/ipsec/connections.ts';
import { initiate, startTestbed } from '../../src/ipsec/testbed.ts';

const run = promisify(execFile);
/** Fixture-only secrets (bytes 0..31 and 32..63): the binary PPK exercises raw values with 0x00 bytes. */
export const FIXTURE_PPK = Uint8Array.from({ length: 32 }, (_, i) => i);
export const FIXTURE_PSK = Uint8Array.from({ length: 32 }, (_, i) => 32 + i);
export const FIXTURE_PPK_ID = '00000000-0000-4000-8000-000000000001';

type Recorded = { dir: 'c2s' | 's2c'; hex: string };

async function main(): Promise<void> {
  const dir = '/tmp/qkdnet-vici-capture';
  const tb = await startTestbed('qkcap', dir);
  const scenarios: Record<string, { how: string; packets: Recorded[] }> = {};
  let current: Recorded[] = [];
  const proxyPath = join(dir, 'proxy.vici');
  const proxy = createServer((client: Socket) => {
    const upstream = connect(tb.ue.charon.viciPath);
    const fc = new ViciFramer();
    const fs = new ViciFramer();
    const head = (p: Buffer) => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(p.length);
      return Buffer.concat([h, p]).toString('hex');
    };
    client.on('data', (d) => {
      for (const p of fc.push(d)) current.push({ dir: 'c2s', hex: head(p) });
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      for (const p of fs.push(d)) current.push({ dir: 's2c', hex: head(p) });
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(proxyPath, r));
  const record = async (name: string, how: string, f: () => Promise<void>) => {
    current = [];
    await f();
    await new Promise((r) => setTimeout(r, 100));
    scenarios[name] = { how, packets: current };
  };
  const swanctl = (args: string[], env: Record<string, string> = {}) =>
    run('swanctl', [...args, '--uri', `unix://${proxyPath}`], { env: { ...process.env, ...env } });
  try {
    await record('swanctl-stats', 'swanctl --stats', async () => void (await swanctl(['--stats'])));
    const sw = join(dir, 'swanctl');
    mkdirSync(join(sw, 'conf.d'), { recursive: true });
    writeFileSync(
      join(sw, 'swanctl.conf'),
      `connections { cap { version = 2\n local_addrs = 10.99.0.1\n remote_addrs = 10.99.0.2\n proposals = aes256gcm16-prfsha256-x25519\n ppk_id = ${FIXTURE_PPK_ID}\n ppk_required = yes\n local { auth = psk\n id = ue.qkdnet.test }\n remote { auth = psk\n id = n3iwf.qkdnet.test }\n children { n3gpp { local_ts = 10.99.0.65/32\n remote_ts = 10.99.0.97/32\n esp_proposals = aes256gcm16 } } } }\n`,
    );
    await record('swanctl-load-conns', 'swanctl --load-conns (swanctl.conf with ppk_id)', async () => {
      await swanctl(['--load-conns'], { SWANCTL_DIR: sw });
    });
    const resp = tb.n3iwf.vici;
    await resp.call('load-shared', pskMessage('psk', FIXTURE_PSK));
    await resp.call('load-shared', ppkMessage(FIXTURE_PPK_ID, FIXTURE_PPK));
    await resp.call(
      'load-conn',
      connMessage({ name: 'n3', role: 'responder', auth: 'psk', ppkRequired: true }),
    );
    const ours = await ViciClient.connect(proxyPath);
    await record(
      'client-version-unknown',
      'our client: version, an unknown command, an unknown event',
      async () => {
        await ours.request('version');
        await ours.request('no-such-command').catch(() => undefined);
        await ours.listen('no-such-event', () => undefined).catch(() => undefined);
      },
    );
    await record(
      'client-load-shared-ppk',
      'our client: load-shared PSK and binary PPK, load-conn',
      async () => {
        await ours.call('load-shared', pskMessage('psk', FIXTURE_PSK));
        await ours.call('load-shared', ppkMessage(FIXTURE_PPK_ID, FIXTURE_PPK));
        await ours.call(
          'load-conn',
          connMessage({
            name: 'n3',
            role: 'initiator',
            auth: 'psk',
            ppkRequired: true,
            ppkId: FIXTURE_PPK_ID,
          }),
        );
      },
    );
    await record('client-initiate', 'our client: initiate with control-log events', async () => {
      const r = await initiate(ours, 'n3');
      if (!r.ok) throw new Error(`initiate failed: ${r.message}`);
    });
    await record(
      'swanctl-list-sas',
      'swanctl --list-sas (SA up with PPK)',
      async () => void (await swanctl(['--list-sas'])),
    );
    ours.close();
  } finally {
    proxy.close();
    await tb.close();
  }
  const { stdout } = await run('/usr/lib/ipsec/charon', ['--version']).catch(() => ({
    stdout: 'strongSwan',
  }));
  const out = {
    generator: 'test/ipsec/capture-vici.ts',
    charon: stdout.trim() || 'strongSwan 5.9.8',
    note: 'Real charon bytes; fixture PSK/PPK are bytes 32..63 and 0..31, not secrets. Regenerate as root.',
    scenarios,
  };
  writeFileSync(new URL('./vici-captured.json', import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
  console.log(`captured ${Object.values(scenarios).reduce((n, s) => n + s.packets.length, 0)} packets`);
}

await main();
