/**
 * The scenario file format (YAML or JSON), declared once as a JSON Schema with TypeBox so the validator,
 * the TypeScript types and the published schema (scenarios/scenario.schema.json) cannot drift apart.
 * Durations are seconds or strings such as `90s`, `15m`, `24h`; rates are bits per second; lengths km.
 * docs/scenarios.md describes every field with an example.
 */
import { Type, type Static } from '@sinclair/typebox';
import { PROVENANCE_ORDER } from '../common/index.ts';

const Id = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$', maxLength: 64 });
const Duration = Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: '^\\s*\\d' })], {
  description: 'seconds, or a string such as 90s, 15m, 24h, 2d',
});
const ProvenanceT = Type.Union(PROVENANCE_ORDER.map((p) => Type.Literal(p)));

/**
 * How a link's pool is filled: `model` — at the key-rate model's (or the measured) rate; `event-level` —
 * by real final key blocks from the link engine (src/qkd) through post-processing (src/postprocess).
 */
const GenerationSource = Type.Union([Type.Literal('model'), Type.Literal('event-level')], {
  description: 'model (key-rate model or measured rate) or event-level (simulated blocks + post-processing)',
});
const RateModelT = Type.Union([Type.Literal('finite'), Type.Literal('asymptotic')], {
  description:
    'finite (default: finite-key rate at blocks of event_pulses, what the pipeline delivers) or asymptotic (infinite-key model)',
});
const DemandT = Type.Union([Type.Literal('poisson'), Type.Literal('constant')], {
  description:
    'poisson (default: keys per request drawn from a Poisson law of mean rate × interval ÷ key size, seeded) or constant (exactly the rate)',
});
const EventPulses = Type.Number({
  minimum: 1,
  maximum: 9007199254740992,
  description: 'pulses per event-level block (default 1e9); one block every pulses / repetition rate seconds',
});

/** A trusted node (site). */
export const NodeSchema = Type.Object(
  {
    id: Id,
    name: Type.Optional(Type.String()),
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    kind: Type.Optional(
      Type.Union([Type.Literal('trusted-node'), Type.Literal('ground-station'), Type.Literal('satellite')]),
    ),
  },
  { additionalProperties: false },
);

/** A satellite pass window: the link exists only during passes. */
export const PassesSchema = Type.Object(
  {
    first: Duration,
    period: Duration,
    duration: Duration,
  },
  { additionalProperties: false },
);

/**
 * Whether the seed varies a link's key supply: fiber drift and compensation outages, satellite pass geometry
 * and cloud cover (docs/network.md, "Variation"). Default true.
 */
const VariationT = Type.Boolean({
  description: 'seeded drift/outages (fiber), pass geometry and cloud cover (satellite); default true',
});

const NumberOrRange = Type.Union([
  Type.Number({ minimum: 0 }),
  Type.Tuple([Type.Number({ minimum: 0 }), Type.Number({ minimum: 0 })]),
]);

/**
 * The published figure a link models, with its source: what `qkdnet validate` checks the link against. A pair
 * [a, b] is a range (a satellite pass: loss a dB at a km rising to b dB at b km).
 */
export const PublishedSchema = Type.Object(
  {
    source: Type.String({ minLength: 10, description: 'paper or report, with the table/figure/page' }),
    key_rate_bps: Type.Optional(Type.Number({ minimum: 0, description: 'published secret key rate' })),
    key_rate_is_minimum: Type.Optional(
      Type.Boolean({ description: 'the source states a floor ("> 20 kbit/s")' }),
    ),
    key_per_pass_bits: Type.Optional(
      Type.Number({ minimum: 0, description: 'final key of one satellite pass' }),
    ),
    loss_db: Type.Optional(NumberOrRange),
    length_km: Type.Optional(NumberOrRange),
    qber: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
    note: Type.Optional(Type.String({ description: 'what the source does not state, and what is assumed' })),
  },
  { additionalProperties: false },
);

