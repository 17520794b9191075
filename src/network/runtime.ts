/**
 * Runtime records of a network simulation (one per link and per application), the attack model shared by
 * the controller and the snapshot, and small byte helpers. Internal to src/network (not re-exported
 * except the attack types).
 */
import type { Rng } from '../common/index.ts';
import type { LinkParams } from '../physics/index.ts';
import { ATTACK_DEFAULTS, type AttackKind } from '../qkd/index.ts';
import type { EventKeyStore, EventLinkKeys } from './event-level.ts';
import type { Scenario } from './scenario.ts';
import type { KeyPool, LinkKeySource } from './key-material.ts';
import type { Route } from './router.ts';
import type { LinkVariation } from './variation.ts';
import type { LinkState, ProvenanceBits } from './types.ts';

/**
 * An attack injected on a link, in the link engine's vocabulary (src/qkd `ATTACK_KINDS`, the one list of
 * attack names every layer uses). `param` is the engine's strength parameter (`ATTACK_DEFAULTS[kind]`:
 * the fraction of pulses for intercept-resend, the mean photon number for trojan-horse, …); default: the
 * engine's default strength.
 */
export interface LinkAttack {
  readonly kind: AttackKind;
  readonly param?: number;
}

/** The attack's strength parameter (its own, else the link engine's default). */
export function attackParam(a: LinkAttack): number {
  return a.param ?? ATTACK_DEFAULTS[a.kind].param;
}

/** QBER threshold above which BB84 post-processing aborts every block (Shor–Preskill: 11%). */
export const ABORT_QBER = 0.11;
/** Baseline QBER assumed for an attacked link when its parameters are not modelled (≈ e_d of GYS). */
export const BASELINE_QBER = 0.033;

/** Event-level generation state of a link (src/network/event-level.ts). */
export interface EventLinkRt {
  readonly pulses: number;
  /** Simulated seconds one block stands for: pulses / repetition rate. */
  readonly blockS: number;
  readonly params: LinkParams;
  readonly distanceKm: number;
  /** Key bytes secret (node:crypto) or seeded, and the link's authentication pool, carried across blocks. */
  readonly keys: EventLinkKeys;
  /** Real key bytes (materialised runs only). */
  readonly store: EventKeyStore | undefined;
  blocks: number;
  failed: number;
  readonly failures: Record<string, number>;
}

export interface LinkRt {
  readonly index: number;
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly rateBps: number;
  readonly passes: Scenario['links'][number]['passes'];
  readonly pool: KeyPool;
  readonly keys: LinkKeySource;
  readonly baseQber: number | null;
  state: LinkState;
  attack: LinkAttack | null;
  carryBits: number;
  lastRateBps: number;
  relayedBits: number;
  downSinceNs: number;
  downNs: number;
  lowAlerted: boolean;
  /** Set when the link is filled by event-level blocks. */
  readonly event: EventLinkRt | undefined;
  /** What the seed varies on the link (variation.ts); undefined: nothing. */
  readonly variation: LinkVariation | undefined;
  /** Seconds without key from the variation: re-alignments (fiber) or cloudy passes (satellite). */
  outageS: number;
}

export interface AppRt {
  readonly index: number;
  readonly app: Scenario['apps'][number];
  readonly src: number;
  readonly dst: number;
  readonly rng: Rng;
  /** Draws the Poisson demand (its own stream: relay randomness and accounting mode do not shift it). */
  readonly demandRng: Rng;
  carryBits: number;
  route: Route | undefined;
  demandBits: number;
  servedBits: number;
  unservedBits: number;
  readonly byProvenance: ProvenanceBits;
  keySeq: number;
  pqc: { secretA: Uint8Array; secretB: Uint8Array; atNs: number } | undefined;
  fallbackAlerted: boolean;
  lastFallbackNs: number;
  refusedAlerted: boolean;
  /** True once the app has had a first route decision (the first choice is not a change). */
  routed: boolean;
  /** Set when a restored link or node invites re-optimising the route on the next request (and why). */
  reoptimise: 'link-restored' | 'node-restored' | false;
  routeChanges: number;
  /** Bits of keys a compromised node could read, by cause (hybrid keys seen by a relay kept apart). */
  readonly exposedBits: ExposureBits;
}

/** Why an application's route changed. */
export type RouteChangeReason =
  'link-down' | 'link-restored' | 'node-distrusted' | 'node-restored' | 'key-exhausted' | 'key-replenished';

/** Every reason, in report order. */
export const ROUTE_CHANGE_REASONS: readonly RouteChangeReason[] = [
  'link-down',
  'link-restored',
  'node-distrusted',
  'node-restored',
  'key-exhausted',
  'key-replenished',
];

/**
 * Bits of served keys a compromised node could read: `relayNode` — every path crossed a compromised trusted
 * node (non-hybrid keys); `endpoint` — a compromised node at either end (any provenance); `hybridRelayNode`
 * — hybrid keys whose QKD part a compromised relay saw (their ML-KEM part still protects them).
 */
export interface ExposureBits {
  relayNode: number;
  endpoint: number;
  hybridRelayNode: number;
}

/** A fresh all-zero ExposureBits. */
export function zeroExposure(): ExposureBits {
  return { relayNode: 0, endpoint: 0, hybridRelayNode: 0 };
}

/** True if the attack makes post-processing abort every block (QBER above ABORT_QBER, or detected). */
export function attackAborts(a: LinkAttack): boolean {
  return a.kind !== 'intercept-resend' || BASELINE_QBER + attackParam(a) / 4 > ABORT_QBER;
}

/** QBER of a link now: its modelled or measured QBER plus an intercept-resend contribution. */
export function linkQber(l: LinkRt, nowS = 0): number | null {
  if (l.state !== 'up') return null;
  const drift = l.variation?.drift?.qberOffset(nowS);
  if (drift === null) return null; // re-aligning: no key, no QBER estimate
  const base0 = l.baseQber ?? (l.attack ? BASELINE_QBER : null);
  const base = base0 === null ? null : base0 + (drift ?? 0);
  if (base === null) return null;
  return l.attack?.kind === 'intercept-resend' ? base + attackParam(l.attack) / 4 : base;
}

/** Random bytes from a seeded stream (simulation only), drawn a 32-bit word at a time. */
export function bytesFrom(rng: Rng): (n: number) => Uint8Array {
  return (n) => {
    const words = new Uint32Array(Math.ceil(n / 4));
    rng.fillUint32(words);
    return new Uint8Array(words.buffer, 0, n);
  };
}

/** True if two routes use the same links in the same order. */
export function sameRoute(a: Route | undefined, b: Route | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.paths.length !== b.paths.length) return false;
  return a.paths.every(
    (p, i) =>
      p.links.length === b.paths[i]!.links.length && p.links.every((l, j) => l === b.paths[i]!.links[j]),
  );
}

/** Constant-size comparison of two byte arrays (simulation checks only). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
