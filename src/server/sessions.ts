/**
 * Credentials of the dashboard and live API: bearer/login tokens (generated with node:crypto or read from
 * files), the session store behind the `qkdnet_session` cookie and its per-session anti-CSRF token, and a
 * limiter of failed logins per address. Tokens are compared in constant time (SHA-256 of both sides, then
 * `timingSafeEqual`, so neither the content nor the length leaks through timing). No token is ever logged:
 * principals are named by the token's label (`operator-token`, or the name given beside it in a file).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The roles of the dashboard (src/kms/roles.ts names the same ones on certificates). */
export type AccessRole = 'operator' | 'viewer' | 'metrics';

/** Who is calling, and how they proved it. */
export interface Principal {
  /** Certificate CN, token label, or `local` for a loopback caller without credentials. */
  readonly name: string;
  readonly role: AccessRole;
  readonly via: 'certificate' | 'token' | 'loopback';
}

/** A configured secret and the principal it stands for. */
export interface TokenEntry {
  readonly name: string;
  readonly role: AccessRole;
  readonly token: string;
}

/** Shortest token accepted from a file (a generated one has 43 characters, 256 bits). */
export const MIN_TOKEN_LENGTH = 16;

/** A fresh random token: 32 bytes from the CSPRNG, base64url (43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** `a === b` in time independent of where (or whether) they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Parses a token file: one token per non-empty line not starting with `#`, either `TOKEN` or `NAME TOKEN`
 * (NAME names the principal in the audit trail). Throws RangeError naming the line for a bad entry.
 */
export function parseTokenFile(text: string, role: AccessRole, what: string): TokenEntry[] {
  const out: TokenEntry[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    if (parts.length > 2) throw new RangeError(`${what} line ${i + 1}: expected "TOKEN" or "NAME TOKEN"`);
    const [name, token] = parts.length === 2 ? [parts[0]!, parts[1]!] : [`${role}-token`, parts[0]!];
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name))
      throw new RangeError(`${what} line ${i + 1}: name "${name}" must be 1–64 of A-Z a-z 0-9 . _ @ -`);
    if (token.length < MIN_TOKEN_LENGTH)
      throw new RangeError(`${what} line ${i + 1}: token shorter than ${MIN_TOKEN_LENGTH} characters`);
    out.push({ name, role, token });
  }
  if (out.length === 0) throw new RangeError(`${what}: no token in the file`);
  return out;
}

/** Finds the entry whose token equals `presented`, checking every entry (constant time per entry). */
export function matchToken(entries: readonly TokenEntry[], presented: string): TokenEntry | undefined {
  let found: TokenEntry | undefined;
  for (const e of entries) if (constantTimeEqual(e.token, presented) && !found) found = e;
  return found;
}

/** A logged-in browser: its principal and the anti-CSRF token its page must echo in `X-CSRF-Token`. */
export interface Session {
  readonly id: string;
  readonly csrf: string;
  readonly principal: Principal;
  readonly expiresMs: number;
}

/** Sessions by id, bounded in number and lifetime. */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(opts: { ttlS?: number; max?: number } = {}) {
    this.#ttlMs = (opts.ttlS ?? 12 * 3600) * 1000;
    this.#max = opts.max ?? 1000;
  }

  /** Seconds a session lives (the cookie's Max-Age). */
  get ttlS(): number {
    return this.#ttlMs / 1000;
  }

  /** Opens a session for `principal` with fresh random id and CSRF token. */
  create(principal: Principal, nowMs = Date.now()): Session {
    const s: Session = {
      id: generateToken(),
      csrf: generateToken(),
      principal,
      expiresMs: nowMs + this.#ttlMs,
    };
    if (this.#sessions.size >= this.#max) this.#sessions.delete(this.#sessions.keys().next().value!);
    this.#sessions.set(s.id, s);
    return s;
  }

  /** The live session with that id, or undefined (an expired one is dropped). */
  get(id: string | undefined, nowMs = Date.now()): Session | undefined {
    if (id === undefined) return undefined;
    const s = this.#sessions.get(id);
    if (s && s.expiresMs <= nowMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }
}

/** Counts failed logins per address over a sliding minute. */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #max: number;
  readonly #windowMs: number;

  constructor(max = 10, windowMs = 60_000) {
    this.#max = max;
    this.#windowMs = windowMs;
  }

  #recent(addr: string, nowMs: number): number[] {
    const list = (this.#failures.get(addr) ?? []).filter((t) => nowMs - t < this.#windowMs);
    if (list.length) this.#failures.set(addr, list);
    else this.#failures.delete(addr);
    return list;
  }

  /** True while `addr` has used up its failed attempts. */
  blocked(addr: string, nowMs = Date.now()): boolean {
    return this.#recent(addr, nowMs).length >= this.#max;
  }

  fail(addr: string, nowMs = Date.now()): void {
    this.#failures.set(addr, [...this.#recent(addr, nowMs), nowMs]);
    if (this.#failures.size > 10_000) this.#failures.delete(this.#failures.keys().next().value!);
  }
}
