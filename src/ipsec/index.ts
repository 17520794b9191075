/**
 * src/ipsec — QKD keys into stock strongSwan IKEv2 as RFC 8784 PPKs (docs/ipsec.md): a VICI
 * client (codec + socket client), the PPK agents of the UE (ETSI 014 master) and the N3IWF (slave) with
 * their HMAC-authenticated channel, the two-namespace testbed with a charon each, the `qkdnet ipsec up`
 * harness and the SA set-up benchmark.
 */
export * from './vici-codec.ts';
export { ViciClient, type ViciEventListener } from './vici-client.ts';
export * from './connections.ts';
export * from './key-source.ts';
export * from './peer-channel.ts';
export * from './alerts.ts';
export {
  startResponderAgent,
  qkdPskMessage,
  type PqcKem,
  type ResponderAgent,
  type ResponderAgentOptions,
} from './ppk-responder.ts';
export {
  startAgentService,
  readChannelKey,
  readConnTemplate,
  type AgentService,
  type AgentServiceOptions,
} from './agent-service.ts';
export {
  InitiatorAgent,
  withPpk,
  type InitiatorAgentOptions,
  type ActiveSa,
  type EstablishFailure,
  type EstablishResult,
} from './ppk-initiator.ts';
export {
  charonConfig,
  charonInstalled,
  startCharon,
  CHARON_PATH,
  CHARON_PLUGINS,
  type Charon,
} from './charon.ts';
export { createNetnsPair, requireRoot, NETNS_ADDR, type NetnsPair } from './netns.ts';
export {
  startTestbed,
  initiate,
  listSas,
  terminateIke,
  echoThroughTunnel,
  espPackets,
  type Testbed,
  type Endpoint,
  type SaInfo,
  type Initiated,
  type InitiateFailure,
} from './testbed.ts';
export { ensureCerts, loadCerts, type CertAlgorithm, type CertSet } from './creds.ts';
export { startKmePair, ML_KEM_768_PQC, SAE, KME, type KmePair } from './kme-pair.ts';
export {
  startHarness,
  harnessDown,
  type Harness,
  type HarnessOptions,
  type HarnessStatus,
} from './harness.ts';
export {
  runIpsecBench,
  benchRows,
  benchIntervals,
  rowLabel,
  type RowInterval,
  type RatioInterval,
  BENCH_MODES,
  type BenchMode,
  type BenchReport,
  type BenchOptions,
  type BenchKmes,
} from './bench.ts';
export { summarize, medianRatio, PUBLISHED, type ModeStats } from './bench-stats.ts';
export * from './bootstrap.ts';
export * from './exhaustion-policy.ts';
export { hybridPpk } from './hybrid-ppk.ts';
export * from './scale.ts';
export * from './scale-bench.ts';
export * from './sa-ledger.ts';
export * from './sa-metrics.ts';
export * from './status.ts';
