/**
 * What the controller does when a site's process is lost or comes back (`qkdnet up --sites …`): a lost
 * site is a node failure — a critical `node-down` alert naming the node and why (exit, signal, missed
 * heartbeats), then every link at the node that was up is failed in the network, so the key-aware router
 * moves applications off it and the links' pools freeze (nothing generated, relayed or supplied over
 * them). When the site answers again, an `node-up` alert, and the links this failure took down come back
 * once both their ends are up. Links an operator cut or a detector quarantined stay as they were. While
 * a node is down, restoring one of its links by hand is refused.
 */
import { QkdnetError, type Alert } from '../common/index.ts';
import { AlertFactory } from '../network/index.ts';

/** What the watch acts on. */
export interface SiteWatchOptions {
  readonly links: readonly { readonly id: string; readonly from: string; readonly to: string }[];
  readonly linkState: (id: string) => string | undefined;
  readonly failLink: (id: string) => void;
  readonly restoreLink: (id: string) => void;
  readonly alert: (a: Alert) => void;
  readonly nowNs: () => number;
  readonly isUp: (node: string) => boolean;
}

/** Node failure and recovery of site processes. */
export class SiteWatch {
  readonly #o: SiteWatchOptions;
  readonly #alerts = new AlertFactory('site');
  /** Links taken down by a site failure (restored when both ends are back). */
  readonly #downBySite = new Set<string>();
  readonly #down = new Set<string>();

  constructor(o: SiteWatchOptions) {
    this.#o = o;
  }

  /** The node's site process is gone (`reason`: how it ended). */
  down(node: string, reason: string): void {
    if (this.#down.has(node)) return;
    this.#down.add(node);
    const cut: string[] = [];
    for (const l of this.#o.links) {
      if (l.from !== node && l.to !== node) continue;
      if (this.#o.linkState(l.id) !== 'up') continue;
      this.#downBySite.add(l.id);
      cut.push(l.id);
    }
    this.#o.alert(
      this.#alerts.make(
        'node-down',
        this.#o.nowNs(),
        { nodeId: node },
        { statistic: 'site_up', value: 0, threshold: 1 },
        `Node ${node} is down (site process: ${reason}); links ${cut.join(', ') || 'none'} down, applications rerouted; restarting it`,
      ),
    );
    for (const id of cut) this.#o.failLink(id);
  }

  /** The node's site process answers again. */
  up(node: string): void {
    if (!this.#down.delete(node)) return;
    const back: string[] = [];
    for (const l of this.#o.links) {
      if (!this.#downBySite.has(l.id)) continue;
      if (this.#down.has(l.from) || this.#down.has(l.to)) continue;
      if (!this.#o.isUp(l.from) || !this.#o.isUp(l.to)) continue;
      this.#downBySite.delete(l.id);
      back.push(l.id);
    }
    this.#o.alert(
      this.#alerts.make(
        'node-up',
        this.#o.nowNs(),
        { nodeId: node },
        { statistic: 'site_up', value: 1, threshold: 1 },
        `Node ${node} is back (site process restarted, store reopened); links ${back.join(', ') || 'none'} restored`,
      ),
    );
    for (const id of back) this.#o.restoreLink(id);
  }

  /** Throws DASHBOARD_BAD_CONTROL when a link cannot be restored because an end node is down. */
  checkRestorable(linkId: string): void {
    const l = this.#o.links.find((x) => x.id === linkId);
    const dead = l && [l.from, l.to].find((n) => this.#down.has(n));
    if (dead)
      throw new QkdnetError(
        'DASHBOARD_BAD_CONTROL',
        `Cannot restore link ${linkId}: node ${dead} is down (its site process restarts by itself)`,
      );
  }
}
