/**
 * The PPK agents' logic without strongSwan (the real thing is in ppk-agents.slow.test.ts): both charons are
 * fakes that record VICI commands, the channel and the responder agent are real (HMAC over TCP on
 * 127.0.0.1), keys come from an in-memory KeySource pair. Checks that both sides load the same key under
 * PPK_ID = key_ID, that copies are erased, and what each policy does when no key comes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink } from '../detect/index.ts';
import type { Alert } from '../common/index.ts';
import { agentLogger, detectAlertSink } from './alerts.ts';
import type { KeySource, SourcedKey } from './key-source.ts';
import { ML_KEM_768_PQC } from './kme-pair.ts';
import { ChannelClient } from './peer-channel.ts';
import type { NoKeyPolicy } from './exhaustion-policy.ts';
import { InitiatorAgent, loadPpkAndConn } from './ppk-initiator.ts';
import { startResponderAgent } from './ppk-responder.ts';
import type { ViciMessage, ViciMessageIn } from './vici-codec.ts';
import type { ViciClient } from './vici-client.ts';

type Call = { cmd: string; msg: ViciMessageIn | undefined; data?: Buffer };

function fakeVici(initiateOk: () => boolean = () => true) {
  const calls: Call[] = [];
  let ike = 0;
  const yes = { success: Buffer.from('yes') } as ViciMessage;
  const v = {
    calls,
    async call(cmd: string, msg?: ViciMessageIn) {
      const data = msg?.data instanceof Uint8Array ? Buffer.from(msg.data) : undefined; // copy before erasure
      calls.push({ cmd, msg, ...(data ? { data } : {}) });
      return yes;
    },
    async request(cmd: string, msg?: ViciMessageIn) {
      calls.push({ cmd, msg });
      return yes;
    },
    async stream(cmd: string, _event: string, msg?: ViciMessageIn) {
      calls.push({ cmd, msg });
      if (initiateOk()) {
        const id = String(++ike);
        return {
          response: yes,
          events: [{ msg: Buffer.from('IKE_SA established'), 'ikesa-uniqueid': Buffer.from(id) }],
        };
      }
      return {
        response: { success: Buffer.from('no'), errmsg: Buffer.from("establishing CHILD_SA 'n3gpp' failed") },
        events: [{ msg: Buffer.from('received AUTHENTICATION_FAILED notify error') }],
      };
    },
  };
  return { v, client: v as unknown as ViciClient };
}

/** Two KeySources sharing a pool of `n` keys (master and slave views), remembering what they handed out. */
function memoryPair(n: number) {
  const pool = new Map<string, Buffer>();
  const handed: Uint8Array[] = [];
  for (let i = 0; i < n; i++) pool.set(randomUUID(), randomBytes(32));
  const give = (keyId: string, bytes: Buffer): SourcedKey => {
    const key = Uint8Array.from(bytes);
    handed.push(key);
    return { keyId, key, provenance: 'qkd' };
  };
  const master: KeySource = {
    async newKey() {
      const next = [...pool.keys()].find((k) => !taken.has(k));
      if (!next) return { ok: false, reason: 'exhausted', message: '0 keys stored' };
      taken.add(next);
      return { ok: true, value: give(next, pool.get(next)!) };
    },
    keyById: async () => ({ ok: false, reason: 'refused', message: 'master only' }),
  };
  const taken = new Set<string>();
  const slave: KeySource = {
    newKey: async () => ({ ok: false, reason: 'refused', message: 'slave only' }),
    async keyById(id) {
      const b = pool.get(id);
      return b ? { ok: true, value: give(id, b) } : { ok: false, reason: 'not-found', message: `no ${id}` };
    },
  };
  return { master, slave, handed, pool };
}

