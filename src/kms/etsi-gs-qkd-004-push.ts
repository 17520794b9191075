/**
 * Southbound key input following AIT's ETSI GS QKD 004 push-mode profile
 * (ait-crypto/etsi-gs-qkd-004-push-mode-API-specification, kms server yaml and readme §4.4): a QKD module
 * pushes each key chunk it produced to its KMS with `POST <authority>/api/v1/qkd/etsi004/key-material`,
 * body `{status, index, key_buffer (base64), metadata: {size, buffer: {key_stream_id}}}`, answered 201
 * `{status}`. The profile turns 004's GET_KEY answer into this separate message so that the device
 * decides when key is delivered (readme §2.1); the index rises per stream and wraps at UINT_MAX.
 *
 * Here the caller must hold a certificate of the `device` role (./roles.ts) naming a configured device,
 * whose link's far KME is configured (`devices[].peer`). Each chunk becomes link key shared with that KME
 * as block `etsi004-push:<key_stream_id>:<index>`, cut into chunks whose IDs both ends derive alike
 * (UUIDv8, ./supply.ts `chunkIds`), so the two modules of one link — pushing the same chunk with the
 * same KSID and index to the KMEs at its two ends — fill the two pools identically. A chunk pushed again
 * (same KSID and index) is stored once. The profile's KMS → QKD calls (open-connect, get-key, close),
 * by which a KMS asks its module for a stream, are not made: the device's stream is implied by its
 * configuration, and the JSON-lines file adapter (./supply-stream.ts) stays beside this route.
 */
import { QkdnetError } from '../common/index.ts';
import type { KmeCore } from './core.ts';
import { STATUS } from './etsi-gs-qkd-004.ts';
import type { KeyMaterialWire } from './etsi-gs-qkd-004-schema.ts';

/** Chunks accepted from devices since start (by device id). */
export interface PushCounts {
  readonly chunks: number;
  readonly bytes: number;
}

/** The `key-material` endpoint's logic for one KME. */
export class DevicePush {
  readonly #core: KmeCore;
  readonly #devices: ReadonlyMap<string, string>;
  readonly #counts = new Map<string, { chunks: number; bytes: number }>();

  constructor(core: KmeCore, devices: ReadonlyMap<string, string>) {
    this.#core = core;
    this.#devices = devices;
  }

  /** Chunks and bytes accepted from `device` so far. */
  counts(device: string): PushCounts {
    return this.#counts.get(device) ?? { chunks: 0, bytes: 0 };
  }

  /**
   * Accepts one `key-material` push from `device`. A push whose own status is not 0 carries no key for
   * the KMS (the module reports a failure) and is acknowledged without storing anything.
   */
  keyMaterial(device: string, w: KeyMaterialWire): { status: number } {
    const peer = this.#devices.get(device);
    if (peer === undefined)
      throw new QkdnetError('KMS_UNAUTHORIZED', `The client certificate names no QKD device of this KME`);
    const key = new Uint8Array(Buffer.from(w.key_buffer, 'base64'));
    if (key.length === 0 || Buffer.from(key).toString('base64') !== w.key_buffer) {
      key.fill(0);
      throw new QkdnetError('KMS_BAD_REQUEST', 'key_buffer is not canonical base64 of at least one byte');
    }
    if (w.status !== STATUS.SUCCESS) {
      key.fill(0);
      return { status: w.status };
    }
    const ksid = w.metadata?.buffer.key_stream_id.toLowerCase();
    if (ksid === undefined) {
      key.fill(0);
      throw new QkdnetError('KMS_BAD_REQUEST', 'metadata.buffer.key_stream_id names no key stream');
    }
    const self = this.#core.id;
    this.#core.supply(peer, {
      blockId: `etsi004-push:${ksid}:${w.index}`,
      key,
      provenance: 'qkd',
      path: self < peer ? [self, peer] : [peer, self],
    });
    key.fill(0); // supply() copied it
    const c = this.#counts.get(device) ?? { chunks: 0, bytes: 0 };
    c.chunks++;
    c.bytes += key.length;
    this.#counts.set(device, c);
    return { status: STATUS.SUCCESS };
  }
}
