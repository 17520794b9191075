/**
 * Failover between replicas of one KME (./failover.ts): which failures move to the next URL for which
 * route, the backoff, stickiness, and a real SAE client whose first URL is dead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isQkdnetError } from '../common/index.ts';
import { Etsi014Client } from './client.ts';
import { FailoverGroup } from './failover.ts';
import type { JsonAnswer } from './https-json.ts';
import { freePort } from './pg-cluster.ts';
import { makeTestPki, startPair } from './kme-pair.fixture.ts';

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { requestSent: false });
const lost = () => Object.assign(new Error('socket hang up'), { requestSent: true });
const ok: JsonAnswer = { status: 200, body: { ok: true } };
const busy: JsonAnswer = { status: 503, body: { message: 'store down' } };
const fast = { baseMs: 1, maxMs: 2 };

test('a refused connection or a 503 moves to the next replica, which then stays first', async () => {
  const g = new FailoverGroup(['https://a', 'https://b', 'https://c'], fast);
  const seen: string[] = [];
  const a = await g.request('once', async (base) => {
    seen.push(base);
    if (base === 'https://a') throw refused();
    if (base === 'https://b') return busy;
    return ok;
  });
  assert.deepEqual([a.status, seen], [200, ['https://a', 'https://b', 'https://c']]);
  assert.equal(g.current, 'https://c');
  seen.length = 0;
  await g.request('safe', async (base) => (seen.push(base), ok));
  assert.deepEqual(seen, ['https://c']);
});

test('a lost connection after sending: dec_keys (once) reports an unknown outcome, enc_keys (fresh) moves on', async () => {
  const g = new FailoverGroup(['https://a', 'https://b'], fast);
  let calls = 0;
  await assert.rejects(
    g.request('once', async () => {
      calls++;
      throw lost();
    }),
    (e) => isQkdnetError(e, 'KMS_PEER_UNAVAILABLE') && /outcome is unknown/.test((e as Error).message),
  );
  assert.equal(calls, 1, 'never repeated silently');
  const seen: string[] = [];
  const a = await g.request('fresh', async (base) => {
    seen.push(base);
    if (base === 'https://a') throw lost();
    return ok;
  });
  assert.deepEqual([a.status, seen], [200, ['https://a', 'https://b']]);
});

test('every replica down: rounds with backoff, then one error naming the URLs; all 503: the 503 is returned', async () => {
  const g = new FailoverGroup(['https://a', 'https://b'], { rounds: 3, ...fast });
  let calls = 0;
  await assert.rejects(
    g.request('safe', async () => {
      calls++;
      throw refused();
    }),
    (e) => isQkdnetError(e, 'KMS_PEER_UNAVAILABLE') && /https:\/\/a, https:\/\/b/.test((e as Error).message),
  );
  assert.equal(calls, 6);
  assert.equal((await g.request('fresh', async () => busy)).status, 503);
  // One URL: a 503 is the answer (the spec's "no key"), not a reason to hammer the same server.
  let one = 0;
  await new FailoverGroup(['https://a'], fast).request('fresh', async () => (one++, busy));
  assert.equal(one, 1);
});

test('a real SAE client given a dead replica first gets its keys from the live one, and the slave too', async () => {
  const pki = await makeTestPki();
  const pair = await startPair(pki, { blocks: 1 });
  const dead = `https://127.0.0.1:${await freePort()}`;
  const client = (sae: string, urls: string[]) =>
    Etsi014Client.fromFiles(urls, pki.tls(sae), { kmeId: sae === 'sae-a' ? 'kme-a' : 'kme-b' });
  const master = client('sae-a', [dead, pair.a.url]);
  const slave = client('sae-b', [dead, pair.b.url]);
  try {
    const [k] = await master.getKeys('sae-b');
    assert.equal(master.currentUrl, pair.a.url);
    const [s] = await slave.getKeysWithIds('sae-a', [k!.keyId]);
    assert.deepEqual(s!.key, k!.key);
  } finally {
    master.close();
    slave.close();
    await pair.close();
    pki.cleanup();
  }
});
