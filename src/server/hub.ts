/**
 * The read side of a live network: the engines push what they measure (link blocks, pool levels, alerts,
 * deliveries, reroutes) into a `LiveHub`, which keeps the current `DashboardState`, a bounded time series
 * per link, derives each link's health, and fans every change out to subscribers (SSE, metrics). Controls
 * are delegated to the composition that owns the engines. Health rules: down/quarantined follow the link
 * state; `alarm` while an attack is injected or a critical alert on the link is younger than
 * `alarmHoldS`; `degraded` for a warning alert as young, or a pool below `lowPoolFraction` (5%) of its capacity.
 */
import { QkdnetError, zeroProvenanceMix, type Alert } from '../common/index.ts';
import type {
  AppState,
  DashboardState,
  KeyDelivery,
  LinkHealth,
  LinkSample,
  LinkState,
  LiveEvent,
  LiveNetwork,
  NodeState,
  LiveControls,
  ProvenanceMix,
  RouteState,
  SiteInfo,
} from './types.ts';

/** What a composition must provide to act on the network (declared with the LiveNetwork it backs). */
export type { LiveControls } from './types.ts';

/** Static description a hub starts from. */
export interface HubInit {
  readonly scenario: { readonly name: string; readonly title: string };
  readonly nodes: readonly NodeState[];
  readonly links: readonly Omit<LinkState, 'health'>[];
  readonly apps: readonly AppState[];
  readonly attackKinds: readonly string[];
  readonly engines: Readonly<Record<string, string>>;
  readonly speed: number;
  /** Samples kept per link (default 600). */
  readonly historyPoints?: number;
  /** Pool level, as a fraction of capacity, below which an up link is `degraded` (default 0.05). */
  readonly lowPoolFraction?: number;
  /** Simulated seconds an alert keeps a link in alarm/degraded (default 60). */
  readonly alarmHoldS?: number;
}

const ZERO_MIX: ProvenanceMix = zeroProvenanceMix();

/** Current state + history + fan-out; implements `LiveNetwork` by delegating controls. */
export class LiveHub implements LiveNetwork {
  readonly #init: HubInit;
  readonly #controls: LiveControls;
  readonly #nodes = new Map<string, NodeState>();
  readonly #links = new Map<string, Omit<LinkState, 'health'>>();
  readonly #apps = new Map<string, AppState>();
  readonly #history = new Map<string, LinkSample[]>();
  readonly #alerts: Alert[] = [];
  readonly #keys: KeyDelivery[] = [];
  readonly #listeners = new Set<(e: LiveEvent) => void>();
  #provenance: ProvenanceMix = { ...ZERO_MIX };
  #timeS = 0;
  #speed: number;
  #reroutes = 0;

  constructor(init: HubInit, controls: LiveControls) {
    this.#init = init;
    this.#controls = controls;
    this.#speed = init.speed;
    for (const n of init.nodes) this.#nodes.set(n.id, n);
    for (const l of init.links) {
      this.#links.set(l.id, l);
      this.#history.set(l.id, []);
    }
    for (const a of init.apps) this.#apps.set(a.id, a);
  }

  // ---- read side (LiveNetwork) ----

