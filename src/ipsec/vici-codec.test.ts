/**
 * The VICI codec against bytes captured from a real charon 5.9.8 and from strongSwan's own libvici
 * (swanctl) — test/ipsec/vici-captured.json, made by test/ipsec/capture-vici.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  decodeMessage,
  decodePacket,
  encodeMessage,
  encodePacket,
  VICI_PACKET,
  ViciFramer,
  viciText,
  viciToText,
  type ViciMessage,
  type ViciMessageIn,
  type ViciPacketType,
} from './vici-codec.ts';

type Capture = { scenarios: Record<string, { packets: { dir: 'c2s' | 's2c'; hex: string }[] }> };
const captured = JSON.parse(
  readFileSync(new URL('../../test/ipsec/vici-captured.json', import.meta.url), 'utf8'),
) as Capture;
const packets = (name: string) => {
  const s = captured.scenarios[name];
  assert.ok(s, `scenario ${name} captured`);
  return s.packets.map((p) => ({ dir: p.dir, bytes: Buffer.from(p.hex, 'hex') }));
};
const decode = (b: Buffer) => decodePacket(b.subarray(4));
const all = Object.keys(captured.scenarios).flatMap(packets);

test('every captured packet decodes and re-encodes to the identical bytes', () => {
  assert.ok(all.length > 40);
  for (const { bytes } of all) {
    const p = decode(bytes);
    assert.equal(bytes.readUInt32BE(0), bytes.length - 4);
    const again = encodePacket(p.type, p.name, p.message as ViciMessageIn | undefined);
    assert.deepEqual(again, bytes, `packet type ${p.type} ${p.name ?? ''}`);
  }
});

test("libvici's load-conn request (swanctl) decodes to the swanctl.conf it came from", () => {
  const req = packets('swanctl-load-conns')
    .map((p) => decode(p.bytes))
    .find((p) => p.name === 'load-conn');
  assert.ok(req?.message);
  const conn = viciToText(req.message).cap as Record<string, unknown>;
  assert.equal(conn.ppk_id, '00000000-0000-4000-8000-000000000001');
  assert.equal(conn.ppk_required, 'yes');
  assert.deepEqual(conn.proposals, ['aes256gcm16-prfsha256-x25519']);
  assert.deepEqual((conn.local as Record<string, unknown>).id, 'ue.qkdnet.test');
  const child = (conn.children as Record<string, Record<string, unknown>>).n3gpp!;
  assert.deepEqual(child.local_ts, ['10.99.0.65/32']);
});

test('stats response from charon carries workers and the loaded plugins', () => {
  const [req, resp] = packets('swanctl-stats').map((p) => decode(p.bytes));
  assert.equal(req?.type, VICI_PACKET.CMD_REQUEST);
  assert.equal(req?.name, 'stats');
  assert.equal(resp?.type, VICI_PACKET.CMD_RESPONSE);
  const t = viciToText(resp!.message!);
  assert.ok(Number((t.workers as Record<string, string>).total) > 0);
  assert.ok((t.plugins as string[]).includes('kernel-libipsec'));
});

test('unknown command and unknown event are answered with types 2 and 6', () => {
  const ps = packets('client-version-unknown').map((p) => decode(p.bytes));
  assert.equal(viciText(ps[1]?.message, 'daemon'), 'charon');
  assert.equal(viciText(ps[1]?.message, 'version'), '5.9.8');
  assert.equal(ps[3]?.type, VICI_PACKET.CMD_UNKNOWN);
  assert.equal(ps[4]?.type, VICI_PACKET.EVENT_REGISTER);
  assert.equal(ps[5]?.type, VICI_PACKET.EVENT_UNKNOWN);
});

test('a binary PPK travels raw, zero bytes included, and charon confirms it', () => {
  const ps = packets('client-load-shared-ppk').map((p) => decode(p.bytes));
  const ppk = ps.find((p) => p.name === 'load-shared' && viciText(p.message, 'type') === 'PPK');
  assert.deepEqual(ppk?.message?.data, Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
  assert.deepEqual(viciToText(ppk!.message!).owners, ['00000000-0000-4000-8000-000000000001']);
  for (const r of ps.filter((p) => p.type === VICI_PACKET.CMD_RESPONSE))
    assert.equal(viciText(r.message, 'success'), 'yes');
});

test('initiate streams control-log events before its response, then the SA shows ppk = yes', () => {
  const ps = packets('client-initiate').map((p) => decode(p.bytes));
  const events = ps.filter((p) => p.type === VICI_PACKET.EVENT);
  assert.ok(events.every((e) => e.name === 'control-log'));
  const log = events.map((e) => viciText(e.message, 'msg')).join('\n');
  assert.match(log, /using PPK for PPK_ID '00000000-0000-4000-8000-000000000001'/);
  const types = ps.map((p) => p.type);
  const last = types.lastIndexOf(VICI_PACKET.CMD_RESPONSE);
  assert.ok(last > types.lastIndexOf(VICI_PACKET.EVENT));
  assert.equal(viciText(ps[last]?.message, 'success'), 'yes');
  const sa = packets('swanctl-list-sas')
    .map((p) => decode(p.bytes))
    .find((p) => p.type === VICI_PACKET.EVENT && p.name === 'list-sa');
  const ike = Object.values(sa!.message!)[0] as ViciMessage;
  assert.equal(viciText(ike, 'ppk'), 'yes');
  assert.equal(viciText(ike, 'state'), 'ESTABLISHED');
});

test('the framer yields the same packets whatever the chunking of the captured stream', () => {
  const stream = Buffer.concat(all.filter((p) => p.dir === 's2c').map((p) => p.bytes));
  const expected = all.filter((p) => p.dir === 's2c').map((p) => p.bytes.subarray(4));
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 40 }), (cuts) => {
      const f = new ViciFramer();
      const out: Buffer[] = [];
      let i = 0;
      for (let k = 0; i < stream.length; k++) {
        const n = cuts[k % cuts.length]!;
        out.push(...f.push(stream.subarray(i, i + n)));
        i += n;
      }
      assert.deepEqual(out, expected);
    }),
    { seed: 8, numRuns: 100 },
  );
});

test('truncated or malformed element streams are refused with RangeError', () => {
  const body = decode(packets('swanctl-stats')[1]!.bytes);
  const bytes = encodeMessage(body.message as ViciMessageIn);
  for (const cut of [1, 5, bytes.length - 1])
    assert.throws(() => decodeMessage(bytes.subarray(0, cut)), RangeError);
  assert.throws(() => decodeMessage(Buffer.from([2])), RangeError); // section end without start
  assert.throws(() => decodeMessage(Buffer.from([5, 0, 0])), RangeError); // list item outside a list
  assert.throws(() => decodeMessage(Buffer.from([9])), RangeError);
  assert.throws(() => decodePacket(Buffer.from([8])), RangeError);
  assert.throws(() => encodeMessage({ k: new Uint8Array(65536) }), RangeError);
  assert.throws(() => encodePacket(VICI_PACKET.CMD_REQUEST), RangeError);
});

const name = fc.stringMatching(/^[a-z_-][a-z0-9_-]{0,11}$/);
const value = fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u));
const msg: fc.Arbitrary<ViciMessage> = fc.letrec((tie) => ({
  m: fc.dictionary(
    name,
    fc.oneof({ depthSize: 'small' }, value, fc.array(value, { maxLength: 4 }), tie('m')),
    {
      maxKeys: 5,
      noNullPrototype: true,
    },
  ),
})).m as fc.Arbitrary<ViciMessage>;

test('decode(encode(m)) = m for random nested messages', () => {
  fc.assert(
    fc.property(msg, fc.constantFrom<ViciPacketType>(0, 1, 7), (m, type) => {
      const bytes = encodePacket(type, type === 1 ? undefined : 'x', m as ViciMessageIn);
      const p = decodePacket(bytes.subarray(4));
      assert.deepEqual(p.message, m);
    }),
    { seed: 88, numRuns: 200 },
  );
});
