/**
 * Loads a scenario (YAML or JSON), validates it against the scenario schema (scenario-schema.ts) and
 * resolves it: durations to seconds, defaults applied, every QKD link given a secret key rate (measured,
 * or from a physics model with a device preset and the link length). Any problem is one
 * `SCENARIO_INVALID` error naming the field, never a half-loaded network.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { parseDurationS, QkdnetError, type Provenance } from '../common/index.ts';
import { ScenarioSchema, type ScenarioFile, type PublishedFigure } from './scenario-schema.ts';
import {
  finiteLinkRateBps,
  hasFiniteForm,
  modelLinkRate,
  resolveLinkParams,
  type RateModel,
  type RateSource,
} from './link-rate.ts';
import { checkFeasible } from './scenario-checks.ts';
import { XINGLONG_CLEAR_NIGHT_FRACTION } from './cloud-cover.ts';
import type { LinkParams } from '../physics/index.ts';

/** How a link's pool is filled (see `ScenarioLink.source`). */
export type GenerationSource = 'model' | 'event-level';

/** Default pulses per event-level block: the smallest that gives finite-key bits on a ~10 km GYS link. */
export const DEFAULT_EVENT_PULSES = 1e9;

/** A node of a resolved scenario. */
export interface ScenarioNode {
  readonly id: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
  readonly kind: 'trusted-node' | 'ground-station' | 'satellite';
}

/** A QKD link of a resolved scenario, with its secret key rate. */
export interface ScenarioLink {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly lengthKm: number | undefined;
  /** Secret key rate while the link is up (and, for satellites, during a pass), bit/s. */
  readonly rateBps: number;
  /** What rateBps is: finite-key (default), asymptotic, measured, or event-level (filled by blocks). */
  readonly rateModel: RateModel;
  /** The model's asymptotic and finite-key rates (undefined for a measured rate / no finite form). */
  readonly asymptoticRateBps: number | undefined;
  readonly finiteRateBps: number | undefined;
  readonly rateSource: RateSource;
  readonly model: string | undefined;
  /** Modelled QBER (null for a measured rate without one). */
  readonly qber: number | null;
  readonly technology: string | undefined;
  /** Satellite passes: the link generates key only inside [first + i·period, … + duration). */
  readonly passes:
    { readonly firstS: number; readonly periodS: number; readonly durationS: number } | undefined;
  readonly capacityBits: number;
  readonly initialBits: number;
  /**
   * `model`: the pool fills at `rateBps`. `event-level`: by final key blocks of `eventPulses` pulses each,
   * simulated by src/qkd and post-processed by src/postprocess (one block per eventPulses / rep. rate).
   */
  readonly source: GenerationSource;
  /** Pulses per event-level block. */
  readonly eventPulses: number;
  /** Resolved device parameters (preset + overrides) of a modelled link; undefined for a measured rate. */
  readonly params: LinkParams | undefined;
  /** Device preset name of a modelled link. */
  readonly preset: string | undefined;
  /** The published figure the link models, with its source (checked by `qkdnet validate`). */
  readonly published: PublishedFigure | undefined;
  /** The seed varies the link's key supply (variation.ts); default true. */
  readonly variation: boolean;
  /** Satellite links: fraction of passes with a clear sky (cloud-cover.ts). */
  readonly clearSky: number;
}

/** An application (SAE pair) with its demand and policy. */
export interface ScenarioApp {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly rateBps: number;
  readonly keyBits: number;
  /** Weakest provenance the application accepts (PROVENANCE_ORDER). */
  readonly minProvenance: Provenance;
  /** Node-disjoint paths a relayed key is split over (1 = single path). */
  readonly multipath: number;
  readonly hybrid: boolean;
  /** How requests vary: `poisson` (seeded, the default) or `constant` (docs/network.md, "Variation"). */
  readonly demand: 'poisson' | 'constant';
}

/**
 * A scheduled event: cut (`fail`) or restore a link; compromise a node silently (`compromise`), an
 * operator's declaration that it is compromised (`declare`), or its restore (`restore-node`).
 */
export interface ScenarioEvent {
  readonly atS: number;
  readonly kind: 'fail' | 'restore' | 'compromise' | 'declare' | 'restore-node';
  readonly target: string;
}

