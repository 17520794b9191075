/**
 * The wire form of the items a unit multiplexer exchanges (unit-mux.ts), compact and exact: an envelope
 * is kind 1, the unit id, the tag's word count and words, then the sealed message's canonical bytes
 * (message-encoding.ts `encodeSealed`: sequence number, sender, body) — the very bytes authentication
 * hashed at the sender, which the receiver hashes as they arrived (auth.ts `sealedFromWire`). An abort is
 * kind 2, the unit id and the reason as UTF-8. Integers are little-endian 32-bit words.
 *
 * Input from a peer is untrusted: `decodeItem` checks every length and throws MessageDecodeError on
 * anything that is not an item.
 */
import { sealedFromWire, writeSealedBytes } from './auth.ts';
import { ByteWriter } from './byte-writer.ts';
import { MessageDecodeError } from './message-decoding.ts';
import type { MuxItem } from './unit-mux.ts';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Longest abort reason carried, bytes (reasons are short catalogue words). */
const MAX_REASON_BYTES = 1024;

/** The tag of a transcript-mode envelope (no words), shared. */
const NO_TAG = new Uint32Array(0);

/**
 * Appends the wire bytes of one item to `w` (a transport's send buffer): no intermediate buffer, and the
 * sealed message's canonical bytes copied from where sealing left them.
 */
export function writeItem(w: ByteWriter, item: MuxItem): void {
  if ('abort' in item) {
    w.byte(2);
    w.u32(item.unit);
    w.raw(utf8.encode(item.abort.slice(0, MAX_REASON_BYTES / 4)));
    return;
  }
  const tag = item.sealed.tag;
  w.byte(1);
  w.u32(item.unit);
  w.byte(tag.length);
  for (let i = 0; i < tag.length; i++) w.u32(tag[i]!);
  writeSealedBytes(w, item.sealed);
}

const one = new ByteWriter();

/** The wire bytes of one item (a copy). */
export function encodeItem(item: MuxItem): Uint8Array {
  one.reset();
  try {
    writeItem(one, item);
    return one.result();
  } finally {
    one.reset();
  }
}

const u32le = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/**
 * The item whose wire bytes are `payload` (throws MessageDecodeError on anything else). An envelope's
 * sealed message keeps a view of `payload`, whose bytes authentication hashes: they must not change.
 */
export function decodeItem(payload: Uint8Array): MuxItem {
  if (payload.length < 5) throw new MessageDecodeError(`an item of ${payload.length} bytes`);
  const unit = u32le(payload, 1);
  if (payload[0] === 2) {
    if (payload.length - 5 > MAX_REASON_BYTES) throw new MessageDecodeError('an abort reason too long');
    try {
      return { unit, abort: fromUtf8.decode(payload.subarray(5)) };
    } catch {
      throw new MessageDecodeError('an abort reason that is not UTF-8');
    }
  }
  if (payload[0] !== 1) throw new MessageDecodeError(`unknown item kind ${payload[0]}`);
  if (payload.length < 6) throw new MessageDecodeError('an envelope without its tag length');
  const words = payload[5]!;
  if (words !== 0 && words !== 4) throw new MessageDecodeError(`a tag of ${words} words`);
  const head = 6 + 4 * words;
  if (payload.length < head) throw new MessageDecodeError('an envelope cut inside its tag');
  let tag = NO_TAG;
  if (words > 0) {
    tag = new Uint32Array(words);
    for (let i = 0; i < words; i++) tag[i] = u32le(payload, 6 + 4 * i);
  }
  return { unit, sealed: sealedFromWire(payload.subarray(head), tag) };
}
