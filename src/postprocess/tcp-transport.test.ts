import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BitArray, createRng } from '../common/index.ts';
import { AuthKeyPool, type SealedMessage } from './auth.ts';
import { FrameSocket, runMuxOverSocket } from './tcp-transport.ts';
import { UNIT_AUTH_BITS, UnitBase, UnitPools, type Envelope } from './two-party.ts';
import { UnitMux } from './unit-mux.ts';

/** Bytes each message of the test units carries: far more than a socket's send and receive buffers. */
const BIG = 6 * 2 ** 20;

/** A unit whose ends exchange one large message each way (as a block's sifting step does). */
class BigUnit extends UnitBase {
  #phase = 0;
  readonly received: number[];
  constructor(id: number, party: 'alice' | 'bob', pool: AuthKeyPool | null, received: number[]) {
    super(id, party, pool);
    this.received = received;
  }
  override start(): Envelope[] {
    return this.seal({ type: 'big', data: new Uint8Array(BIG).fill(this.id + 1) });
  }
  protected step(sealed: SealedMessage<unknown>): Envelope[] {
    if (this.#phase === 1) {
      if (!this.verifyCheckpoint(sealed)) return [];
      this.succeed();
      return this.session.party === 'alice' ? [] : this.checkpoint();
    }
    const body = this.open(sealed);
    if (!body) return [];
    const data = body.data as Uint8Array;
    this.received.push(data.length);
    this.#phase = 1;
    // Alice answers with her own large message; Bob, once he has it, sends his checkpoint.
    if (this.session.party === 'alice')
      return [...this.seal({ type: 'big', data: new Uint8Array(BIG).fill(0xa0) }), ...this.checkpoint()];
    return [];
  }
  protected wipe(): void {}
}

function end(role: 'alice' | 'bob', units: number, received: number[]): UnitMux {
  const bits = BitArray.random(units * UNIT_AUTH_BITS, createRng('tcp-transport-test'));
  const pools = new UnitPools(new AuthKeyPool(bits));
  let ok = 0;
  return new UnitMux({
    role: role === 'bob' ? 'initiator' : 'responder',
    units,
    window: units,
    create: (id) => new BigUnit(id, role, pools.take(id), received),
    onOutcome: (oc) => {
      if (oc.ok) ok++;
      else assert.fail(`${role} unit ${oc.unit}: ${oc.reason} ${oc.detail ?? ''}`);
      assert.ok(ok <= units);
    },
  });
}

test('large messages both ways over a direct connection (no proxy) do not deadlock on backpressure', async () => {
  // Four units in flight, each end sending 6 MiB per unit at once: both send buffers fill. If both ends
  // stopped reading while their own writes were backed up, neither would ever drain.
  const units = 4;
  const got = { alice: [] as number[], bob: [] as number[] };
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const bobSocket = net.connect(port, '127.0.0.1');
  const params = { mode: 'test' };
  const [a, b] = await Promise.all([
    accepted.then((s) =>
      runMuxOverSocket(s, end('alice', units, got.alice), {
        role: 'responder',
        params,
        idleTimeoutMs: 20_000,
      }),
    ),
    runMuxOverSocket(bobSocket, end('bob', units, got.bob), {
      role: 'initiator',
      params,
      idleTimeoutMs: 20_000,
    }),
  ]);
  server.close();
  assert.deepEqual(got.alice, new Array(units).fill(BIG));
  assert.deepEqual(got.bob, new Array(units).fill(BIG));
  assert.ok(a.bytesReceived > units * BIG && b.bytesReceived > units * BIG);
});

/** Eight frames sent in one write to an end whose handler works `workMs` per frame; its writes counted. */
async function answerWrites(
  budgetMs: number,
  workMs: number,
): Promise<{ writes: number; answers: number[] }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const s = await accepted;
  let writes = 0;
  const write = s.write.bind(s) as (b: Uint8Array) => boolean;
  s.write = ((b: Uint8Array) => (writes++, write(b))) as typeof s.write;
  const responder = new FrameSocket(s, undefined, true, budgetMs);
  responder.onFrame((p) => {
    const until = performance.now() + workMs;
    while (performance.now() < until); // the handler's work
    responder.send(Uint8Array.of(p[0]! + 100));
  });
  const answers: number[] = [];
  const initiator = new FrameSocket(client);
  const all = new Promise<void>((r) =>
    initiator.onFrame((p) => {
      answers.push(p[0]!);
      if (answers.length === 8) r();
    }),
  );
  for (let i = 0; i < 8; i++) initiator.send(Uint8Array.of(i));
  initiator.flush();
  await all;
  client.destroy();
  s.destroy();
  server.close();
  return { writes, answers };
}

test('answers stream out while a chunk is handled: a write per flush budget of work, not one per chunk', async () => {
  // Each frame takes 1 ms of work, above the 0.4 ms budget: every answer leaves as soon as it is made,
  // so the peer can start on it while this end handles the rest of the chunk.
  const streamed = await answerWrites(0.4, 1);
  assert.deepEqual(streamed.answers, [100, 101, 102, 103, 104, 105, 106, 107]);
  assert.equal(streamed.writes, 8);
  // With no budget the answers to one chunk leave together after the turn (8 frames sent in one write
  // arrive in one or a few chunks on 127.0.0.1).
  const batched = await answerWrites(Infinity, 1);
  assert.deepEqual(batched.answers, streamed.answers);
  assert.ok(batched.writes < 8, `${batched.writes} writes`);
});
