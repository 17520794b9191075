/**
 * Controls of a network simulation — what an operator, the scenario's events or the detectors do: cut and
 * restore links, quarantine a link (its stored key is discarded), compromise and restore trusted nodes,
 * inject and clear attacks. A link going down reroutes at once every application that used it.
 */
import type { NetCore } from './sim-core.ts';
import { findRoute, routeTrusted } from './router.ts';
import type { LinkState } from './types.ts';
import { ATTACK_KINDS } from '../qkd/index.ts';
import {
  ABORT_QBER,
  BASELINE_QBER,
  attackParam,
  type AppRt,
  type LinkAttack,
  type LinkRt,
  type RouteChangeReason,
} from './runtime.ts';
import { routeView } from './sim-serve.ts';

function setState(core: NetCore, l: LinkRt, state: LinkState): void {
  if (l.state === state) return;
  const now = core.kernel.nowNs;
  if (l.state === 'up') l.downSinceNs = now;
  else if (state === 'up') l.downNs += now - l.downSinceNs;
  l.state = state;
  core.emit({ type: 'link-state', timeS: core.nowS, linkId: l.id, state });
  if (state === 'up') {
    for (const a of core.apps) a.reoptimise = 'link-restored'; // re-optimise on the next request
    return;
  }
  for (const a of core.apps) {
    if (!a.route?.paths.some((p) => p.links.includes(l.index))) continue;
    rerouteNow(core, a, 'link-down');
  }
}

/** Cuts a link (fiber cut, device failure): no key generated or relayed over it until restored. */
export function failLink(core: NetCore, id: string): void {
  const l = core.link(id);
  if (l.state === 'down') return;
  setState(core, l, 'down');
  core.alert(
    'link-down',
    { linkId: id },
    { statistic: 'link_up', value: 0, threshold: 1 },
    `Link ${id} is down; traffic rerouted`,
  );
}

/** Quarantines a link (suspected attack): its stored key is discarded and it carries nothing. */
export function quarantineLink(core: NetCore, id: string, reason = 'operator'): void {
  const l = core.link(id);
  if (l.state === 'quarantined') return;
  l.pool.flush();
  l.event?.store?.flush();
  setState(core, l, 'quarantined');
  core.alert(
    'link-quarantined',
    { linkId: id },
    { statistic: 'quarantine', value: 1, threshold: 1 },
    `Link ${id} quarantined (${reason}); its stored key was discarded`,
  );
}

/** Brings a failed or quarantined link back (and clears any injected attack). */
export function restoreLink(core: NetCore, id: string): void {
  const l = core.link(id);
  l.attack = null;
  if (l.state === 'up') return;
  setState(core, l, 'up');
  core.alert(
    'link-restored',
    { linkId: id },
    { statistic: 'link_up', value: 1, threshold: 1 },
    `Link ${id} restored`,
  );
}

/**
 * Compromises a trusted node, silently: it reads every key share it relays from now on, until the network
 * learns of it (its next attestation heartbeat fails, or an operator declares it; compromise.ts).
 */
export function compromiseNode(core: NetCore, id: string): void {
  const n = core.node(id);
  if (!core.compromise.compromise(n, id, core.nowS)) return;
  core.emit({ type: 'node-compromised', timeS: core.nowS, nodeId: id });
}

/** An operator declares a node compromised (compromising it now if it was not): known at once. */
export function declareCompromised(core: NetCore, id: string): void {
  const n = core.node(id);
  compromiseNode(core, id);
  const e = core.compromise.learn(n, core.nowS, 'operator');
  if (e) onKnown(core, n, 'operator declaration');
}

/** One round of attestation heartbeats: every compromised node not yet known fails its heartbeat. */
export function attest(core: NetCore): void {
  for (const e of core.compromise.failingAttestation()) {
    core.compromise.learn(e.node, core.nowS, 'attestation');
    onKnown(core, e.node, 'failed attestation heartbeat');
  }
}

