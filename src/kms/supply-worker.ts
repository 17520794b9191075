/**
 * The southbound supply worker thread (started by ./supply-thread.ts, which describes the flow): its own
 * connection to the KME's store (`role: 'supply'`), a supply queue (./supply-pump.ts) with transactions
 * of SUPPLY_SLICE_MS, and a reader per device file (./supply-stream.ts) that pauses while the queue is
 * long. After each item is stored and synced, the worker's part of the pool level goes to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KeyStore } from './store.ts';
import { Keyring } from './store-crypto.ts';
import { chunkCutter } from './supply.ts';
import { SupplyPump } from './supply-pump.ts';
import { supplyFromFile } from './supply-stream.ts';
import {
  SUPPLY_SLICE_MS,
  type FromSupplyWorker,
  type SupplyWorkerData,
  type ToSupplyWorker,
} from './supply-thread.ts';

/** Chunks queued before the readers pause (about 2 s of a 10 Mbit/s link). */
const QUEUE_CHUNKS = 65_536;
/** WAL checkpoint (TRUNCATE: erased keys' old frames cleared) period while supply runs. */
const CHECKPOINT_MS = 30_000;

const data = workerData as SupplyWorkerData;
const port = parentPort!;
const post = (m: FromSupplyWorker) => port.postMessage(m);

const ringOf = (keys: Map<number, Uint8Array> | null) => {
  if (!keys) return null;
  const ring = new Keyring(keys);
  for (const k of keys.values()) k.fill(0);
  return ring;
};
const keyring = ringOf(data.keys);
const store = KeyStore.open({
  path: data.store,
  role: 'supply',
  keyring,
  maxChunksPerPeer: data.maxChunksPerPeer,
  durability: data.durability,
});
keyring?.destroy();
const pump = new SupplyPump(
  store,
  { error: (obj, msg) => post({ t: 'error', message: `${msg}: ${JSON.stringify(obj)}` }) },
  SUPPLY_SLICE_MS,
);
port.on('message', (m: ToSupplyWorker) => {
  if (m.t !== 'keys') return;
  const ring = ringOf(m.keys)!;
  store.sealing.follow(ring);
  ring.destroy();
});
setInterval(() => {
  try {
    store.checkpoint();
  } catch (e) {
    post({ t: 'error', message: `WAL checkpoint: ${(e as Error).message}` });
  }
}, CHECKPOINT_MS);

for (const f of data.files)
  supplyFromFile(
    (item, mark) => {
      const key = Uint8Array.from(item.key);
      item.key.fill(0);
      const cutter = chunkCutter(f.self, f.peer, { ...item, key });
      void pump
        .supply(f.peer, cutter.blockId, cutter, key, mark)
        .stored.then(() =>
          post({ t: 'stored', peer: f.peer, note: { ...store.supplyNote(f.peer), backlog: pump.backlog } }),
        );
    },
    f.path,
    {
      self: f.self,
      peer: f.peer,
      follow: f.follow,
      resume: f.resume,
      busy: () => pump.backlog > QUEUE_CHUNKS,
      onError: (e) => post({ t: 'error', message: `${f.path}: ${e.message}` }),
    },
  );
