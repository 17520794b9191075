/**
 * src/network: topology, key pools, trusted-node and multipath relay, key-aware routing, the controller,
 * scenarios and the network simulation (docs/network.md). The dashboard and the CLI use
 * `loadScenario` and `NetworkSimulation`.
 */
export * from './scenario-schema.ts';
export * from './scenario.ts';
export * from './link-rate.ts';
export * from './key-material.ts';
export * from './paths.ts';
export * from './relay.ts';
export * from './router.ts';
export * from './alerts.ts';
export * from './passes.ts';
export * from './types.ts';
export * from './simulation.ts';
export * from './report.ts';
export * from './kme-relay.ts';
export * from './live-relay.ts';
export * from './event-level.ts';
export * from './etsi015-topology.ts';
