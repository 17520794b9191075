/**
 * Worker thread of the live key supply (key-supply.ts): turns one block of a link into final key, end to
 * end, through the one block path `distillBlock` (src/postprocess distill.ts) — the link engine produces
 * the raw record from the physics stream of (seed, link, block index), key bits and privacy-amplification
 * seeds come from node:crypto (or the seed with `keys: 'deterministic'`), and authentication draws from
 * the reservation of the link's pool that the parent made durable before sending the request. It runs off
 * the main thread because a block big enough to yield finite-key secret bits (10⁹ pulses) takes seconds.
 * The key leaves only as a transferred buffer to the parent, never logged; the Bob copy is wiped (it is
 * identical or the block is not emitted). What is left of the reservation, plus the pool's replenishment
 * from the block's final key, goes back to the parent in every answer.
 */
import { parentPort } from 'node:worker_threads';
import { BitArray, QkdnetError } from '../common/index.ts';
import type { LinkParams } from '../physics/index.ts';
import type { AttackSpec } from '../qkd/index.ts';
import { AuthKeyPool, distillBlock, type DistilledProvenance, type KeyMode } from '../postprocess/index.ts';

/** A request from the parent. */
export interface KeyBlockRequest {
  readonly linkId: string;
  /** Block index within the link (the distillation rule's index). */
  readonly blockId: number;
  readonly pulses: number;
  readonly params: LinkParams;
  readonly distanceKm: number;
  readonly attack: AttackSpec | null;
  readonly seed: string;
  readonly keys: KeyMode;
  /** Authentication bits reserved for this block (transferred; already erased from the parent's pool). */
  readonly auth: { readonly bits: number; readonly words: ArrayBuffer };
  readonly timeNs: number;
}

/** Authentication bits handed back: the unused reservation plus the replenishment. */
export interface AuthReturn {
  readonly bits: number;
  readonly words: ArrayBuffer;
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
      readonly provenance: DistilledProvenance;
      readonly auth: AuthReturn;
    }
  | {
      readonly ok: false;
      readonly linkId: string;
      readonly reason: string;
      readonly auth: AuthReturn | null;
    };

/** Distils one requested block (exported for tests; the thread calls it per message). */
export function distilRequest(req: KeyBlockRequest): { answer: KeyBlockAnswer; transfer: ArrayBuffer[] } {
  const reserved = new BitArray(req.auth.bits, new Uint32Array(req.auth.words));
  const pool = new AuthKeyPool(reserved);
  reserved.wipe();
  const giveBack = (): AuthReturn => {
    const rest = pool.remaining();
    pool.wipe();
    return { bits: rest.length, words: rest.words.buffer as ArrayBuffer };
  };
  const { result: r, provenance } = distillBlock(
    {
      seed: req.seed,
      linkId: req.linkId,
      blockIndex: req.blockId,
      pulses: req.pulses,
      params: req.params,
      distanceKm: req.distanceKm,
      startNs: req.timeNs,
      ...(req.attack ? { attack: req.attack } : {}),
    },
    { keys: req.keys, authPool: pool },
  );
  const auth = giveBack();
  if (!r.ok)
    return { answer: { ok: false, linkId: req.linkId, reason: r.reason, auth }, transfer: [auth.words] };
  const key = new Uint8Array(r.alice.key).buffer;
  r.bob.key.fill(0);
  r.alice.key.fill(0);
  return {
    answer: {
      ok: true,
      linkId: req.linkId,
      blockId: r.alice.blockId,
      key,
      bits: r.alice.bits,
      estimates: { ...r.alice.estimates },
      createdNs: r.alice.createdNs,
      provenance,
      auth,
    },
    transfer: [key, auth.words],
  };
}

/**
 * One request → one answer. Handled conditions (a QkdnetError: e.g. the authenticated exchange refused)
 * come back as values; anything else is a bug and is not caught here: it ends the thread, and the parent
 * (key-supply.ts) stops the supply and says so loudly instead of turning a defect into a "failed block".
 */
export function answerRequest(req: KeyBlockRequest): { answer: KeyBlockAnswer; transfer: ArrayBuffer[] } {
  try {
    return distilRequest(req);
  } catch (e) {
    if (!(e instanceof QkdnetError)) throw e;
    // The reservation is lost with the failed block: its bits count as drawn and are never reused.
    return {
      answer: { ok: false, linkId: req.linkId, reason: `${e.code}: ${e.message}`, auth: null },
      transfer: [],
    };
  }
}

parentPort?.on('message', (req: KeyBlockRequest) => {
  const out = answerRequest(req);
  parentPort!.postMessage(out.answer, out.transfer);
});