async function rig(
  opts: {
    keys?: number;
    policy?: NoKeyPolicy;
    master?: KeySource;
    initiateOk?: () => boolean;
    sink?: (a: Alert) => void;
  } = {},
) {
  const channelKey = randomBytes(32);
  const ue = fakeVici(opts.initiateOk);
  const n3 = fakeVici();
  const keys = memoryPair(opts.keys ?? 3);
  const log = agentLogger('t', 'silent');
  const responder = await startResponderAgent({
    vici: n3.client,
    keys: keys.slave,
    channelKey,
    pqc: ML_KEM_768_PQC,
    log,
  });
  const alerts: Alert[] = [];
  const channel = new ChannelClient(channelKey, '127.0.0.1', responder.port);
  const agent = new InitiatorAgent({
    vici: ue.client,
    keys: opts.master ?? keys.master,
    channel,
    conn: { name: 'c', auth: 'psk' },
    policy: opts.policy ?? 'fail-closed',
    pqc: ML_KEM_768_PQC,
    lifetimeS: 3600,
    log,
    alert: (a) => {
      alerts.push(a);
      opts.sink?.(a);
    },
  });
  const close = async () => {
    await agent.stop();
    channel.close();
    await responder.close();
  };
  return { ue: ue.v, n3: n3.v, keys, responder, agent, alerts, close, channelKey };
}

const loads = (calls: Call[]) => calls.filter((c) => c.cmd === 'load-shared');

test('both sides load the same key as PPK with PPK_ID = key_ID, then the UE initiates with ppk_id set', async () => {
  const r = await rig();
  try {
    const res = await r.agent.establish();
    assert.ok(res.ok);
    const [u] = loads(r.ue.calls);
    const [n] = loads(r.n3.calls);
    assert.deepEqual(u?.msg?.owners, [res.value.keyId]);
    assert.deepEqual(n?.msg?.owners, [res.value.keyId]);
    assert.equal(u?.msg?.type, 'PPK');
    assert.deepEqual(u?.data, n?.data, 'same key bytes on both sides');
    const conn = r.ue.calls.find((c) => c.cmd === 'load-conn')?.msg?.c as Record<string, unknown>;
    assert.equal(conn.ppk_id, res.value.keyId);
    assert.equal(conn.ppk_required, true);
    assert.ok(
      r.ue.calls.findIndex((c) => c.cmd === 'load-conn') < r.ue.calls.findIndex((c) => c.cmd === 'initiate'),
    );
    assert.ok(
      r.keys.handed.every((k) => k.every((b) => b === 0)),
      'every copy handed out was erased',
    );
  } finally {
    await r.close();
  }
});

test('a second round retires the first SA: terminate by its id, unload its PPK here and at the peer', async () => {
  const r = await rig();
  try {
    const a = await r.agent.establish();
    const b = await r.agent.establish();
    assert.ok(a.ok && b.ok);
    const term = r.ue.calls.find((c) => c.cmd === 'terminate');
    assert.equal(term?.msg?.['ike-id'], a.value.ikeUniqueId);
    const unloadedHere = r.ue.calls.filter((c) => c.cmd === 'unload-shared').map((c) => c.msg?.id);
    const unloadedThere = r.n3.calls.filter((c) => c.cmd === 'unload-shared').map((c) => c.msg?.id);
    assert.deepEqual(unloadedHere, [`ppk-${a.value.keyId}`]);
    assert.deepEqual(unloadedThere, [`ppk-${a.value.keyId}`]);
    assert.deepEqual(r.responder.loaded(), [b.value.keyId]);
  } finally {
    await r.close();
  }
});

test('fail-closed without a key: no initiate, a critical alert, no load anywhere', async () => {
  const r = await rig({ keys: 0 });
  try {
    const res = await r.agent.establish();
    assert.ok(!res.ok && res.reason === 'no-key');
    assert.equal(
      r.ue.calls.some((c) => c.cmd === 'initiate'),
      false,
    );
    assert.deepEqual(loads(r.ue.calls), []);
    assert.deepEqual(loads(r.n3.calls), []);
    assert.equal(r.alerts.length, 1);
    assert.equal(r.alerts[0]!.kind, 'ipsec-no-qkd-key');
    assert.equal(r.alerts[0]!.severity, 'critical');
  } finally {
    await r.close();
  }
});

