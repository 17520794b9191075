/**
 * Test fixture of the event-level tests: two nodes joined by one 10 km fiber link with the GYS preset
 * (Gobby, Yuan & Shields, APL 84, 3762 (2004): 2 MHz), filled by event-level blocks of 1e9 pulses
 * (= 500 s each), and one application drawing 64 bit/s of key.
 */
/** The two-node scenario text (YAML). */
export const TWO_NODES = `
name: event-level-pair
title: two nodes, one event-level link
sources: [GYS preset (Gobby, Yuan & Shields, APL 84, 3762 (2004))]
duration: 1h
defaults: { source: event-level, event_pulses: 1e9, model: bb84-decoy-infinite, preset: gys }
nodes:
  - { id: a, lat: 0, lon: 0 }
  - { id: b, lat: 0, lon: 0.1 }
links:
  - { id: ab, from: a, to: b, length_km: 10 }
apps:
  - { id: app, from: a, to: b, rate_bps: 64 }
`;
