/**
 * The VICI wire format of strongSwan (the "Versatile IKE Control Interface", strongSwan 5.9
 * `src/libcharon/plugins/vici/README.md`, sections "Transport protocol", "Packet layer" and "Message
 * format"). A packet is a 4-byte big-endian length followed by the payload; the payload's first byte is
 * the packet type, and named types (request, event register/unregister, event) carry a 1-byte name length
 * and the name. Messages are a flat stream of elements: section start/end, key/value (u16 length), list
 * start, list item (u16 length), list end. Values are raw bytes: binary keys travel unencoded.
 * No npm package implements this, so this file is the codec; src/ipsec/vici-client.ts does the I/O.
 */

/** Packet types (README "Packet layer"). */
export const VICI_PACKET = {
  CMD_REQUEST: 0,
  CMD_RESPONSE: 1,
  CMD_UNKNOWN: 2,
  EVENT_REGISTER: 3,
  EVENT_UNREGISTER: 4,
  EVENT_CONFIRM: 5,
  EVENT_UNKNOWN: 6,
  EVENT: 7,
} as const;
/** One of the eight VICI packet type numbers. */
export type ViciPacketType = (typeof VICI_PACKET)[keyof typeof VICI_PACKET];

/** Message element types (README "Message format"). */
export const VICI_ELEMENT = {
  SECTION_START: 1,
  SECTION_END: 2,
  KEY_VALUE: 3,
  LIST_START: 4,
  LIST_ITEM: 5,
  LIST_END: 6,
} as const;

/** A value as encoded: text (UTF-8) or raw bytes (e.g. a PPK). */
export type ViciEncodable = string | number | boolean | Uint8Array;
/** A message to encode: nested sections, lists of values and values. */
export interface ViciMessageIn {
  readonly [key: string]: ViciEncodable | readonly ViciEncodable[] | ViciMessageIn | undefined;
}
/** A decoded message: values as Buffers (text or binary: the wire does not say), lists, sections. */
export interface ViciMessage {
  [key: string]: Buffer | Buffer[] | ViciMessage;
}
/** A decoded packet. `name` is present for request, event register/unregister and event packets. */
export interface ViciPacket {
  readonly type: ViciPacketType;
  readonly name?: string;
  readonly message?: ViciMessage;
}

/** Packets larger than this are refused (libvici's VICI_MESSAGE_SIZE_MAX is 512 KiB). */
export const VICI_MAX_PACKET_BYTES = 512 * 1024;

const NAMED: ReadonlySet<number> = new Set([0, 3, 4, 7]);

function valueBytes(v: ViciEncodable): Buffer {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'boolean') return Buffer.from(v ? 'yes' : 'no');
  return Buffer.from(String(v), 'utf8');
}

function nameBytes(name: string): Buffer {
  const b = Buffer.from(name, 'utf8');
  if (b.length === 0 || b.length > 255) throw new RangeError(`VICI name "${name}" must be 1..255 bytes`);
  return b;
}

function lenValue(v: ViciEncodable): Buffer[] {
  const b = valueBytes(v);
  if (b.length > 0xffff) throw new RangeError(`VICI value of ${b.length} bytes exceeds 65535`);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return [len, b];
}