/** A validated, resolved scenario: the input of NetworkSimulation. */
export interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly description: string | undefined;
  readonly sources: readonly string[];
  readonly approximate: string | undefined;
  readonly durationS: number;
  readonly blockS: number;
  readonly requestIntervalS: number;
  readonly sampleIntervalS: number | undefined;
  readonly pqcRekeyS: number;
  readonly nodes: readonly ScenarioNode[];
  readonly links: readonly ScenarioLink[];
  readonly classical: readonly { readonly from: string; readonly to: string; readonly latencyMs: number }[];
  readonly apps: readonly ScenarioApp[];
  readonly events: readonly ScenarioEvent[];
  /** Loadable but worth a look (e.g. demand above what the links can carry); the CLI prints them. */
  readonly warnings: readonly string[];
}

function invalid(origin: string, message: string): QkdnetError {
  return new QkdnetError('SCENARIO_INVALID', `Cannot load scenario ${origin}: ${message}`);
}

function seconds(v: number | string | undefined, fallback: number, origin: string, field: string): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v;
  try {
    return parseDurationS(v);
  } catch {
    throw invalid(origin, `${field}: "${v}" is not a duration (e.g. 90s, 15m, 24h)`);
  }
}

/** Loads a scenario from a file path, or from YAML/JSON text (anything containing a newline). */
export function loadScenario(pathOrText: string): Scenario {
  if (!pathOrText.includes('\n')) {
    if (!existsSync(pathOrText))
      throw new QkdnetError('SCENARIO_INVALID', `Cannot load scenario: no file "${pathOrText}"`);
    return parseScenario(readFileSync(pathOrText, 'utf8'), pathOrText);
  }
  return parseScenario(pathOrText, '(text)');
}