/** The controller learns of a compromise: a critical alert naming the node, then routes around it. */
function onKnown(core: NetCore, n: number, how: string): void {
  const id = core.scenario.nodes[n]!.id;
  const atNode = core.apps.filter((a) => a.src === n || a.dst === n).map((a) => a.app.id);
  core.alert(
    'node-compromised',
    { nodeId: id },
    { statistic: 'node_integrity', value: 0, threshold: 1 },
    `Trusted node ${id} is compromised (${how}): no key is relayed through it any more` +
      (atNode.length > 0 ? `; apps with an end at ${id} stay exposed: ${atNode.join(', ')}` : ''),
  );
  const known = core.compromise.knownNodes();
  for (const a of core.apps) {
    if (!a.route || routeTrusted(a.route, known)) continue;
    rerouteNow(core, a, 'node-distrusted'); // around the node (or none: the policy decides next request)
  }
}

/**
 * Declares a compromised node trustworthy again (re-imaged, re-keyed): key relayed through it from now
 * on is no longer exposed; keys it saw while compromised keep their exposure. One info alert per restore.
 */
export function restoreNode(core: NetCore, id: string): void {
  const n = core.node(id);
  if (!core.compromise.restore(n, core.nowS)) return;
  for (const a of core.apps) a.reoptimise = 'node-restored'; // re-optimise: the node may carry key again
  core.alert(
    'node-restored',
    { nodeId: id },
    { statistic: 'node_integrity', value: 1, threshold: 1 },
    `Trusted node ${id} restored (re-imaged and re-keyed); routes may use it again`,
  );
  core.emit({ type: 'node-restored', timeS: core.nowS, nodeId: id });
}

/**
 * Injects an attack on a link. Intercept-resend on a fraction f of pulses raises the QBER to
 * e_d + f/4 (Bennett & Brassard 1984; each intercepted pulse is wrong with probability 1/4); above 11%
 * post-processing aborts every block, the link produces no key and the controller quarantines it.
 * Other attacks are quarantined on detection (the detectors of src/detect will refine this).
 * On an event-level link the attack is simulated in every following block instead; the link is
 * quarantined when post-processing refuses a block under it.
 */
export function injectAttack(core: NetCore, linkId: string, attack: LinkAttack): void {
  if (!(ATTACK_KINDS as readonly string[]).includes(attack.kind))
    throw new RangeError(`Unknown attack "${attack.kind}": expected one of ${ATTACK_KINDS.join(', ')}`);
  const l = core.link(linkId);
  l.attack = attack;
  if (l.event) return; // event-level: the attack goes into the next blocks; post-processing decides
  if (attack.kind === 'intercept-resend') {
    const qber = BASELINE_QBER + attackParam(attack) / 4;
    if (qber <= ABORT_QBER) return; // undetected by the threshold; key still distilled (with less margin)
    core.alert(
      'attack-suspected',
      { linkId },
      { statistic: 'qber', value: qber, threshold: ABORT_QBER },
      `QBER on link ${linkId} is ${(qber * 100).toFixed(1)}% > ${ABORT_QBER * 100}%: blocks aborted`,
    );
  } else {
    core.alert(
      'attack-suspected',
      { linkId },
      { statistic: attack.kind, value: 1, threshold: 1 },
      `Signature of ${attack.kind} on link ${linkId}`,
    );
  }
  quarantineLink(core, linkId, attack.kind);
}

/** Removes an injected attack; a link quarantined for it is restored (fresh key from now on). */
export function clearAttack(core: NetCore, linkId: string): void {
  const l = core.link(linkId);
  if (l.attack === null) return;
  l.attack = null;
  if (l.state === 'quarantined') restoreLink(core, linkId);
}

/** Re-chooses app `a`'s route at once (a link on it went down, a node on it is known compromised). */
function rerouteNow(core: NetCore, a: AppRt, reason: RouteChangeReason): void {
  const bits = Math.max(
    a.app.keyBits,
    Math.floor((a.app.rateBps * core.scenario.requestIntervalS) / a.app.keyBits) * a.app.keyBits,
  );
  const route = findRoute(core.graph, core.levels, a.src, a.dst, bits, a.app, core.compromise.knownNodes());
  core.setRoute(a, route, reason, () => routeView(core, route));
}
