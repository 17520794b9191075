/**
 * The dashboard's side panels: operator controls (attack injection, cut/restore, compromise/restore), the link
 * table (state, health, pool, QBER, rate), the alert feed with each alert's evidence (statistic, value,
 * threshold), the provenance mix of delivered keys and the application sessions with their routes.
 * Every row carries a `data-*` id so the end-to-end suite finds it.
 */
import { useState } from 'preact/hooks';
import type { Alert } from '../../src/common/contracts.ts';
import {
  control,
  formatBits,
  formatTime,
  HEALTH_COLOUR,
  PROVENANCE_COLOUR,
  type DashboardState,
} from './live.ts';

type State = DashboardState;

/** Controls on a selected link and node. */
export function Controls(props: {
  state: State;
  link: string;
  node: string;
  onLink: (id: string) => void;
  onNode: (id: string) => void;
}) {
  const { state, link, node } = props;
  const [attack, setAttack] = useState(state.attackKinds[0] ?? '');
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const act = async (label: string, method: 'POST' | 'DELETE', path: string, body?: unknown) => {
    const err = await control(method, path, body);
    setMessage(err ? { text: err, error: true } : { text: label, error: false });
  };
  const current = state.links.find((l) => l.id === link);
  const enc = encodeURIComponent;
  return (
    <section class="panel controls" aria-label="Controls">
      <h2>Controls</h2>
      <div class="row">
        <label>
          Link
          <select
            data-testid="control-link"
            value={link}
            onChange={(e) => props.onLink((e.target as HTMLSelectElement).value)}
          >
            {state.links.map((l) => (
              <option key={l.id} value={l.id}>{`${l.id} (${l.state})`}</option>
            ))}
          </select>
        </label>
        <label>
          Attack
          <select
            data-testid="control-attack"
            value={attack}
            onChange={(e) => setAttack((e.target as HTMLSelectElement).value)}
          >
            {state.attackKinds.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div class="row buttons">
        <button
          class="danger"
          data-testid="inject"
          onClick={() =>
            act(`Injected ${attack} on ${link}`, 'POST', `/api/links/${enc(link)}/attack`, { kind: attack })
          }
        >
          Inject attack
        </button>
        <button
          disabled={!current?.attack}
          data-testid="clear-attack"
          onClick={() => act(`Stopped the attack on ${link}`, 'DELETE', `/api/links/${enc(link)}/attack`)}
        >
          Stop attack
        </button>
        <button
          class="danger"
          disabled={current?.state === 'down'}
          data-testid="cut"
          onClick={() => act(`Cut ${link}`, 'POST', `/api/links/${enc(link)}/fail`)}
        >
          Cut link
        </button>
        <button
          disabled={current?.state === 'up'}
          data-testid="restore"
          onClick={() => act(`Restored ${link}`, 'POST', `/api/links/${enc(link)}/restore`)}
        >
          Restore link
        </button>
      </div>
      <div class="row">
        <label>
          Node
          <select
            data-testid="control-node"
            value={node}
            onChange={(e) => props.onNode((e.target as HTMLSelectElement).value)}
          >
            {state.nodes.map((n) => (
              <option key={n.id} value={n.id}>
                {n.compromised ? `${n.name} (compromised)` : n.name}
              </option>
            ))}
          </select>
        </label>
        <button
          class="danger"
          data-testid="compromise"
          disabled={state.nodes.find((n) => n.id === node)?.compromised}
          onClick={() => act(`Marked ${node} compromised`, 'POST', `/api/nodes/${enc(node)}/compromise`)}
        >
          Compromise node
        </button>
        <button
          data-testid="restore-node"
          disabled={!state.nodes.find((n) => n.id === node)?.compromised}
          onClick={() => act(`Trusted ${node} again`, 'POST', `/api/nodes/${enc(node)}/restore`)}
        >
          Restore node
        </button>
      </div>
      {message && (
        <p class={message.error ? 'msg error' : 'msg'} role="status">
          {message.text}
        </p>
      )}
    </section>
  );
}

/** One row per link. */
export function LinkTable({ state, onSelect }: { state: State; onSelect: (id: string) => void }) {
  return (
    <section class="panel" aria-label="Links">
      <h2>Links</h2>
      <table class="links">
        <thead>
          <tr>
            <th>Link</th>
            <th>Health</th>
            <th>Pool</th>
            <th>QBER</th>
            <th>Rate</th>
          </tr>
        </thead>
        <tbody>
          {state.links.map((l) => (
            <tr
              key={l.id}
              data-link={l.id}
              data-state={l.state}
              data-health={l.health}
              onClick={() => onSelect(l.id)}
            >
              <td>
                {l.id}
                {l.attack && (
                  <span class="tag danger" title="attack injected from this dashboard">
                    {l.attack}
                  </span>
                )}
                {l.attributedAttack && (
                  <div
                    class="sub attributed"
                    data-attributed={l.attributedAttack}
                    title="the attack the detectors attribute their alarm to"
                  >
                    {`detectors: ${l.attributedAttack}`}
                  </div>
                )}
              </td>
              <td>
                <span class="dot" style={{ background: HEALTH_COLOUR[l.health] }} />
                {l.health}
              </td>
              <td>
                <meter
                  min={0}
                  max={l.capacityBits || 1}
                  low={(l.capacityBits || 1) / 4}
                  optimum={l.capacityBits || 1}
                  value={l.poolBits}
                />
                {formatBits(l.poolBits)}
                <div
                  class="sub"
                  title="Final key supplied to the KMEs at both ends since start"
                >{`KMEs ${formatBits(l.kmeBits)}`}</div>
              </td>
              <td>{l.qber === null ? '–' : `${(l.qber * 100).toFixed(2)}%`}</td>
              <td>
                {`${formatBits(l.keyRateBps)}/s`}
                <div
                  class="sub"
                  data-rate-model={l.rateModel}
                  title="finite: finite-key rate at the link's block size; asymptotic: infinite-key bound"
                >
                  {l.rateModel}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AlertItem({ a }: { a: Alert }) {
  const where = a.linkId ? `link ${a.linkId}` : a.nodeId ? `node ${a.nodeId}` : 'network';
  return (
    <li
      class={`alert ${a.severity}`}
      data-alert-kind={a.kind}
      data-alert-link={a.linkId ?? ''}
      data-alert-node={a.nodeId ?? ''}
      data-alert-severity={a.severity}
    >
      <div class="alert-head">
        <span class={`sev ${a.severity}`}>{a.severity}</span>
        <strong>{a.kind}</strong> on {where}
        <span class="when">{formatTime(a.timeNs / 1e9)}</span>
      </div>
      <div class="alert-msg">{a.message}</div>
      {a.attribution && (
        <div class="attribution" data-attributed={a.attribution.attack}>
          attributed to <b>{a.attribution.attack}</b>
        </div>
      )}
      <div class="evidence">
        evidence: {a.evidence.statistic} = {fmt(a.evidence.value)} (threshold {fmt(a.evidence.threshold)}
        {a.evidence.window ? `, ${a.evidence.window}` : ''}) → {a.action}
      </div>
    </li>
  );
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01)
    ? v.toExponential(2)
    : String(Number(v.toPrecision(4)));
}

/** Newest alert first. */
export function Alerts({ state }: { state: State }) {
  const alerts = [...state.alerts].reverse();
  return (
    <section class="panel alerts-panel" aria-label="Alerts">
      <h2>
        Alerts <span class="count">{state.alerts.length}</span>
      </h2>
      {alerts.length === 0 ? (
        <p class="empty">No alerts. Inject an attack to see the detectors at work.</p>
      ) : (
        <ul class="alerts" data-testid="alerts">
          {alerts.map((a) => (
            <AlertItem key={a.id} a={a} />
          ))}
        </ul>
      )}
    </section>
  );
}

/** Stacked bar of delivered bits by provenance. */
export function ProvenanceMix({ state }: { state: State }) {
  const entries = Object.entries(state.provenance) as [keyof typeof PROVENANCE_COLOUR, number][];
  const total = entries.reduce((s, [, v]) => s + v, 0);
  return (
    <section class="panel" aria-label="Provenance of delivered keys">
      <h2>
        Delivered keys by provenance <span class="count">{formatBits(total)}</span>
      </h2>
      <div class="stack" data-testid="provenance">
        {entries.map(([p, v]) =>
          total > 0 && v > 0 ? (
            <span
              key={p}
              style={{ width: `${(100 * v) / total}%`, background: PROVENANCE_COLOUR[p] }}
              title={`${p}: ${formatBits(v)}`}
            />
          ) : null,
        )}
      </div>
      <ul class="legend">
        {entries.map(([p, v]) => (
          <li key={p} data-provenance={p}>
            <span class="dot" style={{ background: PROVENANCE_COLOUR[p] }} />
            {p} <b>{total > 0 ? `${((100 * v) / total).toFixed(1)}%` : '–'}</b>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Application sessions and the route their keys take. */
export function Apps({ state }: { state: State }) {
  return (
    <section class="panel" aria-label="Application sessions">
      <h2>
        Application sessions <span class="count">{state.reroutes} reroutes</span>
      </h2>
      <table class="apps">
        <thead>
          <tr>
            <th>App</th>
            <th>Route</th>
            <th>Served</th>
            <th>Unserved</th>
          </tr>
        </thead>
        <tbody>
          {state.apps.map((a) => (
            <tr
              key={a.id}
              data-app={a.id}
              data-route={a.route ? a.route.paths.map((p) => p.join('>')).join('|') : ''}
              data-provenance={a.route?.provenance ?? 'none'}
            >
              <td>
                {a.id}
                <div class="sub">{`${a.from} → ${a.to}, min ${a.minProvenance}`}</div>
              </td>
              <td>
                {a.route ? (
                  <span class="tag" style={{ borderColor: PROVENANCE_COLOUR[a.route.provenance] }}>
                    {a.route.provenance}
                  </span>
                ) : (
                  <span class="tag danger">no route</span>
                )}
                <div class="sub">
                  {a.route
                    ? a.route.paths.map((p) => p.join(' › ')).join(' ‖ ') || 'post-quantum (no QKD path)'
                    : ''}
                </div>
                {a.kme && (
                  <div
                    class={a.kme.lastError ? 'sub kme-err' : 'sub kme-ok'}
                    data-kme-delivered={a.kme.delivered}
                    title="Keys drawn from the two KMEs over ETSI GS QKD 014 (mutual TLS)"
                  >
                    {`ETSI 014: ${a.kme.delivered} keys from the KMEs${a.kme.lastError ? ` · last: ${a.kme.lastError}` : ''}`}
                  </div>
                )}
              </td>
              <td>{formatBits(a.servedBits)}</td>
              <td>{formatBits(a.unservedBits)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
