import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connMessage, ppkMessage, ppkSecretId, pskMessage } from './connections.ts';
import { encodeMessage, decodeMessage, viciToText } from './vici-codec.ts';

const ID = '6f1c2a4e-0000-4000-8000-00000000000a';
const text = (m: ReturnType<typeof connMessage>) => viciToText(decodeMessage(encodeMessage(m)));

test('the initiator names the PPK_ID and requires a PPK; the responder requires one without naming it', () => {
  const i = text(connMessage({ name: 'c', role: 'initiator', auth: 'psk', ppkId: ID, ppkRequired: true }))
    .c as Record<string, unknown>;
  const r = text(connMessage({ name: 'c', role: 'responder', auth: 'psk', ppkId: ID, ppkRequired: true }))
    .c as Record<string, unknown>;
  assert.equal(i.ppk_id, ID);
  assert.equal(i.ppk_required, 'yes');
  assert.equal(r.ppk_id, undefined, 'the responder accepts whatever PPK_ID the initiator sends');
  assert.equal(r.ppk_required, 'yes');
  assert.deepEqual(i.local_addrs, ['10.99.0.1']);
  assert.deepEqual(r.local_addrs, ['10.99.0.2']);
  const child = (i.children as Record<string, Record<string, unknown>>).n3gpp!;
  assert.deepEqual(child.local_ts, ['10.99.0.65/32']);
  assert.deepEqual(child.remote_ts, ['10.99.0.97/32']);
});

test('without a PPK, ppk_required is no and no ppk_id is sent', () => {
  const i = text(
    connMessage({ name: 'c', role: 'initiator', auth: 'pubkey', certPem: 'PEM', ppkRequired: false }),
  ).c as Record<string, unknown>;
  assert.equal(i.ppk_required, 'no');
  assert.equal(i.ppk_id, undefined);
  assert.deepEqual((i.local as Record<string, unknown>).certs, ['PEM']);
});

test('PPK and PSK secrets carry the key raw, the PPK owned by its PPK_ID', () => {
  const key = Uint8Array.from([0, 1, 2, 255]);
  const p = decodeMessage(encodeMessage(ppkMessage(ID, key)));
  assert.deepEqual(p.data, Buffer.from(key));
  assert.deepEqual(viciToText(p), {
    id: ppkSecretId(ID),
    type: 'PPK',
    data: p.data!.toString('utf8'),
    owners: [ID],
  });
  const s = viciToText(decodeMessage(encodeMessage(pskMessage('psk', key))));
  assert.equal(s.type, 'IKE');
  assert.deepEqual(s.owners, ['ue.qkdnet.test', 'n3iwf.qkdnet.test']);
});