/** A QKD link: a measured rate, or a model with a device preset, a length and overrides. */
export const LinkSchema = Type.Object(
  {
    id: Id,
    from: Id,
    to: Id,
    length_km: Type.Optional(Type.Number({ minimum: 0 })),
    rate_bps: Type.Optional(
      Type.Number({ minimum: 0, description: 'measured secret key rate; overrides the model' }),
    ),
    model: Type.Optional(Type.String()),
    preset: Type.Optional(Type.String()),
    params: Type.Optional(Type.Record(Type.String(), Type.Number())),
    qber: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5, description: 'measured QBER' })),
    technology: Type.Optional(Type.String({ description: 'free text, e.g. "COW (idQuantique)"' })),
    passes: Type.Optional(PassesSchema),
    published: Type.Optional(PublishedSchema),
    pool_capacity_bits: Type.Optional(Type.Number({ minimum: 0 })),
    initial_pool_bits: Type.Optional(Type.Number({ minimum: 0 })),
    source: Type.Optional(GenerationSource),
    event_pulses: Type.Optional(EventPulses),
    rate_model: Type.Optional(RateModelT),
    variation: Type.Optional(VariationT),
    clear_sky: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'satellite links: fraction of passes with a clear sky (default 0.63, Xinglong)',
      }),
    ),
  },
  { additionalProperties: false },
);

/** A classical (authenticated) channel between two nodes; QKD links imply one. */
export const ClassicalSchema = Type.Object(
  { from: Id, to: Id, latency_ms: Type.Optional(Type.Number({ minimum: 0 })) },
  { additionalProperties: false },
);

/** An application: a pair of SAEs at two nodes and its key demand and policy. */
export const AppSchema = Type.Object(
  {
    id: Id,
    from: Id,
    to: Id,
    rate_bps: Type.Number({ exclusiveMinimum: 0, description: 'key demand, bits per second' }),
    key_bits: Type.Optional(Type.Integer({ minimum: 8, maximum: 8192, multipleOf: 8 })),
    min_provenance: Type.Optional(ProvenanceT),
    multipath: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 8, description: 'k node-disjoint paths (1 = single path)' }),
    ),
    hybrid: Type.Optional(Type.Boolean({ description: 'combine every QKD key with an ML-KEM-768 secret' })),
    demand: Type.Optional(DemandT),
  },
  { additionalProperties: false },
);

/**
 * A scheduled event: fail or restore a link; compromise a node silently, declare it compromised (an
 * operator's declaration), or restore it.
 */
export const EventSchema = Type.Object(
  {
    at: Duration,
    fail: Type.Optional(Id),
    restore: Type.Optional(Id),
    compromise: Type.Optional(Id),
    declare_compromised: Type.Optional(Id),
    restore_node: Type.Optional(Id),
  },
  { additionalProperties: false },
);

/** Scenario-wide defaults. */
export const DefaultsSchema = Type.Object(
  {
    model: Type.Optional(Type.String()),
    preset: Type.Optional(Type.String()),
    params: Type.Optional(Type.Record(Type.String(), Type.Number())),
    block: Type.Optional(Duration),
    request_interval: Type.Optional(Duration),
    sample_interval: Type.Optional(Duration),
    pool_capacity_bits: Type.Optional(Type.Number({ minimum: 0 })),
    initial_pool_bits: Type.Optional(Type.Number({ minimum: 0 })),
    key_bits: Type.Optional(Type.Integer({ minimum: 8, maximum: 8192, multipleOf: 8 })),
    pqc_rekey: Type.Optional(Duration),
    demand: Type.Optional(DemandT),
    source: Type.Optional(GenerationSource),
    event_pulses: Type.Optional(EventPulses),
    rate_model: Type.Optional(RateModelT),
    variation: Type.Optional(VariationT),
  },
  { additionalProperties: false },
);

/** The whole scenario file. */
export const ScenarioSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    name: Id,
    title: Type.String(),
    description: Type.Optional(Type.String()),
    sources: Type.Array(Type.String(), { minItems: 1, description: 'public sources the numbers come from' }),
    approximate: Type.Optional(Type.String({ description: 'what is approximated and why' })),
    duration: Type.Optional(Duration),
    defaults: Type.Optional(DefaultsSchema),
    nodes: Type.Array(NodeSchema, { minItems: 2 }),
    links: Type.Array(LinkSchema),
    classical: Type.Optional(Type.Array(ClassicalSchema)),
    apps: Type.Array(AppSchema),
    events: Type.Optional(Type.Array(EventSchema)),
  },
  { additionalProperties: false, $id: 'https://qkdnet.dev/scenario.schema.json', title: 'qkdnet scenario' },
);

/** A scenario file as written (before defaults and rates are resolved). */
export type ScenarioFile = Static<typeof ScenarioSchema>;
export type ScenarioNodeFile = Static<typeof NodeSchema>;
export type ScenarioLinkFile = Static<typeof LinkSchema>;
export type ScenarioAppFile = Static<typeof AppSchema>;
export type ScenarioEventFile = Static<typeof EventSchema>;
/** The published figure a scenario link records. */
export type PublishedFigure = Static<typeof PublishedSchema>;
