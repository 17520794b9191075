import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, Socket } from 'node:net';
import { ChannelClient, openSealed as open, seal, serveChannel } from './peer-channel.ts';

const KEY = new Uint8Array(32).fill(7); // test-only channel key
const OTHER = new Uint8Array(32).fill(8);

test('seal() then open() returns the message; any change to it is refused', () => {
  const m = seal(KEY, 'req', 5, 1000, { type: 'ppk', keyId: 'k' });
  assert.deepEqual(open(KEY, 'req', m)?.body, { type: 'ppk', keyId: 'k' });
  assert.equal(open(OTHER, 'req', m), undefined, 'other key');
  assert.equal(open(KEY, 'resp', m), undefined, 'a request cannot pass as a reply');
  assert.equal(open(KEY, 'req', { ...m, seq: 6 }), undefined, 'sequence number');
  assert.equal(open(KEY, 'req', { ...m, body: { type: 'ppk', keyId: 'x' } }), undefined, 'body');
  assert.equal(open(KEY, 'req', { ...m, sentMs: 1001 }), undefined, 'time');
  assert.equal(open(KEY, 'req', { ...m, mac: 'zz' }), undefined, 'malformed mac');
  assert.equal(open(KEY, 'req', null), undefined);
});

test('a client and server with the same key exchange authenticated requests over TCP', async () => {
  const seen: unknown[] = [];
  const server = await serveChannel(KEY, async (b) => (seen.push(b), { ok: true, echo: b.n }));
  const c = new ChannelClient(KEY, '127.0.0.1', server.port, 100);
  try {
    assert.deepEqual(await c.request({ n: 1 }), { ok: true, echo: 1 });
    assert.deepEqual(await c.request({ n: 2 }), { ok: true, echo: 2 });
    assert.deepEqual(seen, [{ n: 1 }, { n: 2 }]);
  } finally {
    c.close();
    await server.close();
  }
});

test('a client with the wrong key gets no answer: the server closes the connection', async () => {
  let called = false;
  const server = await serveChannel(KEY, async () => ((called = true), { ok: true }));
  const c = new ChannelClient(OTHER, '127.0.0.1', server.port, 100);
  try {
    await assert.rejects(c.request({ n: 1 }), { code: 'IPSEC_UNAVAILABLE' });
    assert.equal(called, false);
  } finally {
    c.close();
    await server.close();
  }
});

test('a replayed request (same sequence number) and a stale one are refused', async () => {
  let calls = 0;
  let now = 50_000;
  const server = await serveChannel(KEY, async () => (calls++, { ok: true }), { clock: () => now });
  const send = (line: string) =>
    new Promise<string>((resolve) => {
      const s = connect(server.port, '127.0.0.1', () => s.write(line));
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got));
      setTimeout(() => s.end(), 300);
    });
  try {
    const m = `${JSON.stringify(seal(KEY, 'req', 9, now, { n: 1 }))}\n`;
    assert.match(await send(m), /"dir":"resp"/);
    assert.equal(await send(m), '', 'replay');
    now += 60_000;
    assert.equal(
      await send(`${JSON.stringify(seal(KEY, 'req', 10, now - 31_000, { n: 1 }))}\n`),
      '',
      'stale',
    );
    assert.equal(calls, 1);
  } finally {
    await server.close();
  }
});

test('on an open connection a request is written before request() returns (the caller’s next work cannot delay it)', async () => {
  const server = await serveChannel(KEY, async (b) => ({ ok: true, echo: b.n }));
  const c = new ChannelClient(KEY, '127.0.0.1', server.port, 100);
  const write = Socket.prototype.write;
  const written: string[] = [];
  try {
    await c.request({ n: 1 }); // connects
    Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
      written.push(String(args[0]));
      return write.apply(this, args);
    } as Socket['write'];
    const answer = c.request({ n: 2 });
    Socket.prototype.write = write;
    assert.equal(written.length, 1, 'written synchronously, not after a later turn');
    assert.match(written[0]!, /"n":2/);
    assert.deepEqual(await answer, { ok: true, echo: 2 });
  } finally {
    Socket.prototype.write = write;
    c.close();
    await server.close();
  }
});
