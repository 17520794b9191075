/**
 * The QKD link ends of one site of `qkdnet up --sites …`: `<site>/links.json` lists, for every link with
 * a link engine that ends at this node, the role this site plays in its post-processing (Alice — the
 * link's `from` end — listens; Bob — its `to` end — connects), where, the simulated physics both ends
 * run (link parameters, block size, seed) and the file of the link's pre-shared secret
 * (`pp-<link>.psk`, 64 hex digits, 0600, the same at both sites). The pre-shared secret plays the part
 * of the initial authentication key a QKD link is installed with: it is written once, when the two
 * sites' directories are made, and kept across runs; it is never final key.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LinkParams } from '../physics/index.ts';
import type { KeyMode } from '../postprocess/index.ts';

/** Name of the link-ends file inside a site directory. */
export const SITE_LINKS = 'links.json';

/** One end of one link at a site. */
export interface SiteLinkEnd {
  readonly linkId: string;
  readonly role: 'alice' | 'bob';
  /** The peer site's KME id (the pool this end's key goes to). */
  readonly peerKme: string;
  /**
   * Alice: the address she listens on for her peer. Bob: where he connects — Alice's port directly, or
   * (`--sites netns`) the link's delaying proxy in his own namespace.
   */
  readonly host: string;
  readonly port: number;
  readonly params: LinkParams;
  readonly distanceKm: number;
  /** Pulses per block. */
  readonly pulses: number;
  /** Seed of the simulated physics (both ends simulate the same block and keep their own half). */
  readonly seed: string;
  readonly keys: KeyMode;
  /** Names this run's blocks (`<runId>:<block>`), so block ids never repeat in a store across runs. */
  readonly runId: string;
  /** The pre-shared secret's file name, relative to the site directory. */
  readonly preshared: string;
}

/** Writes `links.json` of a site (rewritten at every start: ports and run id change). */
export function writeSiteLinks(dir: string, ends: readonly SiteLinkEnd[]): void {
  writeFileSync(join(dir, SITE_LINKS), `${JSON.stringify(ends, null, 2)}\n`, { mode: 0o600 });
}

/** Reads `links.json` of a site (none: the site post-processes no link). */
export function readSiteLinks(dir: string): SiteLinkEnd[] {
  const path = join(dir, SITE_LINKS);
  if (!existsSync(path)) return [];
  return JSON.parse(readFileSync(path, 'utf8')) as SiteLinkEnd[];
}

/** File name of a link's pre-shared secret in a site directory. */
export function presharedName(linkId: string): string {
  return `pp-${linkId.replace(/[^A-Za-z0-9_.-]/g, '_')}.psk`;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Reads a site's copy of a link's pre-shared secret (32 bytes; the caller zeroes it). */
export function readPresharedFile(dir: string, name: string): Uint8Array {
  const text = readFileSync(join(dir, name), 'utf8').trim();
  if (!HEX64.test(text)) throw new Error(`${name} does not hold 64 hex digits`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/**
 * Makes sure both sites of a link hold the same pre-shared secret: kept when both copies exist and
 * agree (a restart), otherwise a fresh one from node:crypto is written to both (0600).
 */
export function ensureLinkPreshared(dirA: string, dirB: string, linkId: string): string {
  const name = presharedName(linkId);
  const read = (d: string) => {
    try {
      const t = readFileSync(join(d, name), 'utf8').trim();
      return HEX64.test(t) ? t : undefined;
    } catch {
      return undefined;
    }
  };
  const a = read(dirA);
  if (a === undefined || a !== read(dirB)) {
    const fresh = `${randomBytes(32).toString('hex')}\n`;
    for (const d of [dirA, dirB]) writeFileSync(join(d, name), fresh, { mode: 0o600 });
  }
  return name;
}
