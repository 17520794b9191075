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
import { sealedBytes, sealedFromWire } from './auth.ts';
import { MessageDecodeError } from './message-decoding.ts';
import type { MuxItem } from './unit-mux.ts';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Longest abort reason carried, bytes (reasons are short catalogue words). */
const MAX_REASON_BYTES = 1024;

/** The wire bytes of one item. */
export function encodeItem(item: MuxItem): Uint8Array {
  if ('abort' in item) {
    const reason = utf8.encode(item.abort.slice(0, MAX_REASON_BYTES / 4));
    const out = new Uint8Array(5 + reason.length);
    out[0] = 2;
    new DataView(out.buffer).setUint32(1, item.unit, true);
    out.set(reason, 5);
    return out;
  }
  const tag = item.sealed.tag;
  const body = sealedBytes(item.sealed);
  const head = 6 + 4 * tag.length;
  const out = new Uint8Array(head + body.length);
  const v = new DataView(out.buffer);
  out[0] = 1;
  v.setUint32(1, item.unit, true);
  out[5] = tag.length;
  for (let i = 0; i < tag.length; i++) v.setUint32(6 + 4 * i, tag[i]!, true);
  out.set(body, head);
  return out;
}

/** The item whose wire bytes are `payload` (throws MessageDecodeError on anything else). */
export function decodeItem(payload: Uint8Array): MuxItem {
  if (payload.length < 5) throw new MessageDecodeError(`an item of ${payload.length} bytes`);
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const unit = v.getUint32(1, true);
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
  const tag = new Uint32Array(words);
  for (let i = 0; i < words; i++) tag[i] = v.getUint32(6 + 4 * i, true);
  return { unit, sealed: sealedFromWire(payload.subarray(head), tag) };
}
