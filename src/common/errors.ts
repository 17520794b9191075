/**
 * The one error catalogue (docs/errors.md): conditions a caller handles carry a `code`
 * from `ERROR_CATALOGUE`, each mapped to an HTTP status and documented in docs/errors.md — a test keeps
 * the two in step. Messages say what could not be done and the current state, and never contain key
 * material.
 */

export const ERROR_CATALOGUE = {
  CONFIG_INVALID: { status: 400, summary: 'A configuration or scenario file failed validation.' },
  CLI_USAGE: {
    status: 400,
    summary: 'A command-line argument is missing, unknown or out of range (exit code 2).',
  },
  UNKNOWN_MODEL: { status: 400, summary: 'No key-rate model has that name.' },
  UNKNOWN_PRESET: { status: 400, summary: 'No parameter preset has that name.' },
  UNKNOWN_PARAMETER: { status: 400, summary: 'A parameter key is not one the model or preset knows.' },
  KMS_BAD_REQUEST: {
    status: 400,
    summary: 'An ETSI GS QKD 014 request is malformed or asks for an unsupported size, number or extension.',
  },
  KMS_UNAUTHORIZED: {
    status: 401,
    summary: 'The caller is not the SAE it claims, or not a slave the master named.',
  },
  KMS_NOT_FOUND: { status: 404, summary: 'The requested SAE, peer or resource is unknown to this KME.' },
  KMS_KEY_EXHAUSTED: { status: 503, summary: 'Not enough key material is stored to serve the request.' },
  KMS_KEY_NOT_FOUND: {
    status: 400,
    summary: 'A key_ID is unknown, already delivered, or reserved for another SAE.',
  },
  KMS_PEER_UNAVAILABLE: {
    status: 503,
    summary: 'A peer KME could not be reached or refused the reservation.',
  },
  KMS_QUOTA_EXCEEDED: {
    status: 503,
    summary: "The SAE's rate limit, or the pool share reserved for other SAEs, does not admit the request.",
  },
  KMS_STORE_FAILED: { status: 503, summary: 'The key store could not complete a durable write.' },
  STORE_LOCKED: {
    status: 409,
    summary: 'Another process uses this data directory or key store (one process per store; exit code 2).',
  },
  SITE_FAILED: {
    status: 503,
    summary: 'A site process of `qkdnet up --sites` did not start or answer (its reason follows).',
  },
  STORE_KEY_INVALID: {
    status: 400,
    summary: 'The store key is missing, malformed, or does not open this key store (exit code 2).',
  },
  DATA_DIR_INSECURE: {
    status: 403,
    summary:
      'A data directory or key file is open to other users and --strict-permissions is set (exit code 2).',
  },
  NETWORK_NO_PATH: { status: 503, summary: 'No route with enough key material joins the two nodes.' },
  SCENARIO_INVALID: { status: 400, summary: 'A scenario file does not match the scenario schema.' },
  IPSEC_UNAVAILABLE: {
    status: 503,
    summary: 'strongSwan (charon/VICI) could not be reached or refused a command.',
  },
  IPSEC_NOT_ROOT: { status: 403, summary: 'The IPsec harness needs root to create network namespaces.' },
  DASHBOARD_UNKNOWN_TARGET: {
    status: 404,
    summary: 'The live network has no link or node with that id.',
  },
  DASHBOARD_BAD_CONTROL: {
    status: 400,
    summary: 'A dashboard control names an unknown attack kind or an out-of-range value.',
  },
  DASHBOARD_UNAUTHENTICATED: {
    status: 401,
    summary: 'The dashboard or live API needs a login, a bearer token or a client certificate.',
  },
  DASHBOARD_FORBIDDEN: {
    status: 403,
    summary:
      'Refused: a foreign Origin, a missing or wrong anti-CSRF or login token, or a role without that right.',
  },
  DASHBOARD_MISDIRECTED: {
    status: 421,
    summary: 'The Host header names a host the dashboard was not started for (DNS rebinding).',
  },
  DASHBOARD_LOGIN_THROTTLED: {
    status: 429,
    summary: 'Too many failed logins from this address; wait a minute.',
  },
  PP_HANDSHAKE_REFUSED: {
    status: 409,
    summary: 'The post-processing peer runs with different parameters; the connection was refused.',
  },
  PP_PEER_DISCONNECTED: {
    status: 503,
    summary: 'The post-processing peer went away mid-block; open blocks were discarded at this end.',
  },
  PP_PROTOCOL_ERROR: {
    status: 502,
    summary: 'The post-processing peer sent a frame that is not a valid message.',
  },
  INTERNAL: { status: 500, summary: 'A broken invariant; a bug to report.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error a caller is expected to handle, identified by `code`. */
export class QkdnetError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'QkdnetError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = details;
  }
}

export function isQkdnetError(e: unknown, code?: ErrorCode): e is QkdnetError {
  return e instanceof QkdnetError && (code === undefined || e.code === code);
}
