/**
 * Southbound file/stream adapter for real QKD devices: JSON Lines (https://jsonlines.org), one key block
 * per line, as written by a device driver at each end of a link (both ends write the same blocks with the
 * same `block_id`). Format (docs/kme.md):
 *
 *   {"block_id":"b-000001","key_hex":"9f3a…"}                  or "key_b64":"nzo…"
 *   optional: "provenance" ('qkd' default), "path", "exposed_to", "key_ID" (one key with this ID), "owner"
 *
 * A bad line is reported (line number and reason, never its content) and skipped. `follow` keeps reading
 * as the file grows (like `tail -f`), polling every 200 ms. Reading resumes where the store says the last
 * run stopped (a mark stored with each item), so a restart does not read a large file again.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROVENANCE_ORDER, type Provenance } from '../common/index.ts';
import type { SupplyMark } from './store.ts';
import type { KeySupply } from './supply.ts';

/** Receives one parsed item and the mark after its line (usually `core.supply(peer, item, mark)`). */
export type SupplySink = (item: KeySupply, mark: SupplyMark) => unknown;

/** Parses one JSON line into a KeySupply; throws TypeError naming the problem (no key material). */
export function parseSupplyLine(line: string, self: string, peer: string): KeySupply {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new TypeError('not valid JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new TypeError('not a JSON object');
  let key: Buffer;
  if (typeof o.key_hex === 'string' && /^([0-9a-fA-F]{2})+$/.test(o.key_hex))
    key = Buffer.from(o.key_hex, 'hex');
  else if (
    typeof o.key_b64 === 'string' &&
    /^[A-Za-z0-9+/]+={0,2}$/.test(o.key_b64) &&
    o.key_b64.length % 4 === 0
  )
    key = Buffer.from(o.key_b64, 'base64');
  else throw new TypeError('needs key_hex (even-length hex) or key_b64 (base64)');
  const provenance = (o.provenance ?? 'qkd') as Provenance;
  if (!PROVENANCE_ORDER.includes(provenance)) throw new TypeError(`unknown provenance`);
  const strs = (v: unknown, name: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      throw new TypeError(`${name} must be a string array`);
    return v as string[];
  };
  const path = strs(o.path, 'path') ?? (self < peer ? [self, peer] : [peer, self]);
  const exposedTo = strs(o.exposed_to, 'exposed_to');
  const base = { key, provenance, path, ...(exposedTo ? { exposedTo } : {}) };
  const owner = typeof o.owner === 'string' ? { owner: o.owner } : {};
  if (typeof o.key_ID === 'string') {
    if (!/^[0-9a-fA-F-]{36}$/.test(o.key_ID)) throw new TypeError('key_ID is not a UUID');
    return { ...base, ...owner, keyId: o.key_ID };
  }
  if (typeof o.block_id !== 'string' || o.block_id.length === 0 || o.block_id.length > 200)
    throw new TypeError('needs block_id (1–200 characters) or key_ID');
  return { ...base, ...owner, blockId: o.block_id };
}

/** Options of `supplyFromFile`. */
export interface SupplyFileOptions {
  readonly self: string;
  readonly peer: string;
  /** Keep reading as the file grows. */
  readonly follow?: boolean;
  readonly onError?: (e: Error) => void;
  /** Where an earlier run stopped (from the store): reading resumes there if it is the same file. */
  readonly resume?: SupplyMark | undefined;
  /** True while the store is behind (its supply queue is long): reading pauses. */
  readonly busy?: () => boolean;
}

/** The stop function of a file being read, with a promise that resolves once it has read to the end. */
export type SupplyFileReader = (() => void) & { readonly caughtUp: Promise<void> };

/** Bytes read per step; the event loop gets a turn between steps. */
const READ_BYTES = 1 << 20;
const POLL_MS = 200;
const BUSY_WAIT_MS = 10;

/**
 * Feeds a JSON Lines file to `sink` in steps of at most 1 MiB, yielding to the event loop between steps
 * (and while `busy()`), from `resume` when that names the same file (same inode, not longer than the file)
 * or else from the start; with `follow`, keeps reading what is appended (polling every 200 ms). Each item
 * comes with the mark after its line, for the store to record with it. A file replaced (new inode) or
 * truncated is read again from its start (the store ignores blocks it has seen).
 */
export function supplyFromFile(sink: SupplySink, path: string, opts: SupplyFileOptions): SupplyFileReader {
  const source = resolve(path);
  const report = opts.onError ?? (() => {});
  let stopped = false;
  let ino = -1;
  let offset = 0;
  let lineNo = 0;
  let pending = Buffer.alloc(0);
  const feed = (text: string, end: number) => {
    lineNo++;
    if (text.trim() === '') return;
    try {
      sink(parseSupplyLine(text, opts.self, opts.peer), { source, ino, offset: end, line: lineNo });
    } catch (e) {
      report(new Error(`${path}:${lineNo}: ${(e as Error).message}`));
    }
  };
  const step = (): 'read' | 'end' | 'gone' => {
    let st;
    try {
      st = statSync(source);
    } catch (e) {
      report(new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code}`));
      return 'gone';
    }
    if (st.ino !== ino || st.size < offset) {
      const r = opts.resume;
      const same = ino === -1 && r !== undefined && r.ino === st.ino && r.offset <= st.size;
      ino = st.ino;
      offset = same ? r.offset : 0;
      lineNo = same ? r.line : 0;
      pending = Buffer.alloc(0);
    }
    if (st.size <= offset) return 'end';
    const buf = Buffer.alloc(Math.min(st.size - offset, Math.max(READ_BYTES, pending.length)));
    const fd = openSync(source, 'r');
    try {
      readSync(fd, buf, 0, buf.length, offset);
    } finally {
      closeSync(fd);
    }
    const data = pending.length ? Buffer.concat([pending, buf]) : buf;
    const base = offset - pending.length;
    offset += buf.length;
    let at = 0;
    for (let nl = data.indexOf(10, at); nl >= 0; nl = data.indexOf(10, at)) {
      feed(data.toString('utf8', at, nl), base + nl + 1);
      at = nl + 1;
    }
    pending = Buffer.from(data.subarray(at));
    data.fill(0);
    return 'read';
  };
  let caught!: () => void;
  const caughtUp = new Promise<void>((r) => (caught = r));
  void (async () => {
    while (!stopped) {
      if (opts.busy?.()) {
        await sleep(BUSY_WAIT_MS, undefined, { ref: false });
        continue;
      }
      const r = step();
      if (r === 'read') {
        await new Promise((res) => setImmediate(res));
        continue;
      }
      caught();
      if (!opts.follow) {
        if (r === 'end' && pending.length > 0 && pending.toString('utf8').trim() !== '')
          feed(pending.toString('utf8'), offset);
        pending.fill(0);
        return;
      }
      await sleep(POLL_MS, undefined, { ref: false });
    }
  })();
  const stop = () => {
    stopped = true;
  };
  return Object.assign(stop, { caughtUp });
}
