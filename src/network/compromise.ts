/**
 * Compromised trusted nodes: when a node is compromised, how the network comes to know it, what the
 * controller then does, and what the compromise cost (internal to src/network; the `compromised_nodes`
 * entries of the summary come from here).
 *
 * The model (a model of the procedure, not a claim about any device):
 *  - compromise: from `at_s` the node reads every key share it relays and every key its KME holds;
 *  - knowing it: either an operator declares it (`declareCompromised`), or a node-integrity detector fed by
 *    attestation heartbeats finds it: every trusted node sends a signed measurement of its software state
 *    every `attestationIntervalS` seconds (at k·interval), and a compromised node fails its next heartbeat
 *    (the attacker has changed what is measured and cannot forge the attestation key — the model's
 *    assumption; an attacker who can is only found by declaration). Interval 0 = no attestation;
 *  - once known: a critical alert names the node; the controller no longer relays through it (single-path
 *    routes avoid it; a multipath route is kept when at least one of its paths avoids it, because the
 *    XOR-split key stays secret while one share does); apps whose own end is the node are exposed whatever
 *    the route, and the alert says so;
 *  - restore (`restoreNode`, re-imaged and re-keyed): relaying resumes; keys it saw stay exposed.
 * Exposure is counted per compromise: the key bits served while the node was compromised over a route
 * whose every path passed through it (or to an app at the node itself), and the apps they went to.
 */

/** How a compromise became known. */
export type CompromiseDetector = 'attestation' | 'operator';

/** One compromise of one node, from its start to its restore. */
export interface CompromiseEpisode {
  readonly node: number;
  readonly id: string;
  readonly atS: number;
  knownAtS: number | null;
  knownBy: CompromiseDetector | null;
  restoredAtS: number | null;
  exposedBits: number;
  readonly applications: Set<string>;
}

/** The `compromised_nodes` entry of `qkdnet simulate --format json` (snake_case: the CLI's contract). */
export interface CompromisedNodeSummary {
  readonly id: string;
  /** Simulated time the node was compromised, s. */
  readonly at_s: number;
  /** Key bits served while it was compromised that it could read. */
  readonly keys_exposed_bits: number;
  /** Applications whose keys it could read. */
  readonly applications: readonly string[];
  /** When and how the compromise became known (null: never, within the run). */
  readonly known_at_s: number | null;
  readonly known_by: CompromiseDetector | null;
  readonly restored_at_s: number | null;
}

/** The compromise state of every node of one simulation. */
export class CompromiseTracker {
  /** Seconds between attestation heartbeats (0: no attestation). */
  readonly attestationIntervalS: number;
  readonly #episodes: CompromiseEpisode[] = [];
  /** The open episode per node. */
  readonly #open = new Map<number, CompromiseEpisode>();

  constructor(attestationIntervalS: number) {
    if (!(attestationIntervalS >= 0 && Number.isFinite(attestationIntervalS)))
      throw new RangeError(`attestationIntervalS must be ≥ 0, got ${attestationIntervalS}`);
    this.attestationIntervalS = attestationIntervalS;
  }

  /** Starts an episode; false if the node is already compromised. */
  compromise(node: number, id: string, atS: number): boolean {
    if (this.#open.has(node)) return false;
    const e: CompromiseEpisode = {
      node,
      id,
      atS,
      knownAtS: null,
      knownBy: null,
      restoredAtS: null,
      exposedBits: 0,
      applications: new Set(),
    };
    this.#episodes.push(e);
    this.#open.set(node, e);
    return true;
  }

  /** Marks an open episode known; returns it if this made it known. */
  learn(node: number, atS: number, by: CompromiseDetector): CompromiseEpisode | undefined {
    const e = this.#open.get(node);
    if (!e || e.knownAtS !== null) return undefined;
    e.knownAtS = atS;
    e.knownBy = by;
    return e;
  }

  /** Closes the node's episode; returns it, or undefined if the node was not compromised. */
  restore(node: number, atS: number): CompromiseEpisode | undefined {
    const e = this.#open.get(node);
    if (!e) return undefined;
    e.restoredAtS = atS;
    this.#open.delete(node);
    return e;
  }

  /** True while the node is compromised (known or not). */
  isCompromised(node: number): boolean {
    return this.#open.has(node);
  }

  /** True while the node is compromised and the network knows it. */
  isKnown(node: number): boolean {
    return (this.#open.get(node)?.knownAtS ?? null) !== null;
  }

  /** Nodes compromised and known now (the controller routes around them). */
  knownNodes(): Set<number> {
    const out = new Set<number>();
    for (const [n, e] of this.#open) if (e.knownAtS !== null) out.add(n);
    return out;
  }

  /** Open episodes the next heartbeat finds: every compromised node not yet known. */
  failingAttestation(): CompromiseEpisode[] {
    return [...this.#open.values()].filter((e) => e.knownAtS === null);
  }

  /** Charges `bits` of app `appId` to every listed compromised node that could read them. */
  expose(nodes: Iterable<number>, bits: number, appId: string): void {
    for (const n of nodes) {
      const e = this.#open.get(n);
      if (!e) continue;
      e.exposedBits += bits;
      e.applications.add(appId);
    }
  }

  /** Every episode so far, in the order they began. */
  summary(): CompromisedNodeSummary[] {
    return this.#episodes.map((e) => ({
      id: e.id,
      at_s: e.atS,
      keys_exposed_bits: e.exposedBits,
      applications: [...e.applications].sort(),
      known_at_s: e.knownAtS,
      known_by: e.knownBy,
      restored_at_s: e.restoredAtS,
    }));
  }
}