test('pqc without a key: both sides derive the same ML-KEM-768 PPK, provenance pqc, and a warning alert', async () => {
  const r = await rig({ keys: 0, policy: 'pqc' });
  try {
    const res = await r.agent.establish();
    assert.ok(res.ok);
    assert.equal(res.value.provenance, 'pqc');
    const [u] = loads(r.ue.calls);
    const [n] = loads(r.n3.calls);
    assert.equal(u?.data?.length, 32);
    assert.deepEqual(u?.data, n?.data);
    assert.equal(r.alerts[0]?.kind, 'ipsec-pqc-fallback');
    assert.equal(r.alerts[0]?.action, 'pqc-only');
  } finally {
    await r.close();
  }
});

test('an authentication failure is a value with an alert, and the PPK is unloaded on both sides', async () => {
  const r = await rig({ initiateOk: () => false });
  try {
    const res = await r.agent.establish();
    assert.ok(!res.ok && res.reason === 'authentication-failed');
    assert.equal(r.alerts[0]?.kind, 'ipsec-auth-failed');
    assert.equal(r.ue.calls.filter((c) => c.cmd === 'unload-shared').length, 1);
    assert.deepEqual(r.responder.loaded(), []);
    assert.equal(r.agent.current, undefined);
  } finally {
    await r.close();
  }
});

test('a daemon that goes away mid-round gives a failure value and an alert, never an exception', async () => {
  const r = await rig();
  try {
    (r.ue as { call: unknown }).call = async () => {
      throw new Error('VICI socket closed');
    };
    const res = await r.agent.establish();
    assert.ok(!res.ok && res.reason === 'ike-failed');
    assert.match(res.message, /VICI socket closed/);
    assert.equal(r.alerts.at(-1)?.kind, 'ipsec-unavailable');
    assert.deepEqual(r.responder.loaded(), [], "the peer's copy was released");
    const again = await r.agent.establish(); // the agent is still usable
    assert.ok(!again.ok);
  } finally {
    await r.close();
  }
});

test("alerts reach the detection folder's sinks: a fail-closed alert lands in a JSON-lines FileSink", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipsec-alerts-'));
  const file = new FileSink(join(dir, 'alerts.jsonl'));
  const r = await rig({ keys: 0, sink: detectAlertSink([file], agentLogger('t', 'silent')) });
  try {
    await r.agent.establish();
    const path = join(dir, 'alerts.jsonl');
    const text = () => (existsSync(path) ? readFileSync(path, 'utf8') : '');
    for (let i = 0; i < 250 && !text().endsWith('\n'); i++) await new Promise((res) => setTimeout(res, 20)); // the sink writes asynchronously
    await file.close();
    const lines = text().trim().split('\n');
    const last = JSON.parse(lines.at(-1)!) as Alert;
    assert.equal(last.kind, 'ipsec-no-qkd-key');
    assert.equal(last.nodeId, 'ue');
    assert.equal(last.evidence.statistic, 'qkd-keys-available');
  } finally {
    await r.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hybrid with a QKD key: both sides load QKD key ⊕ ML-KEM key (not the QKD key), provenance hybrid, no alert', async () => {
  const r = await rig({ policy: 'hybrid' });
  try {
    const res = await r.agent.establish();
    assert.ok(res.ok);
    assert.equal(res.value.provenance, 'hybrid');
    const [u] = loads(r.ue.calls);
    const [n] = loads(r.n3.calls);
    assert.deepEqual(u?.msg?.owners, [res.value.keyId]);
    assert.equal(u?.data?.length, 32);
    assert.deepEqual(u?.data, n?.data, 'same hybrid PPK on both sides');
    const qkd = r.keys.pool.get(res.value.keyId)!;
    assert.notDeepEqual(u?.data, qkd, 'the PPK is not the bare QKD key');
    assert.ok(
      r.keys.handed.every((k) => k.every((b) => b === 0)),
      'QKD copies erased',
    );
    assert.deepEqual(r.alerts, []);
  } finally {
    await r.close();
  }
});

