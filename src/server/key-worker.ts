/**
 * Worker thread of the live key supply (key-supply.ts): turns one block of a link into final key, end to
 * end — the link engine (src/qkd `simulateBlock`) produces the raw record, post-processing (src/postprocess
 * `runPipeline`: sifting, estimation, Cascade, verification, privacy amplification with the Lim et al. 2014
 * finite-key length, authentication) distils it. It runs off the main thread because a block big enough
 * to yield finite-key secret bits (10⁹ pulses) takes seconds. The key leaves only as a transferred buffer
 * to the parent, never logged; the Bob copy is wiped (it is identical or the block is not emitted).
 */
import { parentPort } from 'node:worker_threads';
import { createRng } from '../common/index.ts';
import type { LinkParams } from '../physics/index.ts';
import { simulateBlock, type AttackSpec } from '../qkd/index.ts';
import { runPipeline } from '../postprocess/index.ts';

/** A request from the parent. */
export interface KeyBlockRequest {
  readonly linkId: string;
  readonly blockId: number;
  readonly pulses: number;
  readonly params: LinkParams;
  readonly distanceKm: number;
  readonly attack: AttackSpec | null;
  readonly seed: string;
  readonly timeNs: number;
}

/** The answer: a final key block (key as a transferred buffer) or why the block gave none. */
export type KeyBlockAnswer =
  | {
      readonly ok: true;
      readonly linkId: string;
      readonly blockId: string;
      readonly key: ArrayBuffer;
      readonly bits: number;
      readonly estimates: {
        qber: number;
        phaseErrorBound: number;
        leakedBits: number;
        epsilonSec: number;
        epsilonCor: number;
      };
      readonly createdNs: number;
    }
  | { readonly ok: false; readonly linkId: string; readonly reason: string };

parentPort?.on('message', (req: KeyBlockRequest) => {
  let answer: KeyBlockAnswer;
  const transfer: ArrayBuffer[] = [];
  try {
    const rng = createRng(`${req.seed}:${req.linkId}:${req.blockId}`);
    const block = simulateBlock(
      {
        linkId: req.linkId,
        blockId: req.blockId,
        pulses: req.pulses,
        params: req.params,
        distanceKm: req.distanceKm,
        startNs: req.timeNs,
        ...(req.attack ? { attack: req.attack } : {}),
      },
      rng,
    );
    const r = runPipeline(block.raw, { timeNs: req.timeNs }, rng.stream('postprocess'));
    if (!r.ok) answer = { ok: false, linkId: req.linkId, reason: r.reason };
    else {
      const key = new Uint8Array(r.alice.key).buffer;
      r.bob.key.fill(0);
      r.alice.key.fill(0);
      transfer.push(key);
      answer = {
        ok: true,
        linkId: req.linkId,
        blockId: r.alice.blockId,
        key,
        bits: r.alice.bits,
        estimates: { ...r.alice.estimates },
        createdNs: r.alice.createdNs,
      };
    }
  } catch (e) {
    answer = { ok: false, linkId: req.linkId, reason: `error: ${(e as Error).message}` };
  }
  parentPort!.postMessage(answer, transfer);
});
