/**
 * IKEv2 connection definitions for the UE ↔ N3IWF tunnel, as VICI `load-conn` messages (strongSwan
 * swanctl.conf reference; VICI README "load-conn"). The UE initiates, the N3IWF responds. With a PPK
 * (RFC 8784) the initiator names its `ppk_id` (the ETSI 014 key_ID) and both sides set `ppk_required`,
 * so a missing or wrong PPK fails the exchange instead of silently falling back; the responder leaves
 * `ppk_id` unset and accepts whatever PPK_ID the initiator sends, looking the key up by it
 *. One suite for every mode, so modes differ in authentication only:
 * aes256gcm16-prfsha256-x25519 for IKE, aes256gcm16 for ESP.
 */
import { NETNS_ADDR } from './netns.ts';
import type { ViciMessageIn } from './vici-codec.ts';

/** IKE identities (also the certificates' subjectAltNames). */
export const IKE_ID = { ue: 'ue.qkdnet.test', n3iwf: 'n3iwf.qkdnet.test' } as const;
/** IKE and ESP proposals used by every mode. */
export const PROPOSALS = { ike: 'aes256gcm16-prfsha256-x25519', esp: 'aes256gcm16' } as const;
/** Name of the CHILD SA (the tunnelled inner hosts). */
export const CHILD_NAME = 'n3gpp';

/** What one side of a connection needs. */
export interface ConnSpec {
  /** Connection name (same on both sides for readability). */
  readonly name: string;
  readonly role: 'initiator' | 'responder';
  /** `psk` (PSK or QKD key as PSK) or `pubkey` (certificates). */
  readonly auth: 'psk' | 'pubkey';
  /** PEM of this side's certificate when `auth` is `pubkey`. */
  readonly certPem?: string;
  /** Initiator only: the PPK_ID to send (an ETSI 014 key_ID). */
  readonly ppkId?: string;
  /** Require a PPK (both sides, whenever a PPK is used). */
  readonly ppkRequired: boolean;
}

/** Builds the `load-conn` message for one side. */
export function connMessage(spec: ConnSpec): ViciMessageIn {
  const initiator = spec.role === 'initiator';
  const me = initiator ? IKE_ID.ue : IKE_ID.n3iwf;
  const peer = initiator ? IKE_ID.n3iwf : IKE_ID.ue;
  const a = NETNS_ADDR;
  return {
    [spec.name]: {
      version: 2,
      local_addrs: [initiator ? a.ueOuter : a.n3iwfOuter],
      remote_addrs: [initiator ? a.n3iwfOuter : a.ueOuter],
      proposals: [PROPOSALS.ike],
      // make-before-break reauthentication is driven by the PPK agent, not by charon's timers
      rekey_time: 0,
      reauth_time: 0,
      unique: 'never',
      ppk_id: initiator ? spec.ppkId : undefined,
      ppk_required: spec.ppkRequired,
      local: {
        auth: spec.auth,
        id: me,
        certs: spec.auth === 'pubkey' && spec.certPem ? [spec.certPem] : undefined,
      },
      remote: { auth: spec.auth, id: peer },
      children: {
        [CHILD_NAME]: {
          local_ts: [`${initiator ? a.ueInner : a.n3iwfInner}/32`],
          remote_ts: [`${initiator ? a.n3iwfInner : a.ueInner}/32`],
          esp_proposals: [PROPOSALS.esp],
          rekey_time: 0,
          start_action: 'none',
        },
      },
    },
  };
}

/** The `load-shared` message for an IKE PSK shared by the two identities. */
export function pskMessage(id: string, psk: Uint8Array): ViciMessageIn {
  return { id, type: 'IKE', data: psk, owners: [IKE_ID.ue, IKE_ID.n3iwf] };
}

/** The `load-shared` message for a PPK: section id `ppk-<key_ID>` (charon wants the prefix), owner = PPK_ID. */
export function ppkMessage(ppkId: string, key: Uint8Array): ViciMessageIn {
  return { id: ppkSecretId(ppkId), type: 'PPK', data: key, owners: [ppkId] };
}

/** The VICI shared-secret id under which the PPK with `ppkId` is loaded. */
export function ppkSecretId(ppkId: string): string {
  return `ppk-${ppkId}`;
}