test('hybrid with an empty pool: ML-KEM alone, provenance pqc, and a downgrade alert', async () => {
  const r = await rig({ keys: 0, policy: 'hybrid' });
  try {
    const res = await r.agent.establish();
    assert.ok(res.ok);
    assert.equal(res.value.provenance, 'pqc');
    assert.equal(r.alerts.length, 1);
    assert.equal(r.alerts[0]?.kind, 'ipsec-pqc-fallback');
    assert.equal(r.alerts[0]?.severity, 'warning');
  } finally {
    await r.close();
  }
});

test('a key_ID handed out twice is refused the second time: no second load, a critical alert', async () => {
  const id = randomUUID();
  const bytes = randomBytes(32);
  const master: KeySource = {
    newKey: async () => ({ ok: true, value: { keyId: id, key: Uint8Array.from(bytes), provenance: 'qkd' } }),
    keyById: async () => ({ ok: false, reason: 'refused', message: 'master only' }),
  };
  const r = await rig({ master });
  try {
    const first = await r.agent.establish();
    assert.ok(!first.ok, 'the slave pool does not know this id: refused by the peer');
    const second = await r.agent.establish();
    assert.ok(!second.ok && second.reason === 'no-key');
    assert.equal(r.alerts.at(-1)?.kind, 'ipsec-ppk-reused');
    assert.equal(loads(r.ue.calls).length, 1, 'the UE loaded it once, never again');
  } finally {
    await r.close();
  }
});

test('the responder refuses a PPK_ID it loaded before, even after release', async () => {
  const r = await rig();
  try {
    const a = await r.agent.establish();
    assert.ok(a.ok);
    await r.agent.establish(); // retires a: released at the N3IWF
    const channel = new ChannelClient(r.channelKey, '127.0.0.1', r.responder.port, Date.now() * 1000 + 5e8);
    const again = await channel.request({ type: 'ppk', keyId: a.value.keyId });
    channel.close();
    assert.equal(again.ok, false);
    assert.equal(again.reason, 'reused');
  } finally {
    await r.close();
  }
});

/** A VICI client whose answers the test releases one by one (in order, as charon sends them). */
function heldVici() {
  const sent: { cmd: string; settle: (ok: boolean) => void }[] = [];
  const client = {
    call(cmd: string) {
      return new Promise<ViciMessage>((resolve, reject) =>
        sent.push({
          cmd,
          settle: (ok) => (ok ? resolve({} as ViciMessage) : reject(new Error(`VICI ${cmd} failed`))),
        }),
      );
    },
  } as unknown as ViciClient;
  return { sent, client };
}

test('the PPK and the connection naming it go to charon together; the key copy is erased once its load is answered', async () => {
  const { sent, client } = heldVici();
  const key = Uint8Array.from(randomBytes(32));
  const done = loadPpkAndConn(client, { id: 'ppk-x' }, key, { bench: {} });
  assert.deepEqual(
    sent.map((s) => s.cmd),
    ['load-shared', 'load-conn'],
    'load-conn is sent without waiting for the load-shared answer, and after it',
  );
  let settled = false;
  void done.then(() => (settled = true));
  sent[0]!.settle(true);
  await new Promise((r) => setImmediate(r));
  assert.ok(
    key.every((b) => b === 0),
    'erased after the load-shared answer',
  );
  assert.equal(settled, false, 'not done before the connection is loaded');
  sent[1]!.settle(true);
  await done;
});

test('a failed load-shared or load-conn rejects after both answered, and the key copy is erased either way', async () => {
  for (const failing of [0, 1]) {
    const { sent, client } = heldVici();
    const key = Uint8Array.from(randomBytes(32));
    const done = loadPpkAndConn(client, { id: 'ppk-x' }, key, { bench: {} });
    sent[0]!.settle(failing !== 0);
    sent[1]!.settle(failing !== 1);
    await assert.rejects(done, new RegExp(failing === 0 ? 'load-shared' : 'load-conn'));
    assert.ok(key.every((b) => b === 0));
  }
  const { sent, client } = heldVici();
  const done = loadPpkAndConn(client, { id: 'ppk-x' }, new Uint8Array(32));
  assert.deepEqual(
    sent.map((s) => s.cmd),
    ['load-shared'],
    'no connection given: the key alone',
  );
  sent[0]!.settle(true);
  await done;
});
