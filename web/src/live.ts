/**
 * The dashboard's connection to the server (docs/dashboard.md): the session first (`GET /api/session`:
 * who we are and the anti-CSRF token every control must echo; a login with a token when the server asks
 * for one), then `GET /api/history` and `GET /api/audit`, then Server-Sent Events on `/api/events` —
 * `state` replaces the snapshot, `sample` appends to a link's series, `alert`/`link-state`/`reroute`/
 * `audit` are kept in a short activity log. The browser's EventSource reconnects by itself; on reconnect
 * the full state arrives first. Requests go to the page's own origin only, with the session cookie.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Provenance } from '../../src/common/contracts.ts';
import type { AuditRecord, DashboardState, LinkSample, LiveEvent } from '../../src/server/types.ts';

export type { AuditRecord, DashboardState, LinkSample, LiveEvent };

/** `GET /api/session` / `POST /api/login`. */
export interface SessionInfo {
  readonly authenticated: boolean;
  readonly methods: readonly string[];
  readonly name?: string;
  readonly role?: 'operator' | 'viewer' | 'metrics';
  readonly via?: string;
  readonly csrf?: string;
}

/** The anti-CSRF token of this page's session, sent as X-CSRF-Token with every control. */
let csrfToken = '';

async function sessionCall(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<SessionInfo | string> {
  try {
    const r = await fetch(path, {
      method,
      credentials: 'same-origin',
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const j = (await r.json().catch(() => ({}))) as SessionInfo & { message?: string };
    if (!r.ok) return j.message ?? `HTTP ${r.status}`;
    csrfToken = j.csrf ?? '';
    return j;
  } catch (e) {
    return `Cannot reach the server: ${(e as Error).message}`;
  }
}

/** The session; `login(token)` resolves to null or the server's refusal; `logout()` ends it. */
export function useSession(): {
  session: SessionInfo | null;
  error: string | null;
  login: (token: string) => Promise<string | null>;
  logout: () => Promise<void>;
} {
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void sessionCall('GET', '/api/session').then((s) =>
      typeof s === 'string' ? setError(s) : setSession(s),
    );
  }, []);
  return {
    session,
    error,
    login: async (token) => {
      const s = await sessionCall('POST', '/api/login', { token });
      if (typeof s === 'string') return s;
      setSession(s);
      return null;
    },
    logout: async () => {
      await sessionCall('POST', '/api/logout');
      csrfToken = '';
      setSession(
        await sessionCall('GET', '/api/session').then((s) =>
          typeof s === 'string' ? { authenticated: false, methods: ['token'] } : s,
        ),
      );
    },
  };
}

/** Points kept per link in the browser. */
const MAX_POINTS = 600;

/** What the page renders from. */
export interface LiveView {
  readonly state: DashboardState | null;
  readonly history: Readonly<Record<string, readonly LinkSample[]>>;
  readonly activity: readonly LiveEvent[];
  readonly connected: boolean;
  /** Bumps on every sample so charts redraw. */
  readonly tick: number;
}

/** Subscribes to the live network; re-renders on each change. */
export function useLive(): LiveView {
  const [view, setView] = useState<LiveView>({
    state: null,
    history: {},
    activity: [],
    connected: false,
    tick: 0,
  });
  useEffect(() => {
    let history: Record<string, LinkSample[]> = {};
    let closed = false;
    void fetch('/api/audit?limit=20')
      .then((r) => r.json() as Promise<{ records: AuditRecord[] }>)
      .then((a) => {
        if (closed) return;
        const past: LiveEvent[] = a.records.map((record) => ({ type: 'audit', record }));
        setView((v) => ({ ...v, activity: [...v.activity, ...past.reverse()].slice(0, 50) }));
      })
      .catch(() => undefined);
    void fetch('/api/history?points=' + MAX_POINTS)
      .then((r) => r.json() as Promise<{ links: Record<string, LinkSample[]> }>)
      .then((h) => {
        if (closed) return;
        history = { ...h.links, ...history };
        setView((v) => ({ ...v, history, tick: v.tick + 1 }));
      })
      .catch(() => undefined);
    const es = new EventSource('/api/events');
    es.onopen = () => setView((v) => ({ ...v, connected: true }));
    es.onerror = () => setView((v) => ({ ...v, connected: false }));
    es.addEventListener('state', (m) => {
      const state = JSON.parse((m as MessageEvent<string>).data) as DashboardState;
      setView((v) => ({ ...v, state, connected: true }));
    });
    es.addEventListener('sample', (m) => {
      const e = JSON.parse((m as MessageEvent<string>).data) as Extract<LiveEvent, { type: 'sample' }>;
      const series = history[e.linkId] ?? (history[e.linkId] = []);
      series.push(e.sample);
      if (series.length > MAX_POINTS) series.splice(0, series.length - MAX_POINTS);
      setView((v) => ({ ...v, history, tick: v.tick + 1 }));
    });
    for (const type of [
      'alert',
      'link-state',
      'reroute',
      'node-compromised',
      'node-restored',
      'audit',
    ] as const) {
      es.addEventListener(type, (m) => {
        const e = JSON.parse((m as MessageEvent<string>).data) as LiveEvent;
        setView((v) => ({ ...v, activity: [e, ...v.activity].slice(0, 50) }));
      });
    }
    return () => {
      closed = true;
      es.close();
    };
  }, []);
  return view;
}

/** Sends a control; resolves to null on success or the server's error message. */
export async function control(
  method: 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<string | null> {
  const headers: Record<string, string> = { 'x-csrf-token': csrfToken };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    const r = await fetch(path, init);
    if (r.ok) return null;
    const e = (await r.json().catch(() => ({ message: r.statusText }))) as { message?: string };
    return e.message ?? `HTTP ${r.status}`;
  } catch (e) {
    return `Cannot reach the server: ${(e as Error).message}`;
  }
}

/** Formats bits as b/kb/Mb with 3 significant digits. */
export function formatBits(bits: number): string {
  if (bits >= 1e9) return `${(bits / 1e9).toPrecision(3)} Gb`;
  if (bits >= 1e6) return `${(bits / 1e6).toPrecision(3)} Mb`;
  if (bits >= 1e3) return `${(bits / 1e3).toPrecision(3)} kb`;
  return `${Math.round(bits)} b`;
}

/** Formats simulated seconds as h:mm:ss. */
export function formatTime(s: number): string {
  const t = Math.floor(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}

/** Colours per link health, shared by the map, the tables and the charts' legends. */
export const HEALTH_COLOUR = {
  ok: '#22c55e',
  degraded: '#f59e0b',
  alarm: '#ef4444',
  down: '#64748b',
  quarantined: '#a855f7',
} as const;

/** Colours per provenance, strongest claim first (keyed by the one list in src/common/contracts.ts). */
export const PROVENANCE_COLOUR: Record<Provenance, string> = {
  qkd: '#22c55e',
  'qkd-multipath': '#14b8a6',
  'qkd-relayed': '#38bdf8',
  hybrid: '#f59e0b',
  pqc: '#a855f7',
  'simulated-deterministic': '#94a3b8',
};
