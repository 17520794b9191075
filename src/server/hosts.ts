/**
 * Which Host headers and Origins the dashboard answers to. A browser sends `Host` as the name it resolved,
 * so checking it against the names the server was started for defeats DNS rebinding (a foreign name that
 * now resolves to this machine); checking `Origin` (or, absent, `Referer`) on state-changing requests
 * defeats cross-site request forgery (RFC 6454 origins: scheme, host, port). Loopback binds answer to
 * `localhost`, `127.0.0.1` and `[::1]`; a wildcard bind (0.0.0.0, ::) to every address of this machine
 * and its hostname; extra names (a reverse proxy's) come from `--allowed-host`.
 */
import { isIP } from 'node:net';
import { hostname as osHostname, networkInterfaces } from 'node:os';

/** A host the server answers to; `port` undefined matches any port (entries given by name). */
export interface HostEntry {
  readonly hostname: string;
  /** A port, or `local` for "the port this connection arrived on". */
  readonly port?: number | 'local';
}

/** True for an address or name that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = normalizeHostname(host);
  if (h === 'localhost' || h === '::1') return true;
  if (/^::ffff:127\./.test(h)) return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Lower case, no IPv6 brackets, no trailing dot. */
export function normalizeHostname(h: string): string {
  return h
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/** Splits a Host header (`name`, `name:port`, `[v6]:port`); null when malformed. */
export function parseHostHeader(value: string): { hostname: string; port: number | undefined } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return null;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65535) return null;
  return { hostname: normalizeHostname(m[1]!), port };
}

/** The hosts a server bound to `bindHost` answers to on its own port, plus `extra` (`name[:port]`). */
export function hostsFor(bindHost: string, extra: readonly string[] = []): HostEntry[] {
  const own = (hostname: string): HostEntry => ({ hostname: normalizeHostname(hostname), port: 'local' });
  const out: HostEntry[] = [own('localhost'), own('127.0.0.1'), own('::1')];
  const bind = normalizeHostname(bindHost);
  if (bind === '0.0.0.0' || bind === '::') {
    out.push(own(osHostname()));
    for (const list of Object.values(networkInterfaces()))
      for (const a of list ?? []) out.push(own(a.address.replace(/%.*$/, '')));
  } else if (!isLoopbackHost(bind)) out.push(own(bind));
  for (const e of extra) {
    const p = parseHostHeader(e);
    if (!p) throw new RangeError(`--allowed-host: "${e}" is not a host name or host:port`);
    out.push(p.port === undefined ? { hostname: p.hostname } : { hostname: p.hostname, port: p.port });
  }
  return out;
}

/** Does `host:port` (port already defaulted) match an entry, for a connection on `localPort`? */
export function hostAllowed(
  entries: readonly HostEntry[],
  hostname: string,
  port: number,
  localPort: number | undefined,
): boolean {
  return entries.some(
    (e) =>
      e.hostname === hostname &&
      (e.port === undefined ||
        (e.port === 'local' ? localPort === undefined || localPort === port : e.port === port)),
  );
}

/** The port a URL or Host means when it names none. */
export const defaultPort = (secure: boolean): number => (secure ? 443 : 80);

/**
 * The origin of a request (`Origin`, else the origin of `Referer`), or null when neither is present or
 * the value is opaque (`null`, sandboxed frames, privacy-sensitive contexts).
 */
export function requestOrigin(headers: Record<string, string | string[] | undefined>): URL | null {
  const pick = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const raw = pick(headers.origin) ?? pick(headers.referer);
  if (raw === undefined || raw === 'null') return null;
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
  } catch {
    return null;
  }
}

/**
 * Is `origin` one the server serves? Either listed in `origins` exactly (a reverse proxy's public origin),
 * or of the server's own scheme with a host the server answers to.
 */
export function originAllowed(
  origin: URL,
  o: {
    secure: boolean;
    hosts: readonly HostEntry[];
    origins: readonly string[];
    localPort: number | undefined;
  },
): boolean {
  if (o.origins.includes(origin.origin)) return true;
  if (origin.protocol !== (o.secure ? 'https:' : 'http:')) return false;
  const port = origin.port === '' ? defaultPort(o.secure) : Number(origin.port);
  return hostAllowed(o.hosts, normalizeHostname(origin.hostname), port, o.localPort);
}

/** Parses `--allowed-origin` (`scheme://host[:port]`, nothing after). */
export function parseOrigin(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new RangeError(`--allowed-origin: "${text}" is not a URL like https://qkd.example.org`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== text.replace(/\/$/, ''))
    throw new RangeError(`--allowed-origin: "${text}" must be scheme://host[:port] with nothing after`);
  return u.origin;
}
