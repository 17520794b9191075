/**
 * RESTCONF (RFC 8040) read access to a node's ETSI GS QKD 015 data, sans IO: a request's path, query and
 * Accept header in, a status, media type and JSON body out. What it follows:
 *
 * - resources: `{+restconf}` = `/restconf` (§3.3), `/restconf/data` and its descendants (§3.3.1, §3.5),
 *   `/restconf/operations` (empty: the module defines no RPC), `/restconf/yang-library-version` (§3.3.3),
 *   the stream list in `ietf-restconf-monitoring:restconf-state` (§9.1, §6.2) and the YANG library
 *   (`ietf-yang-library:modules-state`, RFC 7895, as §10.1 asks);
 * - data resource identifiers (§3.5.3): `module:name` first, then plain names, list entries as
 *   `name=key` with the key percent-encoded; a trailing `/` is accepted (TeraFlowSDN's QKD driver sends
 *   one on every path);
 * - query parameters (§4.8): `content` (all, config, nonconfig) and `depth` (1…65535, unbounded); each at
 *   most once; any other is refused with `invalid-value`;
 * - bodies (RFC 7951): one member named `module:target`; a list entry comes back as a one-element array;
 * - errors (§7.1): `{"ietf-restconf:errors":{"error":[{error-type, error-tag, error-path?, error-message}]}}`
 *   with the status of §7's table.
 *
 * The data are read-only: every method other than GET, HEAD and OPTIONS gets 405 `operation-not-supported`.
 *
 * A compatibility form (`application/json`) is served to clients that do not ask for
 * `application/yang-data+json`: member names without module prefixes, as FreeCONF serves them by default
 * and as TeraFlowSDN's QKD driver reads them (it looks up `qkd_node`, `qkd_interfaces`, `qkd_applications`
 * unqualified, and the node's leaves such as `qkdn_id` at the top level of `…/qkd_node/`, so for that one
 * target the node's leaves are also given beside the wrapper). Identities stay qualified in both forms.
 */
import { createHash } from 'node:crypto';
import { SDN_NODE_MODULE, type YangJson, type YangValue } from './etsi-gs-qkd-015.ts';

/** RFC 8040 media type of RFC 7951 JSON. */
export const YANG_JSON = 'application/yang-data+json';
/** The stream of notifications (§6.2: "NETCONF" is the default event stream, RFC 5277 §3.2.3). */
export const STREAM_NAME = 'NETCONF';
/** yang-library revision served (§3.3.3, RFC 7895). */
export const YANG_LIBRARY_VERSION = '2016-06-21';

/** Lists of the module and their keys (yang:214, 310, 443, 502, 580). */
const LIST_KEYS: Readonly<Record<string, string>> = {
  statistics: 'end_time',
  qkd_app: 'app_id',
  qkd_interface: 'qkdi_id',
  phys_perf: 'perf_type',
  qkd_link: 'qkdl_id',
};
/** Leaf-lists (yang:172, 326, 534, 633). */
const LEAF_LISTS = new Set(['client_app_id', 'backing_qkdl_id', 'virt_next_hop', 'qkdl_applications']);
/** `config false` nodes (yang:79, 132, 198, 216, 350, 479, 486, 493, 504). */
const CONFIG_FALSE = new Set([
  'qkdn_status',
  'app_status',
  'creation_time',
  'statistics',
  'qkdi_status',
  'expected_consumption',
  'skr',
  'eskr',
  'phys_perf',
]);
/** Every data node name of `etsi-qkd-sdn-node:qkd_node` (the JSON Schema's property names; a test keeps them equal). */
export const SCHEMA_NODE_NAMES: ReadonlySet<string> = new Set(
  (
    'qkd_node qkdn_id qkdn_status qkdn_version qkdn_location_id qkdn_capabilities link_stats_support ' +
    'application_stats_support key_relay_mode_enable qkd_applications qkd_app app_id app_status app_type ' +
    'server_app_id client_app_id app_priority creation_time expiration_time app_statistics statistics ' +
    'end_time start_time consumed_bits app_qos max_bandwidth min_bandwidth jitter ttl ' +
    'clients_shared_path_enable clients_shared_keys_required backing_qkdl_id local_qkdn_id remote_qkdn_id ' +
    'qkd_interfaces qkd_interface qkdi_id qkdi_model qkdi_type qkdi_att_point device port qkdi_capabilities ' +
    'role_support wavelength_range max_absorption qkdi_status qkd_links qkd_link qkdl_id qkdl_status ' +
    'qkdl_enable qkdl_local qkdn_id qkdl_remote qkdl_type qkdl_applications virt_prev_hop virt_next_hop ' +
    'virt_bandwidth phys_channel_att phys_wavelength phys_qkd_role qkdl_performance expected_consumption ' +
    'skr eskr phys_perf perf_type value'
  ).split(' '),
);

