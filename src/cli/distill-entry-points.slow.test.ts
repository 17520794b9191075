/**
 * One block path: the four entry points that turn simulated pulses into key — the network's event-level
 * links (src/network runEventBlock), the live key worker of `qkdnet up` / `qkdnet kme demo`
 * (src/server distilRequest), `qkdnet ipsec up` (engineBlockSource) and `qkdnet link simulate
 * --postprocess` (addPostprocess) — all call `distillBlock`, so with deterministic keys the same
 * (seed, link, block index, link parameters) gives the same key bytes at every one of them; with secret
 * keys (the default) the bytes differ run to run while the figures do not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESETS } from '../physics/index.ts';
import { linkAuthBootstrap } from '../postprocess/index.ts';
import { runEventBlock } from '../network/index.ts';
import { distilRequest, LinkAuthPools } from '../server/index.ts';
import { engineBlockSource } from './commands/ipsec.ts';
import { addPostprocess, LINK_SIMULATE_LINK_ID, runLinkSimulate } from './commands/link.ts';

// GYS at 5 km, 3·10⁸ pulses: the smallest engine block found here that passes the finite-key estimate.
const SEED = 'entry-points';
const LINK = LINK_SIMULATE_LINK_ID;
const PULSES = 3e8;
const KM = 5;
const params = PRESETS.gys!.params;

function viaEventLevel(keys: 'secret' | 'deterministic'): Buffer {
  const out = runEventBlock(
    {
      seed: SEED,
      linkId: LINK,
      blockId: 0,
      pulses: PULSES,
      params,
      distanceKm: KM,
      attack: null,
      timeNs: 0,
      wantKey: true,
    },
    { keys, authPool: linkAuthBootstrap(SEED, LINK, keys) },
  );
  assert.ok(out.ok && out.key, out.ok ? '' : out.reason);
  return Buffer.from(out.key);
}

function viaKeyWorker(keys: 'secret' | 'deterministic'): { key: Buffer; provenance: string } {
  const pools = new LinkAuthPools(undefined);
  pools.open(LINK, () => linkAuthBootstrap(SEED, LINK, keys));
  const r = pools.reserve(LINK, 2048)!;
  const bits = r.pool.remaining();
  const { answer } = distilRequest({
    linkId: LINK,
    blockId: r.blockIndex,
    pulses: PULSES,
    params,
    distanceKm: KM,
    attack: null,
    seed: SEED,
    keys,
    auth: { bits: bits.length, words: bits.words.buffer as ArrayBuffer },
    timeNs: 0,
  });
  assert.ok(answer.ok, answer.ok ? '' : answer.reason);
  return { key: Buffer.from(answer.key), provenance: answer.provenance };
}

function viaIpsec(keys: 'secret' | 'deterministic'): { key: Buffer; provenance: string | undefined } {
  const block = engineBlockSource(SEED, KM, PULSES, keys, { id: LINK, params })();
  assert.ok(block);
  return { key: Buffer.from(block.key), provenance: block.provenance };
}

function viaLinkSimulate(keys: 'secret' | 'deterministic'): { key: Buffer; provenance: string } {
  const o = {
    preset: 'gys',
    distance: String(KM),
    pulses: String(PULSES),
    seed: SEED,
    set: [],
    format: 'json',
    postprocess: true,
    deterministicKeys: keys === 'deterministic',
  };
  let got: { key: Buffer; provenance: string } | undefined;
  addPostprocess(runLinkSimulate(o), o, (key, provenance) => (got = { key: Buffer.from(key), provenance }));
  assert.ok(got);
  return got;
}

test('with deterministic keys the four entry points give the same key for the same inputs', () => {
  const event = viaEventLevel('deterministic');
  const worker = viaKeyWorker('deterministic');
  const ipsec = viaIpsec('deterministic');
  const link = viaLinkSimulate('deterministic');
  assert.ok(event.length > 100, `${event.length} bytes`);
  assert.deepEqual(worker.key, event);
  assert.deepEqual(ipsec.key, event);
  assert.deepEqual(link.key, event);
  for (const p of [worker.provenance, ipsec.provenance, link.provenance])
    assert.equal(p, 'simulated-deterministic');
});

test('with secret keys (the default) the same inputs give different keys of the same length', () => {
  const a = viaKeyWorker('secret');
  const b = viaKeyWorker('secret');
  assert.equal(a.provenance, 'qkd');
  assert.equal(a.key.length, b.key.length);
  assert.notDeepEqual(a.key, b.key);
});
