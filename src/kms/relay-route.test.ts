// The KME-to-KME relay route through inject(): who may call it, reservation checks, handler hand-off.
// (The real-socket path, with mutual TLS between four KMEs, is src/network/live-relay.test.ts.)
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { KmeCore } from './core.ts';
import { createKmeMetrics } from './metrics.ts';
import { etsi014Plugin, type CallerIdentity } from './plugin.ts';
import { reservationToWire } from './peer.ts';
import { relaySaeId, type RelayHandler } from './relay-route.ts';
import { KeyStore } from './store.ts';
import { chunksFor } from './supply.ts';
import { testBlock } from './kme-pair.fixture.ts';

let app: FastifyInstance;
let a: KeyStore;
let b: KeyStore;
let caller: CallerIdentity = null;
let handler: RelayHandler | undefined;

before(async () => {
  a = KeyStore.open({ path: ':memory:' });
  b = KeyStore.open({ path: ':memory:' });
  const blk = testBlock(5, 'relay-route', 1024);
  a.addChunks('kme-b', chunksFor('kme-a', 'kme-b', blk));
  b.addChunks('kme-a', chunksFor('kme-b', 'kme-a', blk));
  const cfg = {
    id: 'kme-b',
    tls: { cert: 'x', key: 'x', ca: 'x' },
    store: ':memory:',
    saes: [{ id: 'sae-b' }],
    peers: [{ id: 'kme-a', url: 'https://127.0.0.1:1', saes: ['sae-a'] }],
  };
  const core = new KmeCore(cfg, b);
  app = Fastify({ logger: false });
  await app.register(etsi014Plugin, {
    core,
    metrics: createKmeMetrics(core),
    identify: () => null,
    callerOfRequest: () => caller,
    relay: () => handler,
  });
});

after(async () => {
  await app.close();
  a.close();
  b.close();
});

/** A relay link key taken at A for B, and its reservation as it travels. */
function linkKey(master = relaySaeId('kme-a')) {
  const [k] = a.takeForMaster({
    peer: 'kme-b',
    master,
    slaves: [relaySaeId('kme-b')],
    localSlaves: [],
    remoteSlaves: [relaySaeId('kme-b')],
    number: 1,
    sizeBits: 256,
    nowMs: 0,
  });
  const [r] = a.outbox('kme-b', 1, [k!.keyId]);
  return { key: k!, wire: reservationToWire(r!) };
}

const send = (peer: string, body: unknown) =>
  app.inject({ method: 'POST', url: `/api/v1/kme/${peer}/relay`, payload: body as object });

test('only the named peer KME may call the relay route (401 with an Error object)', async () => {
  handler = async () => ({ status: 'ok' });
  const body = { reservations: [], message: { type: 'x' } };
  for (const who of [null, { kind: 'sae', id: 'sae-a' }, { kind: 'kme', id: 'kme-c' }] as CallerIdentity[]) {
    caller = who;
    const res = await send('kme-a', body);
    assert.equal(res.statusCode, 401);
    assert.equal(typeof res.json().message, 'string');
  }
});

test('the reservation is applied before the handler runs, which can then fetch the same link key', async () => {
  caller = { kind: 'kme', id: 'kme-a' };
  const { key, wire } = linkKey();
  let seen: Uint8Array | undefined;
  handler = async (from, message) => {
    assert.equal(from, 'kme-a');
    const [k] = b.takeForSlave(relaySaeId('kme-b'), relaySaeId('kme-a'), [String(message.ref)], 0);
    seen = k?.key;
    return { status: 'delivered' };
  };
  const res = await send('kme-a', { reservations: [wire], message: { ref: key.keyId } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { result: { status: 'delivered' } });
  assert.deepEqual(new Uint8Array(seen!), new Uint8Array(key.key));
});

test('a reservation not naming relay:<sender> → relay:<receiver> is refused (400) and not applied', async () => {
  caller = { kind: 'kme', id: 'kme-a' };
  handler = async () => assert.fail('the handler must not run');
  const { wire } = linkKey('sae-a');
  const res = await send('kme-a', { reservations: [wire], message: {} });
  assert.equal(res.statusCode, 400);
  assert.equal(b.knows(wire.key_ID), false);
});

test('without a registered handler the route answers 503', async () => {
  caller = { kind: 'kme', id: 'kme-a' };
  handler = undefined;
  const res = await send('kme-a', { reservations: [], message: {} });
  assert.equal(res.statusCode, 503);
  assert.match(res.json().message, /does not relay/);
});