/** One RESTCONF error (§7.1 `error` list entry). */
export interface RestconfError {
  readonly status: number;
  readonly type: 'transport' | 'rpc' | 'protocol' | 'application';
  readonly tag: string;
  readonly message: string;
  readonly path?: string;
}

/** The §7.1 body of `e`. */
export function errorBody(e: RestconfError): YangJson {
  return {
    'ietf-restconf:errors': {
      error: [
        {
          'error-type': e.type,
          'error-tag': e.tag,
          ...(e.path ? { 'error-path': e.path } : {}),
          'error-message': e.message,
        },
      ],
    },
  };
}

/** What the server answers. */
export type RestconfAnswer =
  | { readonly ok: true; readonly status: 200; readonly type: string; readonly body: YangJson }
  | { readonly ok: false; readonly error: RestconfError };

const fail = (
  status: number,
  tag: string,
  message: string,
  path?: string,
): Extract<RestconfAnswer, { ok: false }> => ({
  ok: false,
  error: {
    status,
    type: status === 404 ? 'application' : 'protocol',
    tag,
    message: message.slice(0, 300),
    ...(path ? { path: path.slice(0, 300) } : {}),
  },
});

/** The media ranges of an Accept header with q > 0 (RFC 9110 §12.5.1), lower-cased. */
function acceptedRanges(accept: string): string[] {
  return accept
    .split(',')
    .map((r) => r.split(';'))
    .map(([t, ...ps]) => ({
      type: (t ?? '').trim().toLowerCase(),
      q: Number((ps.find((p) => p.trim().startsWith('q=')) ?? 'q=1').trim().slice(2)),
    }))
    .filter((r) => !(r.q === 0))
    .map((r) => r.type);
}

/** True when an Accept header (absent: anything) admits media type `type` (`a/b`). */
export function accepts(accept: string | undefined, type: string): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  const major = type.split('/')[0];
  return acceptedRanges(accept).some((r) => r === type || r === '*/*' || r === `${major}/*`);
}

/** Form of the answer chosen from the Accept header (§5.2 of RFC 8040). */
export function negotiate(accept: string | undefined): 'strict' | 'compat' | undefined {
  if (accept === undefined || accept.trim() === '') return 'strict';
  const ranges = acceptedRanges(accept);
  if (ranges.includes(YANG_JSON)) return 'strict';
  if (accepts(accept, 'application/json')) return 'compat';
  return undefined;
}

/** Parsed query of a data GET. */
interface DataQuery {
  readonly content: 'all' | 'config' | 'nonconfig';
  readonly depth: number;
}

/** Parses the query string (without `?`) of a data resource; an error answer on anything not allowed. */
export function parseQuery(
  q: string,
  allowed: readonly string[],
): DataQuery | Extract<RestconfAnswer, { ok: false }> {
  const seen = new Map<string, string>();
  if (q !== '')
    for (const part of q.split('&')) {
      const eq = part.indexOf('=');
      let name: string;
      let value: string;
      try {
        name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
        value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
      } catch {
        return fail(400, 'invalid-value', 'the query string is not valid percent-encoding');
      }
      if (!allowed.includes(name))
        return fail(400, 'invalid-value', `query parameter "${name.slice(0, 40)}" is not supported here`);
      if (seen.has(name)) return fail(400, 'invalid-value', `query parameter "${name}" given more than once`);
      seen.set(name, value);
    }
  const content = seen.get('content') ?? 'all';
  if (content !== 'all' && content !== 'config' && content !== 'nonconfig')
    return fail(400, 'invalid-value', 'content must be all, config or nonconfig');
  const d = seen.get('depth') ?? 'unbounded';
  const depth = d === 'unbounded' ? Infinity : /^[1-9][0-9]{0,4}$/.test(d) ? Number(d) : NaN;
  if (depth !== Infinity && !(depth >= 1 && depth <= 65535))
    return fail(400, 'invalid-value', 'depth must be 1…65535 or unbounded');
  return { content, depth };
}

