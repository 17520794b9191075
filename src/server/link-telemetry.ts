/**
 * The quantum side of a live network: for every fiber link of the scenario, the link engine (src/qkd
 * `simulateBlock`, decoy-state BB84 with the link's device preset and length) simulates one representative
 * block per sample interval, and the detection engine (src/detect `DetectionEngine`, calibrated from the
 * analytic model of the same link, or from attack-free blocks where afterpulses or dead time make the
 * analytic model too narrow) examines its telemetry. Attacks injected from the
 * dashboard go into the link engine — the detectors have to find them from the counts alone, as in the
 * field; a `quarantine-link` verdict is carried out on the network (the controller reroutes). Blocks are
 * small (`pulsesPerBlock`, default 2·10⁶ ≈ 1 s of a 2 MHz source) so nine links cost ~0.1 s of CPU per
 * sample: the key itself is accounted by the network's rate model, the block only measures the channel.
 */
import { createRng, type Alert, type Rng, type TelemetrySample } from '../common/index.ts';
import type { LinkParams } from '../physics/index.ts';
import { ATTACK_DEFAULTS, simulateBlock, type AttackKind, type AttackSpec } from '../qkd/index.ts';
import {
  createDetectionMetrics,
  DetectionEngine,
  modelFromParams,
  modelFromTelemetry,
  type CalibratedModel,
  type DetectionMetrics,
} from '../detect/index.ts';
import type { Scenario } from '../network/index.ts';

/** Attack-free blocks per link for calibrating detectors on links with afterpulses or dead time. */
const CALIBRATION_BLOCKS = 100;

interface LinkRt {
  readonly id: string;
  readonly params: LinkParams;
  readonly distanceKm: number;
  readonly rng: Rng;
  blockId: number;
  attack: AttackSpec | null;
}

/** Options of the link engines. */
export interface LinkTelemetryOptions {
  readonly seed: number | string;
  readonly pulsesPerBlock?: number;
  /** Carries out a detector's quarantine on the network. */
  readonly quarantine: (linkId: string, alert: Alert) => void;
  /** Receives every detector alert. */
  readonly onAlert: (alert: Alert) => void;
}

/**
 * Device parameters per modelled link id, as the scenario loader resolved them (preset, defaults, link
 * overrides) — the one parse of the scenario; links with a measured rate have none and get no link engine.
 */
export function scenarioLinkParams(scenario: Scenario): Map<string, LinkParams> {
  const out = new Map<string, LinkParams>();
  for (const l of scenario.links) if (l.params) out.set(l.id, l.params);
  return out;
}

/** One link engine per fiber link, one detection engine for all. */
export class LinkTelemetry {
  readonly detection: DetectionEngine;
  readonly metrics: DetectionMetrics;
  readonly #links = new Map<string, LinkRt>();
  readonly #pulses: number;
  readonly #stopMetrics: () => void;

  constructor(scenario: Scenario, params: ReadonlyMap<string, LinkParams>, opts: LinkTelemetryOptions) {
    this.#pulses = opts.pulsesPerBlock ?? 2e6;
    this.detection = new DetectionEngine({
      hooks: { quarantineLink: (id, alert) => opts.quarantine(id, alert) },
    });
    this.detection.subscribe(opts.onAlert);
    this.metrics = createDetectionMetrics();
    this.#stopMetrics = this.metrics.instrument(this.detection);
    const root = createRng(opts.seed);
    for (const l of scenario.links) {
      const p = params.get(l.id);
      if (!p || l.lengthKm === undefined || l.passes) continue; // measured or satellite links: no fiber model
      this.#links.set(l.id, {
        id: l.id,
        params: p,
        distanceKm: l.lengthKm,
        rng: root.stream(`live-link:${l.id}`),
        blockId: 0,
        attack: null,
      });
      this.detection.addLink(l.id, this.#calibrate(l.id, p, l.lengthKm, root.stream(`calibrate:${l.id}`)));
    }
  }

  /**
   * The detectors' model of a link. Without afterpulses and dead time the analytic decoy model is the
   * engine's own law (Ma et al. 2005), so it is used directly. With them, counts spread more than binomially
   * and the analytic model would raise false alarms; the link is then calibrated from attack-free blocks, as
   * an operator does at commissioning (`modelFromTelemetry` measures the extra dispersion).
   */
  #calibrate(linkId: string, p: LinkParams, distanceKm: number, rng: Rng): CalibratedModel {
    if (p.afterpulseProbability === 0 && p.deadTimeNs === 0) return modelFromParams(p, distanceKm);
    const samples: TelemetrySample[] = [];
    for (let i = 0; i < CALIBRATION_BLOCKS; i++) {
      const cfg = { linkId, blockId: -1 - i, pulses: this.#pulses, params: p, distanceKm };
      samples.push(simulateBlock(cfg, rng).telemetry);
    }
    return modelFromTelemetry(samples);
  }

  /** True if the link has a link engine (fiber link with a length). */
  has(linkId: string): boolean {
    return this.#links.has(linkId);
  }

  /** The attack running on a link, or null. */
  attackOf(linkId: string): AttackSpec | null {
    return this.#links.get(linkId)?.attack ?? null;
  }

  /** Starts (or with null, stops) an attack on a link's quantum channel, at the kind's default strength. */
  setAttack(linkId: string, kind: AttackKind | null): void {
    const l = this.#links.get(linkId);
    if (!l) throw new RangeError(`Link ${linkId} has no link engine`);
    l.attack = kind === null ? null : { kind, param: ATTACK_DEFAULTS[kind].param };
  }

  /** Lifts the detectors' quarantine of a link (operator restore). */
  restore(linkId: string, timeNs: number): Alert | undefined {
    return this.#links.has(linkId) ? this.detection.restoreLink(linkId, timeNs) : undefined;
  }

  /** Simulates one block on a link and lets the detectors examine it; returns its telemetry. */
  step(linkId: string, timeNs: number): TelemetrySample {
    const l = this.#links.get(linkId);
    if (!l) throw new RangeError(`Link ${linkId} has no link engine`);
    l.blockId++;
    const block = simulateBlock(
      {
        linkId,
        blockId: l.blockId,
        pulses: this.#pulses,
        params: l.params,
        distanceKm: l.distanceKm,
        startNs: Math.round(timeNs),
        ...(l.attack ? { attack: l.attack } : {}),
      },
      l.rng,
    );
    this.detection.observe(block.telemetry);
    return block.telemetry;
  }

  /** Detaches the metrics. */
  close(): void {
    this.#stopMetrics();
  }
}
