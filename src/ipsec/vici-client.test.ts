/**
 * The VICI client against a Unix-socket server that replays what a real charon 5.9.8 answered
 * (test/ipsec/vici-captured.json): request/response order, streamed events, unknown commands and events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePacket, VICI_PACKET, ViciFramer, viciText } from './vici-codec.ts';
import { ViciClient } from './vici-client.ts';

type Capture = { scenarios: Record<string, { packets: { dir: 'c2s' | 's2c'; hex: string }[] }> };
const captured = JSON.parse(
  readFileSync(new URL('../../test/ipsec/vici-captured.json', import.meta.url), 'utf8'),
) as Capture;

/** Serves one scenario: after each client packet it sends the charon packets that followed it. */
async function replay(name: string): Promise<{ path: string; received: Buffer[]; close(): void }> {
  const packets = captured.scenarios[name]!.packets;
  const dir = mkdtempSync(join(tmpdir(), 'vici-replay-'));
  const path = join(dir, 'sock');
  const received: Buffer[] = [];
  const server: Server = createServer((s) => {
    const f = new ViciFramer();
    let i = 0;
    s.on('data', (d) => {
      for (const p of f.push(d)) {
        received.push(p);
        while (i < packets.length && packets[i]!.dir === 'c2s') i++;
        while (i < packets.length && packets[i]!.dir === 's2c')
          s.write(Buffer.from(packets[i++]!.hex, 'hex'));
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, received, close: () => (server.close(), rmSync(dir, { recursive: true, force: true })) };
}

test('request() returns responses in order; unknown command and event throw IPSEC_UNAVAILABLE', async () => {
  const srv = await replay('client-version-unknown');
  const c = await ViciClient.connect(srv.path);
  try {
    const v = await c.request('version');
    assert.equal(viciText(v, 'daemon'), 'charon');
    await assert.rejects(c.request('no-such-command'), {
      code: 'IPSEC_UNAVAILABLE',
      message: /no-such-command/,
    });
    await assert.rejects(
      c.listen('no-such-event', () => undefined),
      { code: 'IPSEC_UNAVAILABLE' },
    );
  } finally {
    c.close();
    srv.close();
  }
});

test('stream() collects the control-log events of initiate before its response, then unregisters', async () => {
  const srv = await replay('client-initiate');
  const c = await ViciClient.connect(srv.path);
  try {
    const { response, events } = await c.stream('initiate', 'control-log', { child: 'n3gpp', ike: 'n3' });
    assert.equal(viciText(response, 'success'), 'yes');
    assert.ok(events.length >= 10);
    assert.ok(events.some((e) => /using PPK for PPK_ID/.test(viciText(e, 'msg') ?? '')));
    assert.deepEqual(
      srv.received.map((p) => p[0]),
      [3, 0, 4],
      'register, request, unregister',
    );
  } finally {
    c.close();
    srv.close();
  }
});

test("call() throws with charon's errmsg when success = no; a closed client rejects", async () => {
  const srv = await replay('client-load-shared-ppk');
  const c = await ViciClient.connect(srv.path);
  const r = await c.call('load-shared', { id: 'x', type: 'IKE', data: 'fixture' });
  assert.equal(viciText(r, 'success'), 'yes');
  c.close();
  await assert.rejects(c.request('version'), { code: 'IPSEC_UNAVAILABLE' });
  srv.close();
  await assert.rejects(ViciClient.connect(srv.path, 500), {
    code: 'IPSEC_UNAVAILABLE',
    message: /Cannot connect/,
  });
});

/** A server that answers every client packet with `answer(packet)` (raw bytes), for misbehaving charons. */
async function scripted(answer: (packetType: number) => Buffer[]): Promise<{ path: string; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'vici-bad-'));
  const path = join(dir, 'sock');
  const server: Server = createServer((s) => {
    const f = new ViciFramer();
    s.on('data', (d) => {
      for (const p of f.push(d)) for (const b of answer(p[0]!)) s.write(b);
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, close: () => (server.close(), rmSync(dir, { recursive: true, force: true })) };
}

test('an answer nobody asked for ends the connection: pending calls reject, nothing throws in the data handler', async () => {
  // Two responses to one request: the second is unasked. Before the fix this threw inside the socket's
  // 'data' handler (an uncaught exception that node:test reports as a failure).
  const srv = await scripted(() => [
    encodePacket(VICI_PACKET.CMD_RESPONSE, undefined, { daemon: 'charon' }),
    encodePacket(VICI_PACKET.CMD_RESPONSE, undefined, { daemon: 'again' }),
  ]);
  const c = await ViciClient.connect(srv.path);
  try {
    const v = await c.request('version');
    assert.equal(viciText(v, 'daemon'), 'charon');
    await assert.rejects(c.request('version'), {
      code: 'IPSEC_UNAVAILABLE',
      message: /protocol violation from charon: packet type 1 arrived unasked/,
    });
  } finally {
    c.close();
    srv.close();
  }
});

test('an undecodable packet ends the connection with IPSEC_UNAVAILABLE', async () => {
  const garbage = Buffer.from([0, 0, 0, 3, 1, 9, 9]); // CMD_RESPONSE whose message holds element type 9
  const srv = await scripted(() => [garbage]);
  const c = await ViciClient.connect(srv.path);
  try {
    await assert.rejects(c.request('version'), {
      code: 'IPSEC_UNAVAILABLE',
      message: /protocol violation from charon: undecodable packet/,
    });
  } finally {
    c.close();
    srv.close();
  }
});

test('a listener that throws is reported, and neither other listeners nor the connection suffer', async () => {
  // charon streams an event before each command's response (as `initiate` does with control-log).
  const srv = await scripted((type) =>
    type === VICI_PACKET.EVENT_REGISTER
      ? [encodePacket(VICI_PACKET.EVENT_CONFIRM)]
      : [
          encodePacket(VICI_PACKET.EVENT, 'log', { msg: 'hello' }),
          encodePacket(VICI_PACKET.CMD_RESPONSE, undefined, { daemon: 'charon' }),
        ],
  );
  const reported: string[] = [];
  const c = await ViciClient.connect(srv.path, 5000, (e, event) => reported.push(`${event}: ${e.message}`));
  try {
    const seen: string[] = [];
    await c.listen('log', () => {
      throw new Error('listener bug');
    });
    await c.listen('log', (m) => void seen.push(viciText(m, 'msg') ?? ''));
    const v = await c.request('version');
    assert.equal(viciText(v, 'daemon'), 'charon');
    assert.deepEqual(reported, ['log: listener bug']);
    assert.deepEqual(seen, ['hello']);
  } finally {
    c.close();
    srv.close();
  }
});