/** Drops `config false` (content=config) or config-only (content=nonconfig) nodes, keeping list keys. */
function byContent(
  v: YangValue,
  mode: DataQuery['content'],
  name: string,
  key?: string,
): YangValue | undefined {
  if (mode === 'all') return v;
  if (CONFIG_FALSE.has(name)) return mode === 'config' ? undefined : v;
  if (Array.isArray(v)) {
    const k = LIST_KEYS[name];
    const xs = v.map((x) => byContent(x, mode, name, k)).filter((x) => x !== undefined);
    return xs.length ? xs : undefined;
  }
  if (typeof v !== 'object') return mode === 'config' ? v : undefined;
  const out: YangJson = {};
  for (const [n, c] of Object.entries(v)) {
    if (n === key) continue;
    const r = byContent(c, mode, n);
    if (
      r !== undefined &&
      !(typeof r === 'object' && !Array.isArray(r) && Object.keys(r).length === 0 && mode === 'nonconfig')
    )
      out[n] = r;
  }
  if (mode === 'nonconfig' && Object.keys(out).length === 0) return undefined;
  return key !== undefined && (v as YangJson)[key] !== undefined
    ? { [key]: (v as YangJson)[key]!, ...out }
    : out;
}

/** Keeps `levels` levels of descendants (§4.8.2: the target is level 1). */
function byDepth(v: YangValue, levels: number): YangValue {
  if (typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => byDepth(x, levels));
  if (levels <= 1) return {}; // the target alone: a container or list entry without its children
  const out: YangJson = {};
  for (const [n, c] of Object.entries(v)) out[n] = byDepth(c, levels - 1);
  return out;
}

/** Splits `name=key` and percent-decodes both (§3.5.3); undefined when the encoding is bad. */
function segment(raw: string): { name: string; key?: string } | undefined {
  try {
    const eq = raw.indexOf('=');
    if (eq < 0) return { name: decodeURIComponent(raw) };
    return { name: decodeURIComponent(raw.slice(0, eq)), key: decodeURIComponent(raw.slice(eq + 1)) };
  } catch {
    return undefined;
  }
}

/** The other top-level data this server holds, by qualified name. */
export type TopLevel = Readonly<Record<string, YangJson>>;

/**
 * GET of a data resource: `path` is the part after `/restconf/data` (e.g. `/etsi-qkd-sdn-node:qkd_node/qkd_links/qkd_link=…`),
 * `query` the raw query string, `form` from `negotiate`. `data` holds each top-level node's content.
 */
