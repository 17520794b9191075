/** src/server: the composition root of `qkdnet up` — the live network behind one interface and its web server. */
export * from './types.ts';
export * from './hub.ts';
export * from './app.ts';
export { sseFrame } from './sse.ts';
export * from './compose.ts';
export {
  startKmeFleet,
  freePorts,
  kmeName,
  saeName,
  ensurePki,
  pinOf,
  type KmeFleet,
  type FleetNode,
} from './kme-fleet.ts';
export { runSite } from './site-process.ts';
export { startSiteFleet, type SiteFleet, type SiteStatus, type SiteKme } from './site-fleet.ts';
export { writeSiteConfig, siteDir, type SitePlan } from './site-config.ts';
export { startKmeSites } from './ipsec-kme-sites.ts';
export { startLiveSites, SITES_MODES, type SitesMode, type LiveSites } from './live-sites.ts';
export { FIBRE_US_PER_KM, cleanStaleSites, type SiteLink } from './site-netns.ts';
export { SiteWatch } from './site-watch.ts';
export { LinkTelemetry, scenarioLinkParams } from './link-telemetry.ts';
export {
  LinkKeySupply,
  BLOCK_AUTH_RESERVATION_BITS,
  type SupplyLink,
  type KeySupplyOptions,
  type SupplyStats,
} from './key-supply.ts';
export { distilRequest, type KeyBlockRequest, type KeyBlockAnswer } from './key-worker.ts';
export { LinkAuthPools } from './auth-pools.ts';
export { startKmeSessions, type KmeSessionApp, type KmeSessionOptions } from './kme-sessions.ts';
export { startStandInFeed, type StandInLink, type StandInOptions } from './standin-feed.ts';
export * from './access.ts';
export * from './audit.ts';
export { hostsFor, isLoopbackHost, parseOrigin, type HostEntry } from './hosts.ts';
export * from './sessions.ts';
export { dashboardCrl, dashboardTls, type DashboardTlsOptions } from './dashboard-tls.ts';
export { sinkFromUrl, feedSiem } from './siem.ts';
