/**
 * Southbound file/stream adapter for real QKD devices: JSON Lines (https://jsonlines.org), one key block
 * per line, as written by a device driver at each end of a link (both ends write the same blocks with the
 * same `block_id`). Format (docs/kme.md):
 *
 *   {"block_id":"b-000001","key_hex":"9f3a…"}                  or "key_b64":"nzo…"
 *   optional: "provenance" ('qkd' default), "path", "exposed_to", "key_ID" (one key with this ID), "owner"
 *
 * A bad line is reported (line number and reason, never its content) and skipped. `follow` keeps reading
 * as the file grows (like `tail -f`), polling every 200 ms.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { PROVENANCE_ORDER, type Provenance } from '../common/index.ts';
import type { KeySupply } from './supply.ts';

/** Receives one parsed item (usually `kme.supply(peer, item)` bound to the peer). */
export type SupplySink = (item: KeySupply) => unknown;

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
}

/**
 * Feeds a JSON Lines file to `sink`: everything present now (synchronously), then — with `follow` —
 * whatever is appended. Returns a function that stops following.
 */
export function supplyFromFile(sink: SupplySink, path: string, opts: SupplyFileOptions): () => void {
  let offset = 0;
  let lineNo = 0;
  let partial = '';
  const report = opts.onError ?? (() => {});
  const pump = () => {
    let size: number;
    try {
      size = statSync(path).size;
    } catch (e) {
      report(new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code}`));
      return;
    }
    if (size <= offset) return;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      const lines = (partial + buf.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      buf.fill(0);
      for (const line of lines) {
        lineNo++;
        if (line.trim() === '') continue;
        try {
          sink(parseSupplyLine(line, opts.self, opts.peer));
        } catch (e) {
          report(new Error(`${path}:${lineNo}: ${(e as Error).message}`));
        }
      }
    } finally {
      closeSync(fd);
    }
  };
  pump();
  if (!opts.follow) {
    if (partial.trim() !== '') {
      lineNo++;
      try {
        sink(parseSupplyLine(partial, opts.self, opts.peer));
      } catch (e) {
        report(new Error(`${path}:${lineNo}: ${(e as Error).message}`));
      }
    }
    return () => {};
  }
  const timer = setInterval(pump, 200);
  timer.unref();
  return () => clearInterval(timer);
}
