/**
 * The southbound supply worker thread (started by ./supply-thread.ts, which describes the flow): reads
 * each device file as ./supply-stream.ts does (from the stored mark, following appends), cuts every item
 * into chunks (./supply.ts) and seals each chunk's material under the store key with the associated data
 * the store binds to its row (./store-seal.ts), then posts the sealed rows in slices. Plaintext chunk
 * copies are zeroed as soon as sealed; the key copy lives only in this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Keyring, SEAL_OVERHEAD } from './store-crypto.ts';
import { sealedRowAd } from './store-seal.ts';
import { chunkCutter } from './supply.ts';
import { supplyFromFile } from './supply-stream.ts';
import type { FromSupplyWorker, SupplyWorkerData, ToSupplyWorker } from './supply-thread.ts';
import type { KeySupply } from './supply.ts';
import type { SupplyMark } from './store.ts';

/** Chunks per slice: one short insert transaction on the main thread. */
const SLICE_CHUNKS = 256;

const data = workerData as SupplyWorkerData;
const port = parentPort!;
const ring = data.keys ? new Keyring(data.keys) : null;
for (const k of data.keys?.values() ?? []) k.fill(0);
const version = ring ? ring.current : 0;
let ahead = 0;
port.on('message', (m: ToSupplyWorker) => {
  if (m.t === 'ack') ahead -= m.chunks;
});
const post = (m: FromSupplyWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

function send(file: number, self: string, peer: string, item: KeySupply, mark: SupplyMark): void {
  try {
    const cutter = chunkCutter(self, peer, item);
    for (let from = 0; from < cutter.total; from += SLICE_CHUNKS) {
      const upto = Math.min(cutter.total, from + SLICE_CHUNKS);
      const chunks = cutter.slice(from, upto);
      const sealed = chunks.map((c) => {
        const mine = c.mine ? 1 : 0;
        if (!ring) return Buffer.from(c.material);
        return ring.seal(c.material, sealedRowAd('chunks', { id: c.id, peer, mine }));
      });
      for (const c of chunks) if (c.material.buffer !== item.key.buffer) c.material.fill(0);
      const blob = Buffer.concat(sealed);
      for (const s of sealed) s.fill(0);
      const first = chunks[0]!;
      post(
        {
          t: 'slice',
          file,
          peer,
          blockId: cutter.blockId,
          total: cutter.total,
          from,
          upto,
          ids: chunks.map((c) => c.id),
          mine: Uint8Array.from(chunks, (c) => (c.mine ? 1 : 0)),
          bytes: Uint8Array.from(chunks, (c) => c.material.length),
          blob: new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength),
          version,
          overhead: ring ? SEAL_OVERHEAD : 0,
          provenance: first.provenance,
          path: first.path,
          exposedTo: first.exposedTo,
          ...(upto === cutter.total ? { mark } : {}),
        },
        blob.byteOffset === 0 && blob.byteLength === blob.buffer.byteLength ? [blob.buffer] : undefined,
      );
      ahead += chunks.length;
    }
  } finally {
    item.key.fill(0);
  }
}

data.files.forEach((f, i) =>
  supplyFromFile((item, mark) => send(i, f.self, f.peer, item, mark), f.path, {
    self: f.self,
    peer: f.peer,
    follow: f.follow,
    resume: f.resume,
    busy: () => ahead > data.maxAhead,
    onError: (e) => post({ t: 'error', file: i, message: e.message }),
  }),
);
