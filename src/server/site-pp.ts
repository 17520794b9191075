// @edge: starts the post-processing worker thread of a `qkdnet site` process and feeds its KME.
/**
 * A site's side of its links' post-processing (`qkdnet up --sites …`): a worker thread
 * (./site-pp-worker.ts) runs this site's end of each block two-party with the peer site over TCP; each
 * final key it produces is supplied here to this site's own KME (with the block id both ends share, so
 * both KMEs cut the same key IDs), and erased. The supervisor hears only the outcome — bits or a reason
 * — never key bytes (./site-protocol.ts `pp-done`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KmeHandle } from '../kms/index.ts';
import type { PpOrder, PpResult } from './site-pp-worker.ts';

/** The running worker of a site. */
export interface SitePp {
  order(o: PpOrder): void;
  close(): Promise<void>;
}

/**
 * Starts the worker over site directory `dir` (its links.json); `done` receives each block's outcome
 * after this site's KME took the key.
 */
export function startSitePpWorker(
  dir: string,
  kme: Pick<KmeHandle, 'supply'>,
  done: (linkId: string, block: number, outcome: { bits: number } | { reason: string }) => void,
): SitePp {
  // Compiled (dist/cli.mjs): the worker is dist/site-pp-worker.mjs when the build made one; otherwise
  // (and from the sources) it is TypeScript: register tsx inside it first (as key-supply.ts does).
  const data = { workerData: { sitePp: dir } };
  const compiled = import.meta.url.endsWith('.mjs');
  const built = new URL('./site-pp-worker.mjs', import.meta.url);
  const source = new URL(
    compiled ? '../src/server/site-pp-worker.ts' : './site-pp-worker.ts',
    import.meta.url,
  );
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(source.href)}); });`;
  const worker =
    compiled && existsSync(fileURLToPath(built))
      ? new Worker(built, data)
      : new Worker(boot, { eval: true, ...data });
  worker.on('message', (r: PpResult) => {
    if (!r.ok) return done(r.linkId, r.block, { reason: r.reason });
    const key = new Uint8Array(r.key);
    try {
      kme.supply(r.peerKme, {
        linkId: r.linkId,
        blockId: r.blockId,
        key,
        bits: r.bits,
        estimates: r.estimates,
        createdNs: r.createdNs,
        provenance: r.provenance,
      });
      done(r.linkId, r.block, { bits: r.bits });
    } catch (e) {
      done(r.linkId, r.block, { reason: `supply failed: ${(e as Error).message}` });
    } finally {
      key.fill(0); // the store keeps its own (sealed) copy
    }
  });
  worker.on('error', (e) => {
    process.stderr.write(`site post-processing worker crashed: ${e.stack ?? e.message}\n`);
  });
  worker.unref();
  return {
    order: (o) => worker.postMessage(o),
    close: async () => {
      worker.postMessage('close');
      await worker.terminate();
    },
  };
}