/** Parses and resolves scenario text; `origin` names it in errors. */
export function parseScenario(text: string, origin = '(text)'): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw invalid(origin, `not valid YAML/JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (!Value.Check(ScenarioSchema, raw)) {
    const first = [...Value.Errors(ScenarioSchema, raw)][0];
    const described = first?.schema.description;
    if (first && described && first.message.includes('union'))
      throw invalid(
        origin,
        `${first.path}: ${JSON.stringify(first.value)} is not accepted; expected ${described}`,
      );
    throw invalid(origin, `${first?.path || '/'} ${first?.message ?? 'does not match the schema'}`);
  }
  return resolveScenario(raw, origin);
}

function checkUnique(ids: readonly string[], what: string, origin: string): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw invalid(origin, `duplicate ${what} id "${id}"`);
    seen.add(id);
  }
}

/** Applies defaults and computes link rates of a schema-valid scenario file. */
export function resolveScenario(f: ScenarioFile, origin = '(scenario)'): Scenario {
  const d = f.defaults ?? {};
  checkUnique(
    f.nodes.map((n) => n.id),
    'node',
    origin,
  );
  checkUnique(
    f.links.map((l) => l.id),
    'link',
    origin,
  );
  checkUnique(
    f.apps.map((a) => a.id),
    'app',
    origin,
  );
  const nodeIds = new Set(f.nodes.map((n) => n.id));
  const needNode = (id: string, where: string) => {
    if (!nodeIds.has(id)) throw invalid(origin, `${where} names unknown node "${id}"`);
  };
  const links: ScenarioLink[] = f.links.map((l) => {
    needNode(l.from, `link ${l.id}.from`);
    needNode(l.to, `link ${l.id}.to`);
    if (l.from === l.to) throw invalid(origin, `link ${l.id} joins node "${l.from}" to itself`);
    let rateBps: number;
    let rateModel: RateModel = 'measured';
    let asymptoticRateBps: number | undefined;
    let finiteRateBps: number | undefined;
    let rateSource: RateSource = 'measured';
    let model: string | undefined;
    let qber: number | null = l.qber ?? null;
    let params: LinkParams | undefined;
    let preset: string | undefined;
    if (l.rate_bps !== undefined) rateBps = l.rate_bps;
    else {
      if (l.length_km === undefined) throw invalid(origin, `link ${l.id} needs rate_bps or length_km`);
      preset = l.preset ?? d.preset ?? 'gys';
      params = resolveLinkParams(preset, [d.params ?? {}, l.params ?? {}]);
      const r = modelLinkRate(l.model ?? d.model ?? 'bb84-decoy-infinite', params, l.length_km);
      asymptoticRateBps = r.rateBps;
      rateSource = r.source;
      model = r.model;
      qber = l.qber ?? r.qber ?? null;
      const wanted = l.rate_model ?? d.rate_model ?? 'finite';
      const pulses = Math.round(l.event_pulses ?? d.event_pulses ?? DEFAULT_EVENT_PULSES);
      if (hasFiniteForm(model)) finiteRateBps = finiteLinkRateBps(params, l.length_km, pulses);
      rateModel = wanted === 'finite' && finiteRateBps !== undefined ? 'finite' : 'asymptotic';
      rateBps = rateModel === 'finite' ? finiteRateBps! : asymptoticRateBps;
      if (rateBps <= 0 && asymptoticRateBps > 0)
        throw invalid(
          origin,
          `link ${l.id}: the finite-key rate is 0 at blocks of ${pulses} pulses (${pulses / params.repetitionRateHz} s); set a larger event_pulses or rate_model: asymptotic`,
        );
    }
    if (!(rateBps > 0))
      throw invalid(
        origin,
        `link ${l.id}: rate 0 bit/s${model ? ` (${model} gives no key over ${l.length_km} km with preset ${preset})` : ''}; a link that makes no key cannot carry any`,
      );
    const passes = l.passes
      ? {
          firstS: seconds(l.passes.first, 0, origin, `link ${l.id}.passes.first`),
          periodS: seconds(l.passes.period, 0, origin, `link ${l.id}.passes.period`),
          durationS: seconds(l.passes.duration, 0, origin, `link ${l.id}.passes.duration`),
        }
      : undefined;
    if (passes && (passes.periodS <= 0 || passes.durationS <= 0 || passes.durationS > passes.periodS))
      throw invalid(origin, `link ${l.id}.passes needs 0 < duration ≤ period`);
    const capacityBits = l.pool_capacity_bits ?? d.pool_capacity_bits ?? 1e8;
    if (!(capacityBits > 0))
      throw invalid(origin, `link ${l.id}: pool_capacity_bits is 0; a pool that holds nothing serves no key`);
    const source = l.source ?? d.source ?? 'model';
    const eventPulses = Math.round(l.event_pulses ?? d.event_pulses ?? DEFAULT_EVENT_PULSES);
    if (source === 'event-level') {
      const why = eventLevelObstacle({ rateBps: l.rate_bps, model, passes, preset });
      if (why) throw invalid(origin, `link ${l.id} cannot be source: event-level: ${why}`);
    }
    return {
      id: l.id,
      from: l.from,
      to: l.to,
      lengthKm: l.length_km,
      rateBps,
      rateModel: source === 'event-level' ? 'event-level' : rateModel,
      asymptoticRateBps,
      finiteRateBps,
      rateSource,
      model,
      qber,
      technology: l.technology,
      passes,
      capacityBits,
      initialBits: Math.min(capacityBits, l.initial_pool_bits ?? d.initial_pool_bits ?? 0),
      source,
      eventPulses,
      params,
      preset,
      published: l.published,
      variation: l.variation ?? d.variation ?? true,
      clearSky: l.clear_sky ?? XINGLONG_CLEAR_NIGHT_FRACTION,
    };
  });
  const linkIds = new Set(links.map((l) => l.id));
  const apps: ScenarioApp[] = f.apps.map((a) => {
    needNode(a.from, `app ${a.id}.from`);
    needNode(a.to, `app ${a.id}.to`);
    if (a.from === a.to) throw invalid(origin, `app ${a.id} has both ends at node "${a.from}"`);
    const minP = a.min_provenance ?? 'pqc';
    if (a.hybrid && minP !== 'hybrid' && minP !== 'pqc')
      throw invalid(origin, `app ${a.id} is hybrid but its min_provenance "${minP}" refuses hybrid keys`);
    return {
      id: a.id,
      from: a.from,
      to: a.to,
      rateBps: a.rate_bps,
      keyBits: a.key_bits ?? d.key_bits ?? 256,
      minProvenance: (a.min_provenance ?? 'pqc') as Provenance,
      multipath: a.multipath ?? 1,
      hybrid: a.hybrid ?? false,
      demand: a.demand ?? d.demand ?? 'poisson',
    };
  });
  const events: ScenarioEvent[] = (f.events ?? []).map((e, i) => {
    const keys = ['fail', 'restore', 'compromise', 'declare_compromised', 'restore_node'] as const;
    const kinds = keys.filter((k) => e[k] !== undefined);
    if (kinds.length !== 1) throw invalid(origin, `events[${i}] needs exactly one of ${keys.join(', ')}`);
    const key = kinds[0]!;
    const target = e[key]!;
    if (key === 'fail' || key === 'restore') {
      if (!linkIds.has(target)) throw invalid(origin, `events[${i}].${key} names unknown link "${target}"`);
    } else needNode(target, `events[${i}].${key}`);
    const kind = key === 'declare_compromised' ? 'declare' : key === 'restore_node' ? 'restore-node' : key;
    return { atS: seconds(e.at, 0, origin, `events[${i}].at`), kind, target };
  });
  const classical = (f.classical ?? []).map((c) => {
    needNode(c.from, 'classical.from');
    needNode(c.to, 'classical.to');
    return { from: c.from, to: c.to, latencyMs: c.latency_ms ?? 1 };
  });
  const blockS = seconds(d.block, 10, origin, 'defaults.block');
  const requestIntervalS = seconds(d.request_interval, 10, origin, 'defaults.request_interval');
  if (!(blockS > 0) || !(requestIntervalS > 0))
    throw invalid(origin, 'defaults.block and defaults.request_interval must be positive');
  const durationS = seconds(f.duration, 86400, origin, 'duration');
  const warnings = checkFeasible({ nodes: f.nodes.map((n) => n.id), links, apps, durationS }, (m) =>
    invalid(origin, m),
  );
  return {
    name: f.name,
    title: f.title,
    description: f.description,
    sources: f.sources,
    approximate: f.approximate,
    durationS,
    blockS,
    requestIntervalS,
    sampleIntervalS:
      d.sample_interval === undefined
        ? undefined
        : seconds(d.sample_interval, 60, origin, 'defaults.sample_interval'),
    pqcRekeyS: seconds(d.pqc_rekey, 3600, origin, 'defaults.pqc_rekey'),
    nodes: f.nodes.map((n) => ({
      id: n.id,
      name: n.name ?? n.id,
      lat: n.lat,
      lon: n.lon,
      kind: n.kind ?? 'trusted-node',
    })),
    links,
    classical,
    apps,
    events,
    warnings,
  };
}

/**
 * Why a link cannot be simulated event by event, or undefined if it can: the link engine simulates
 * decoy-state BB84 over fiber, so the link needs a modelled (not measured) rate, a `bb84…` model, no
 * satellite passes and a fiber preset (not the free-space `micius`).
 */
export function eventLevelObstacle(l: {
  readonly rateBps?: number | undefined;
  readonly model: string | undefined;
  readonly passes: unknown;
  readonly preset: string | undefined;
}): string | undefined {
  if (l.rateBps !== undefined || l.model === undefined || l.preset === undefined)
    return 'it has a measured rate_bps (the link engine needs length_km and a device preset)';
  if (!l.model.startsWith('bb84'))
    return `model "${l.model}" is not decoy-state BB84 (the link engine's protocol)`;
  if (l.passes) return 'satellite passes are not simulated event by event';
  if (l.preset === 'micius') return 'the micius preset is free-space (the link engine models fiber)';
  return undefined;
}

/**
 * The scenario with every link that can be simulated event by event (`eventLevelObstacle`) switched to
 * `source: event-level` — what `qkdnet simulate --event-level` runs. Other links keep their source.
 */
export function withEventLevel(s: Scenario): Scenario {
  return {
    ...s,
    links: s.links.map((l) =>
      l.source === 'model' &&
      eventLevelObstacle({ model: l.model, passes: l.passes, preset: l.preset }) === undefined &&
      l.rateSource === 'physics-model'
        ? { ...l, source: 'event-level' as const, rateModel: 'event-level' as const }
        : l,
    ),
  };
}

/**
 * The scenario with every modelled link's rate taken from `model` (`finite` or `asymptotic`; links without a
 * finite-key form stay asymptotic, measured and event-level links keep theirs) — what
 * `qkdnet simulate --rate-model` sets.
 */
export function withRateModel(s: Scenario, model: 'finite' | 'asymptotic'): Scenario {
  return {
    ...s,
    links: s.links.map((l) => {
      if (l.asymptoticRateBps === undefined || l.rateModel === 'event-level') return l;
      if (model === 'finite' && l.finiteRateBps !== undefined && l.finiteRateBps > 0)
        return { ...l, rateModel: 'finite' as const, rateBps: l.finiteRateBps };
      return { ...l, rateModel: 'asymptotic' as const, rateBps: l.asymptoticRateBps };
    }),
  };
}
