/**
 * src/kms — the key manager: ETSI GS QKD 014 KMEs over mutual TLS with a durable SQLite store, KME-to-KME
 * reservations, southbound key supply, the SAE client and a small PKI. Integrators use:
 * `startKme(config)` → KmeHandle (`url`, `supply()`, `store`, `close()`), `Etsi014Client`, `createPki` /
 * `issueCertificate`, `supplyBoth` (a link feeding the KMEs at its two ends) and `runKmeDemo`. See docs/kme.md.
 */
export { startKme, LOG_REDACT, type KmeHandle, type StartKmeOptions } from './server.ts';
export {
  KmeCore,
  SUPPORTED_EXTENSIONS,
  type KeyRequest,
  type KmeStatus,
  type CoreLog,
  PEER_RETRY_MS,
} from './core.ts';
export {
  KeyStore,
  type KeyMeta,
  type ChunkInput,
  type FormedKey,
  type PoolLevel,
  type Delivery,
  type KeyStoreOptions,
  type ReservationRecord,
} from './store.ts';
export {
  validateKmeConfig,
  loadKmeConfig,
  keyLimits,
  readPem,
  type KmeConfig,
  type KeyLimits,
} from './config.ts';
export {
  chunksFor,
  eraseChunkCopies,
  uuidV5,
  ownsChunk,
  CHUNK_BYTES,
  QKDNET_UUID_NAMESPACE,
  type KeySupply,
  type SupplyItem,
} from './supply.ts';
export { parseSupplyLine, supplyFromFile, type SupplySink, type SupplyFileOptions } from './supply-stream.ts';
export {
  Etsi014Client,
  type DeliveredKey,
  type Etsi014Status,
  type GetKeysOptions,
  type Etsi014ClientOptions,
  type KmePinning,
} from './client.ts';
export {
  createPki,
  issueCertificate,
  pkiAt,
  revokeCertificate,
  writeCrl,
  crlPath,
  type Pki,
  type IssuedCertificate,
} from './pki.ts';
export {
  IdentityBook,
  spkiSha256,
  serverCheck,
  type CertPin,
  type Caller,
  type KmeExpectation,
  type Principal,
} from './identity.ts';
export {
  certificatesOf,
  crlExpired,
  loadCrl,
  normSerial,
  parseCrl,
  revocationCheck,
  watchCrl,
  type CrlExpiryPolicy,
  type CrlWatch,
  type RevocationList,
} from './crl.ts';
export {
  ROLES,
  ROLE_OID,
  ROLE_ARC,
  roleOfCertificate,
  isCertificateRole,
  type CertificateRole,
} from './roles.ts';
export { etsi014Plugin, type Etsi014PluginOptions, type CallerIdentity } from './plugin.ts';
export { createKmeMetrics, type KmeMetrics } from './metrics.ts';
export { createMtlsAgent, requestJson, KME_TLS, type MtlsIdentity, type JsonAnswer } from './https-json.ts';
export * from './pqc.ts';
export { runKmeDemo, supplyBoth, csprngBlockSource, type KmeDemo, type KmeDemoOptions } from './demo.ts';
export { createPeerLink, type PeerLink } from './peer.ts';
export {
  Etsi020Book,
  Etsi020Problem,
  ackContainers,
  decodeValue,
  extensionName,
  extensionPen,
  API_VERSIONS,
  CAPABILITIES,
  ETSI_PEN,
  PROBLEM_BASE,
  type ExtKey,
  type ExtKeyBatch,
  type KeyOutcome,
  type Problem,
} from './etsi-gs-qkd-020.ts';
export { Etsi020Endpoint, type Etsi020Route, type SendKeysRequest } from './etsi-gs-qkd-020-endpoint.ts';
export { Etsi020Client, type Etsi020Peer } from './etsi-gs-qkd-020-client.ts';
export {
  checkDataDir,
  makePrivateDir,
  makePrivateFile,
  privatizeFiles,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  type DataDirCheck,
} from './private-fs.ts';
export { ProcessLock, type LockHolder } from './store-lock.ts';
export { lockDataDir, withDataDirLock, DATA_DIR_LOCK } from './data-dir.ts';
export { Keyring, SEAL_OVERHEAD, STORE_KEY_BYTES, SealError, sealedVersion, rowAd } from './store-crypto.ts';
export {
  storeKeySource,
  loadKeyring,
  writeKeyringFile,
  describeSource,
  STORE_KEY_ENV,
  STORE_KEY_CREDENTIAL,
  type StoreKeyConfig,
  type StoreKeySource,
} from './store-key.ts';
export { SEALED_COLUMNS, registerSealedColumn, StoreSealing, type SealedColumn } from './store-seal.ts';
export { startStoreKeyRotation, REKEY_BATCH } from './store-rotation.ts';
export { rekeyStores, type RekeyOptions, type RekeyResult } from './store-rekey.ts';
export { relaySaeId, RELAY_SAE_PREFIX, applyRelayReservations, type RelayHandler } from './relay-route.ts';
export { isPostgresUrl } from './config.ts';
export { PgKeyStore, HEARTBEAT_MS, REPLICA_TTL_MS, type PgStoreOptions } from './store-pg.ts';
export { PgCluster, findPgBin, freePort } from './pg-cluster.ts';
export { FailoverGroup, FAILOVER_BASE_MS, FAILOVER_MAX_MS, type Idempotency } from './failover.ts';
export { SqliteBackend, type KeyBackend } from './store-backend.ts';
export { ensureDatabases, admitPostgres } from './pg-cluster.ts';
export {
  decimal64,
  linkNotifications,
  qkdNodeJson,
  sdnUuid,
  SDN_NODE_MODULE,
  type SdnApp,
  type SdnInterface,
  type SdnLink,
  type SdnNodeState,
  type LinkStatus,
} from './etsi-gs-qkd-015.ts';
export { configSdnState, saeUri, QKDNET_VERSION } from './etsi-gs-qkd-015-node.ts';
export { createRestconfNode, restconfFrameworkError, type RestconfNode } from './etsi-gs-qkd-015-server.ts';
export { fetchQkdNode } from './etsi-gs-qkd-015-client.ts';
export {
  Etsi004Machine,
  STATUS,
  DEFAULT_CAPABILITIES,
  negotiateQos,
  type Qos,
  type QosRequest,
  type KmCapabilities,
  type Etsi004Status,
} from './etsi-gs-qkd-004.ts';
export { Etsi004Service } from './etsi-gs-qkd-004-service.ts';
export {
  Etsi004Client,
  type Etsi004ClientOptions,
  type GetKeyResult,
  type OpenConnectResult,
} from './etsi-gs-qkd-004-client.ts';
export { DevicePush, type PushCounts } from './etsi-gs-qkd-004-push.ts';