function isSection(v: unknown): v is ViciMessageIn {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Encodes a message body (the elements, without packet header); `undefined` entries are skipped. */
export function encodeMessage(msg: ViciMessageIn): Buffer {
  const parts: Buffer[] = [];
  const walk = (m: ViciMessageIn): void => {
    for (const [key, v] of Object.entries(m)) {
      if (v === undefined) continue;
      const name = nameBytes(key);
      const head = (t: number) => parts.push(Buffer.from([t, name.length]), name);
      if (Array.isArray(v)) {
        head(VICI_ELEMENT.LIST_START);
        for (const item of v as readonly ViciEncodable[])
          parts.push(Buffer.from([VICI_ELEMENT.LIST_ITEM]), ...lenValue(item));
        parts.push(Buffer.from([VICI_ELEMENT.LIST_END]));
      } else if (isSection(v)) {
        head(VICI_ELEMENT.SECTION_START);
        walk(v);
        parts.push(Buffer.from([VICI_ELEMENT.SECTION_END]));
      } else {
        head(VICI_ELEMENT.KEY_VALUE);
        parts.push(...lenValue(v as ViciEncodable));
      }
    }
  };
  walk(msg);
  return Buffer.concat(parts);
}

/** Decodes a message body; throws RangeError on a malformed or truncated element stream. */
export function decodeMessage(body: Uint8Array): ViciMessage {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const root: ViciMessage = {};
  const stack: ViciMessage[] = [root];
  let list: Buffer[] | undefined;
  let i = 0;
  const need = (n: number) => {
    if (i + n > buf.length) throw new RangeError(`VICI message truncated at byte ${i}`);
  };
  const readName = () => {
    need(1);
    const n = buf[i++]!;
    need(n);
    const s = buf.toString('utf8', i, i + n);
    i += n;
    return s;
  };
  const readValue = () => {
    need(2);
    const n = buf.readUInt16BE(i);
    i += 2;
    need(n);
    const v = Buffer.from(buf.subarray(i, i + n));
    i += n;
    return v;
  };
  while (i < buf.length) {
    const t = buf[i++]!;
    const top = stack[stack.length - 1]!;
    if (list && t !== VICI_ELEMENT.LIST_ITEM && t !== VICI_ELEMENT.LIST_END)
      throw new RangeError(`VICI element ${t} inside a list at byte ${i - 1}`);
    switch (t) {
      case VICI_ELEMENT.SECTION_START: {
        const s: ViciMessage = {};
        put(top, readName(), s);
        stack.push(s);
        break;
      }
      case VICI_ELEMENT.SECTION_END:
        if (stack.length === 1) throw new RangeError(`VICI section end without start at byte ${i - 1}`);
        stack.pop();
        break;
      case VICI_ELEMENT.KEY_VALUE: {
        const k = readName();
        put(top, k, readValue());
        break;
      }
      case VICI_ELEMENT.LIST_START:
        list = [];
        put(top, readName(), list);
        break;
      case VICI_ELEMENT.LIST_ITEM:
        if (!list) throw new RangeError(`VICI list item outside a list at byte ${i - 1}`);
        list.push(readValue());
        break;
      case VICI_ELEMENT.LIST_END:
        if (!list) throw new RangeError(`VICI list end outside a list at byte ${i - 1}`);
        list = undefined;
        break;
      default:
        throw new RangeError(`VICI element type ${t} unknown at byte ${i - 1}`);
    }
  }
  if (stack.length !== 1 || list) throw new RangeError('VICI message ends inside a section or list');
  return root;
}

/** Sets an own property even for names like `__proto__` (wire names must not reach prototypes). */
function put(target: ViciMessage, key: string, v: ViciMessage[string]): void {
  Object.defineProperty(target, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Encodes a whole packet including the 4-byte length prefix. */
export function encodePacket(type: ViciPacketType, name?: string, msg?: ViciMessageIn): Buffer {
  const parts: Buffer[] = [Buffer.from([type])];
  if (NAMED.has(type)) {
    if (name === undefined) throw new RangeError(`VICI packet type ${type} needs a name`);
    const n = nameBytes(name);
    parts.push(Buffer.from([n.length]), n);
  }
  if (msg) parts.push(encodeMessage(msg));
  const payload = Buffer.concat(parts);
  if (payload.length > VICI_MAX_PACKET_BYTES)
    throw new RangeError(`VICI packet of ${payload.length} bytes exceeds ${VICI_MAX_PACKET_BYTES}`);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length);
  return Buffer.concat([head, payload]);
}

/** Decodes one payload (without the length prefix). */
export function decodePacket(payload: Uint8Array): ViciPacket {
  if (payload.length < 1) throw new RangeError('VICI packet is empty');
  const type = payload[0]!;
  if (type > 7) throw new RangeError(`VICI packet type ${type} unknown`);
  let i = 1;
  let name: string | undefined;
  if (NAMED.has(type)) {
    const n = payload[1];
    if (n === undefined || 2 + n > payload.length) throw new RangeError('VICI packet name truncated');
    name = Buffer.from(payload.buffer, payload.byteOffset + 2, n).toString('utf8');
    i = 2 + n;
  }
  const body = payload.subarray(i);
  const hasBody = type === 0 || type === 1 || type === 7;
  return {
    type: type as ViciPacketType,
    ...(name !== undefined ? { name } : {}),
    ...(hasBody ? { message: decodeMessage(body) } : {}),
  };
}

/** Splits a byte stream into payloads; feed it socket chunks, it returns each complete payload. */
export class ViciFramer {
  #pending: Buffer = Buffer.alloc(0);

  /** Appends a chunk and returns the payloads completed by it, in order. */
  push(chunk: Uint8Array): Buffer[] {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : Buffer.from(chunk);
    const out: Buffer[] = [];
    while (this.#pending.length >= 4) {
      const n = this.#pending.readUInt32BE(0);
      if (n > VICI_MAX_PACKET_BYTES) throw new RangeError(`VICI packet length ${n} exceeds the maximum`);
      if (this.#pending.length < 4 + n) break;
      out.push(this.#pending.subarray(4, 4 + n));
      this.#pending = this.#pending.subarray(4 + n);
    }
    return out;
  }
}

/** Reads a text value of a decoded message (`undefined` when absent or not a value). */
export function viciText(msg: ViciMessage | undefined, key: string): string | undefined {
  const v = msg?.[key];
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

/** Converts a decoded message to plain JSON-able text (binary values as UTF-8; for logs and tests). */
export function viciToText(msg: ViciMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(msg)) {
    if (Buffer.isBuffer(v)) out[k] = v.toString('utf8');
    else if (Array.isArray(v)) out[k] = v.map((b) => b.toString('utf8'));
    else out[k] = viciToText(v);
  }
  return out;
}
