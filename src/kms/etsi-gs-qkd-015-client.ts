/**
 * An SDN controller's read of a node's ETSI GS QKD 015 data: GET `/restconf/data/etsi-qkd-sdn-node:qkd_node`
 * (RFC 8040 §3.5) asking for `application/yang-data+json` (strict RFC 7951), over mutual TLS with a
 * certificate of the `sdn` role. Resolves with the content of `qkd_node`; rejects with one line saying
 * which node answered what.
 */
import type https from 'node:https';
import { QkdnetError } from '../common/index.ts';
import { SDN_NODE_MODULE } from './etsi-gs-qkd-015.ts';
import { YANG_JSON } from './etsi-gs-qkd-015-restconf.ts';
import { requestJson } from './https-json.ts';

/** Reads the `qkd_node` data of the node at `baseUrl` (e.g. `https://127.0.0.1:8443`). */
export async function fetchQkdNode(
  agent: https.Agent,
  baseUrl: string,
  timeoutMs = 10_000,
): Promise<unknown> {
  const url = `${baseUrl}/restconf/data/${SDN_NODE_MODULE}:qkd_node`;
  const r = await requestJson(agent, url, 'GET', undefined, timeoutMs, YANG_JSON);
  const body = r.body as Record<string, unknown> | undefined;
  if (r.status !== 200 || !body || typeof body !== 'object' || !(`${SDN_NODE_MODULE}:qkd_node` in body)) {
    const err = (body?.['ietf-restconf:errors'] as { error?: { 'error-message'?: string }[] } | undefined)
      ?.error?.[0]?.['error-message'];
    throw new QkdnetError(
      'KMS_PEER_UNAVAILABLE',
      `RESTCONF GET ${url} answered ${r.status}${err ? `: ${err}` : ''} instead of the node's 015 data`,
    );
  }
  return body[`${SDN_NODE_MODULE}:qkd_node`];
}