  /** The snapshot the dashboard draws. */
  state(): DashboardState {
    return {
      scenario: this.#init.scenario,
      timeS: this.#timeS,
      speed: this.#speed,
      nodes: [...this.#nodes.values()],
      links: [...this.#links.values()].map((l) => ({ ...l, health: this.health(l) })),
      apps: [...this.#apps.values()],
      provenance: { ...this.#provenance },
      reroutes: this.#reroutes,
      alerts: [...this.#alerts],
      recentKeys: [...this.#keys],
      attackKinds: this.#init.attackKinds,
      engines: this.#init.engines,
    };
  }

  /** Samples of one link, oldest first. */
  history(linkId: string): readonly LinkSample[] {
    return [...this.#requireHistory(linkId)];
  }

  /** Subscribes to changes. */
  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  failLink(linkId: string): void {
    this.#requireLink(linkId);
    this.#controls.failLink(linkId);
  }
  restoreLink(linkId: string): void {
    this.#requireLink(linkId);
    this.#controls.restoreLink(linkId);
  }
  compromiseNode(nodeId: string): void {
    if (!this.#nodes.has(nodeId))
      throw new QkdnetError('DASHBOARD_UNKNOWN_TARGET', `Cannot compromise node "${nodeId}": no such node`);
    this.#controls.compromiseNode(nodeId);
  }
  restoreNode(nodeId: string): void {
    if (!this.#nodes.has(nodeId))
      throw new QkdnetError('DASHBOARD_UNKNOWN_TARGET', `Cannot restore node "${nodeId}": no such node`);
    this.#controls.restoreNode(nodeId);
  }
  injectAttack(linkId: string, kind: string): void {
    this.#requireLink(linkId);
    if (!this.#init.attackKinds.includes(kind))
      throw new QkdnetError(
        'DASHBOARD_BAD_CONTROL',
        `Cannot inject attack "${kind}" on ${linkId}: known kinds are ${this.#init.attackKinds.join(', ')}`,
      );
    this.#controls.injectAttack(linkId, kind);
  }
  clearAttack(linkId: string): void {
    this.#requireLink(linkId);
    this.#controls.clearAttack(linkId);
  }
  setSpeed(speed: number): void {
    if (!(speed > 0 && speed <= 10_000))
      throw new QkdnetError('DASHBOARD_BAD_CONTROL', `Cannot set speed ${speed}: must be in (0, 10000]`);
    this.#controls.setSpeed(speed);
    this.#speed = speed;
  }
  close(): Promise<void> {
    return this.#controls.close();
  }

  /** Health of a link now (rules in the file header). */
  health(l: Omit<LinkState, 'health'>): LinkHealth {
    if (l.state === 'down') return 'down';
    if (l.state === 'quarantined') return 'quarantined';
    const hold = this.#init.alarmHoldS ?? 60;
    const low = (this.#init.lowPoolFraction ?? 0.05) * l.capacityBits;
    let worst: LinkHealth = l.capacityBits > 0 && l.poolBits < low ? 'degraded' : 'ok';
    if (l.attack !== null) return 'alarm';
    for (const a of this.#alerts) {
      if (a.linkId !== l.id || this.#timeS - a.timeNs / 1e9 > hold) continue;
      if (a.severity === 'critical') return 'alarm';
      if (a.severity === 'warning') worst = 'degraded';
    }
    return worst;
  }

  // ---- write side (used by the composition) ----

  /** Advances the clock shown on the dashboard. */
  setTime(timeS: number): void {
    this.#timeS = timeS;
  }

  /** Updates a link's fields; emits `link-state` when its state changes. */
  updateLink(linkId: string, patch: Partial<Omit<LinkState, 'id' | 'from' | 'to' | 'health'>>): void {
    const old = this.#requireLink(linkId);
    const next = { ...old, ...patch };
    if (patch.state === 'up' && old.state !== 'up') next.attributedAttack = null; // restored: alarm over
    this.#links.set(linkId, next);
    if (patch.state !== undefined && patch.state !== old.state)
      this.#emit({ type: 'link-state', timeS: this.#timeS, linkId, state: patch.state });
  }

  /** Records one block's measurement on a link (time series + `sample` event). */
  recordSample(linkId: string, sample: LinkSample): void {
    const h = this.#requireHistory(linkId);
    h.push(sample);
    const max = this.#init.historyPoints ?? 600;
    if (h.length > max) h.splice(0, h.length - max);
    this.#emit({ type: 'sample', linkId, sample });
  }

  /** Sets what the supervisor knows of a node's site process (`--sites` only; no event). */
  setSite(nodeId: string, site: SiteInfo): void {
    const n = this.#nodes.get(nodeId);
    if (n) this.#nodes.set(nodeId, { ...n, site });
  }

  /** Marks a node compromised (once). */
  markCompromised(nodeId: string): void {
    this.setCompromised(nodeId, true);
  }

  /** Sets whether a node is compromised; emits `node-compromised` or `node-restored` on a change. */
  setCompromised(nodeId: string, compromised: boolean): void {
    const n = this.#nodes.get(nodeId);
    if (!n || n.compromised === compromised) return;
    this.#nodes.set(nodeId, { ...n, compromised });
    this.#emit({ type: compromised ? 'node-compromised' : 'node-restored', timeS: this.#timeS, nodeId });
  }

  /** Adds an alert (keeps the newest 100). */
  addAlert(alert: Alert): void {
    const link = alert.linkId === undefined ? undefined : this.#links.get(alert.linkId);
    if (link && alert.attribution)
      this.#links.set(alert.linkId!, { ...link, attributedAttack: alert.attribution.attack });
    this.#alerts.push(alert);
    if (this.#alerts.length > 100) this.#alerts.shift();
    this.#emit({ type: 'alert', alert });
  }

  /** Updates an application's figures and current route (silently: reroutes are announced by `reroute`). */
  updateApp(appId: string, patch: Partial<Omit<AppState, 'id' | 'from' | 'to'>>): void {
    const old = this.#apps.get(appId);
    if (!old) throw new Error(`LiveHub.updateApp: unknown app ${appId}`);
    this.#apps.set(appId, { ...old, ...patch });
  }

  /**
   * Announces that the controller moved an application to another route (or to none). A first route
   * (from none) is an assignment, not a reroute: it is recorded silently.
   */
  reroute(appId: string, route: RouteState | null): void {
    const old = this.#apps.get(appId)?.route ?? null;
    this.updateApp(appId, { route });
    if (old === null) return;
    this.#reroutes++;
    this.#emit({ type: 'reroute', timeS: this.#timeS, appId, route });
  }

  /** Records a key delivery (metadata only). */
  addDelivery(d: KeyDelivery): void {
    this.#keys.push(d);
    if (this.#keys.length > 30) this.#keys.shift();
    this.#emit({ type: 'keys', delivery: d });
  }

  /** Sets the bits delivered per provenance since start (the network's own totals). */
  setProvenance(mix: ProvenanceMix): void {
    this.#provenance = { ...mix };
  }

  #emit(e: LiveEvent): void {
    for (const l of [...this.#listeners]) l(e);
  }
  #requireLink(linkId: string): Omit<LinkState, 'health'> {
    const l = this.#links.get(linkId);
    if (!l) throw new QkdnetError('DASHBOARD_UNKNOWN_TARGET', `No link "${linkId}" in this network`);
    return l;
  }
  #requireHistory(linkId: string): LinkSample[] {
    const h = this.#history.get(linkId);
    if (!h) throw new QkdnetError('DASHBOARD_UNKNOWN_TARGET', `No link "${linkId}" in this network`);
    return h;
  }
}
