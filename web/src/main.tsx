/**
 * The qkdnet dashboard: one page for a security operations centre watching a live QKD network. Layout:
 * header (scenario, simulated clock, pace, connection, who is logged in), map + controls, the three live
 * charts, then links, alerts, provenance and application sessions. One column on a phone, a grid at
 * desktop widths. Off loopback the login page comes first; a viewer sees everything but the controls.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Chart, ChartLegend } from './Charts.tsx';
import { control, formatTime, useLive, useSession, type LiveEvent, type SessionInfo } from './live.ts';
import { Login } from './Login.tsx';
import { Alerts, Apps, Controls, LinkTable, ProvenanceMix } from './Panels.tsx';
import { Topology } from './Topology.tsx';
import './style.css';

const SPEEDS = [1, 2, 5, 10, 30, 60];

/** A stable key per activity entry (events carry no id; the same object keeps its key while it is shown). */
const eventKeys = new WeakMap<LiveEvent, number>();
let nextEventKey = 0;
function eventKey(e: LiveEvent): number {
  let k = eventKeys.get(e);
  if (k === undefined) eventKeys.set(e, (k = nextEventKey++));
  return k;
}

function describe(e: LiveEvent): string {
  switch (e.type) {
    case 'alert':
      return `${e.alert.severity} ${e.alert.kind} on ${e.alert.linkId ?? e.alert.nodeId ?? 'network'}`;
    case 'link-state':
      return `link ${e.linkId} is ${e.state}`;
    case 'reroute':
      return `${e.appId} rerouted: ${e.route ? `${e.route.provenance} via ${e.route.paths.map((p) => p.join('›')).join(' ‖ ') || 'PQC'}` : 'no route'}`;
    case 'node-compromised':
      return `node ${e.nodeId} compromised`;
    case 'node-restored':
      return `node ${e.nodeId} trusted again`;
    case 'audit': {
      const r = e.record;
      const what = [r.action, r.target, r.detail].filter((x) => x).join(' ');
      const t = new Date(r.time).toISOString().slice(11, 19);
      return `${t} ${r.actor} (${r.role ?? 'no role'}, ${r.via}) from ${r.from}: ${what} — ${r.outcome}`;
    }
    default:
      return e.type;
  }
}

function App() {
  const s = useSession();
  if (s.error) return <p class="loading">{s.error}</p>;
  if (!s.session) return <p class="loading">Connecting to the live network…</p>;
  if (!s.session.authenticated) return <Login session={s.session} login={s.login} />;
  return <Dashboard session={s.session} logout={s.logout} />;
}

function Dashboard({ session, logout }: { session: SessionInfo; logout: () => Promise<void> }) {
  const live = useLive();
  const operator = session.role === 'operator';
  const [link, setLink] = useState('');
  const [node, setNode] = useState('');
  const state = live.state;
  useEffect(() => {
    if (state && !link && state.links[0]) setLink(state.links[0].id);
    if (state && !node && state.nodes[0]) setNode(state.nodes[0].id);
  }, [state]);
  if (!state) return <p class="loading">Connecting to the live network…</p>;
  const links = state.links.map((l) => l.id);
  return (
    <div class="page">
      <header>
        <h1>
          qkdnet <span class="title">{state.scenario.title}</span>
        </h1>
        <div class="status">
          <span data-testid="clock">T+{formatTime(state.timeS)}</span>
          <label>
            pace
            <select
              disabled={!operator}
              value={String(state.speed)}
              onChange={(e) =>
                void control('POST', '/api/speed', { speed: Number((e.target as HTMLSelectElement).value) })
              }
            >
              {[...new Set([...SPEEDS, state.speed])]
                .sort((a, b) => a - b)
                .map((s) => (
                  <option key={s} value={String(s)}>{`${s}×`}</option>
                ))}
            </select>
          </label>
          <span class={live.connected ? 'conn on' : 'conn off'} data-testid="connection">
            {live.connected ? 'live' : 'reconnecting'}
          </span>
          <span class="who" data-testid="who" data-role={session.role}>
            {`${session.name} · ${session.role}`}
            {session.via !== 'loopback' && (
              <button class="link" data-testid="logout" onClick={() => void logout()}>
                log out
              </button>
            )}
          </span>
        </div>
      </header>
      <main>
        <section class="panel map-panel" aria-label="Topology">
          <h2>
            Topology <span class="count">{`${state.nodes.length} nodes · ${state.links.length} links`}</span>
          </h2>
          <Topology state={state} onSelectLink={setLink} onSelectNode={setNode} />
          <ul class="node-list" data-testid="nodes">
            {state.nodes.map((n) => (
              <li
                key={n.id}
                data-node={n.id}
                class={n.compromised ? 'compromised' : ''}
                title={n.kmeUrl ?? 'no KME'}
              >
                {n.name}
                {n.kmeUrl && <span class="kme">KME</span>}
              </li>
            ))}
          </ul>
        </section>
        <div class="side">
          {operator ? (
            <Controls state={state} link={link} node={node} onLink={setLink} onNode={setNode} />
          ) : (
            <section class="panel controls" aria-label="Controls">
              <h2>Controls</h2>
              <p class="empty">The viewer role watches; controls need an operator login.</p>
            </section>
          )}
          <section class="panel activity" aria-label="Activity">
            <h2>Activity</h2>
            <ul data-testid="activity">
              {live.activity.map((e) => (
                <li
                  key={eventKey(e)}
                  class={`ev ev-${e.type}${e.type === 'audit' ? ` ${e.record.outcome}` : ''}`}
                  data-audit-action={e.type === 'audit' ? e.record.action : undefined}
                  title={describe(e)}
                >
                  {describe(e)}
                </li>
              ))}
              {live.activity.length === 0 && <li class="empty">Changes appear here as they happen.</li>}
            </ul>
          </section>
        </div>
        <div class="charts">
          <ChartLegend links={links} />
          <Chart
            title="QBER, key basis (%)"
            metric="qber"
            links={links}
            history={live.history}
            tick={live.tick}
          />
          <Chart
            title="Secret key rate (bit/s)"
            metric="keyRateBps"
            links={links}
            history={live.history}
            tick={live.tick}
          />
          <Chart
            title="Key pool level (bits)"
            metric="poolBits"
            links={links}
            history={live.history}
            tick={live.tick}
          />
        </div>
        <LinkTable state={state} onSelect={setLink} />
        <Alerts state={state} />
        <ProvenanceMix state={state} />
        <Apps state={state} />
      </main>
      <footer>
        engines:{' '}
        {Object.entries(state.engines)
          .map(([k, v]) => `${k}: ${v}`)
          .join(' · ')}{' '}
        · <a href="/metrics">/metrics</a> · <a href="/api/state">/api/state</a>
      </footer>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