export function getData(
  path: string,
  query: string,
  form: 'strict' | 'compat',
  data: TopLevel,
): RestconfAnswer {
  const q = parseQuery(query, ['content', 'depth', ...(form === 'compat' ? ['simplified'] : [])]);
  if ('ok' in q) return q;
  const trimmed = path.replace(/^\//, '').replace(/\/$/, '');
  const wrap = (name: string, v: YangValue): RestconfAnswer => {
    const c = byContent(v, q.content, name.split(':').pop()!);
    const value = byDepth(c ?? (Array.isArray(v) ? [] : {}), q.depth);
    return {
      ok: true,
      status: 200,
      type: form === 'strict' ? YANG_JSON : 'application/json',
      body: { [name]: value },
    };
  };
  if (trimmed === '') {
    const all: YangJson = {};
    for (const [n, v] of Object.entries(data)) all[form === 'strict' ? n : n.split(':')[1]!] = v;
    return wrap(form === 'strict' ? 'ietf-restconf:data' : 'data', all);
  }
  const raws = trimmed.split('/');
  const first = segment(raws[0]!);
  if (!first) return fail(400, 'invalid-value', 'the path is not valid percent-encoding', path);
  if (!first.name.includes(':'))
    return fail(
      400,
      'malformed-message',
      'the first path segment must be module-qualified (module:name)',
      path,
    );
  const top = data[first.name];
  if (!top) return fail(404, 'invalid-value', `no data resource "${first.name.slice(0, 80)}"`, path);
  if (first.key !== undefined) return fail(400, 'invalid-value', `"${first.name}" is not a list`, path);
  const module = first.name.split(':')[0]!;
  let cur: YangValue = top;
  let name = first.name.split(':')[1]!;
  let entry = false;
  for (const raw of raws.slice(1)) {
    const s = segment(raw);
    if (!s || raw === '') return fail(400, 'invalid-value', 'empty or badly encoded path segment', path);
    let n = s.name;
    if (n.includes(':')) {
      const [m, local] = n.split(':', 2) as [string, string];
      if (m !== module)
        return fail(400, 'unknown-namespace', `module "${m.slice(0, 60)}" has no node here`, path);
      n = local;
    }
    if (typeof cur !== 'object' || Array.isArray(cur))
      return fail(400, 'invalid-value', `"${name}" has no child nodes`, path);
    if (module === SDN_NODE_MODULE && !SCHEMA_NODE_NAMES.has(n))
      return fail(400, 'unknown-element', `"${n.slice(0, 60)}" is not a node of ${module}`, path);
    const child: YangValue | undefined = cur[n];
    const listKey = LIST_KEYS[n];
    if (s.key !== undefined && listKey === undefined && !LEAF_LISTS.has(n))
      return fail(400, 'invalid-value', `"${n}" is neither a list nor a leaf-list`, path);
    if (listKey !== undefined && s.key === undefined)
      return fail(400, 'missing-attribute', `list "${n}" needs its key ${listKey} (${n}=…)`, path);
    if (child === undefined) return fail(404, 'invalid-value', `no data at "${n}"`, path);
    if (s.key !== undefined) {
      const key = s.key;
      const xs: YangValue[] = Array.isArray(child) ? child : [];
      const hit: YangValue | undefined =
        listKey !== undefined
          ? xs.find(
              (x: YangValue) => typeof x === 'object' && !Array.isArray(x) && String(x[listKey]) === key,
            )
          : xs.find((x: YangValue) => String(x) === key);
      if (hit === undefined) return fail(404, 'invalid-value', `no ${n} entry "${key.slice(0, 80)}"`, path);
      cur = hit;
      entry = true;
    } else {
      cur = child;
      entry = false;
    }
    name = n;
  }
  const target = form === 'strict' ? `${module}:${name}` : name;
  const answer = wrap(target, entry ? [cur] : cur);
  // TeraFlowSDN's fetch_node reads the node's leaves at the top level of `…/qkd_node/` (compatibility form).
  if (form === 'compat' && answer.ok && raws.length === 1 && name === 'qkd_node') {
    const inner = answer.body[target];
    if (inner && typeof inner === 'object' && !Array.isArray(inner))
      return {
        ...answer,
        body: {
          ...answer.body,
          ...Object.fromEntries(Object.entries(inner).filter(([, v]) => typeof v !== 'object')),
        },
      };
  }
  return answer;
}

/** `ietf-yang-library:modules-state` (RFC 7895) for the modules this server implements or imports. */
export function modulesState(): YangJson {
  const mods: YangJson[] = [
    {
      name: SDN_NODE_MODULE,
      revision: '2022-01-30',
      namespace: 'urn:etsi:qkd:yang:etsi-qkd-node',
      'conformance-type': 'implement',
    },
    {
      name: 'etsi-qkd-node-types',
      revision: '2022-01-30',
      namespace: 'urn:etsi:qkd:yang:etsi-qkd-node-types',
      'conformance-type': 'import',
    },
    {
      name: 'ietf-yang-types',
      revision: '2013-07-15',
      namespace: 'urn:ietf:params:xml:ns:yang:ietf-yang-types',
      'conformance-type': 'import',
    },
    {
      name: 'ietf-inet-types',
      revision: '2013-07-15',
      namespace: 'urn:ietf:params:xml:ns:yang:ietf-inet-types',
      'conformance-type': 'import',
    },
    {
      name: 'ietf-restconf',
      revision: '2017-01-26',
      namespace: 'urn:ietf:params:xml:ns:yang:ietf-restconf',
      'conformance-type': 'implement',
    },
    {
      name: 'ietf-restconf-monitoring',
      revision: '2017-01-26',
      namespace: 'urn:ietf:params:xml:ns:yang:ietf-restconf-monitoring',
      'conformance-type': 'implement',
    },
    {
      name: 'ietf-yang-library',
      revision: YANG_LIBRARY_VERSION,
      namespace: 'urn:ietf:params:xml:ns:yang:ietf-yang-library',
      'conformance-type': 'implement',
    },
  ];
  const id = createHash('sha256').update(JSON.stringify(mods)).digest('hex').slice(0, 16);
  return { 'module-set-id': id, module: mods };
}

/** `ietf-restconf-monitoring:restconf-state` (RFC 8040 §9.1): capabilities and the one stream. */
export function restconfState(streamLocation: string): YangJson {
  return {
    capabilities: {
      capability: [
        'urn:ietf:params:restconf:capability:defaults:1.0?basic-mode=report-all',
        'urn:ietf:params:restconf:capability:depth:1.0',
      ],
    },
    streams: {
      stream: [
        {
          name: STREAM_NAME,
          description: 'etsi-qkd-sdn-node notifications (link down, link status events, link performance)',
          'replay-support': false,
          access: [{ encoding: 'json', location: streamLocation }],
        },
      ],
    },
  };
}
