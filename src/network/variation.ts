/**
 * What the seed varies on a link (docs/network.md, "Variation"): a fiber link's polarisation drift and
 * compensation outages (fiber-drift.ts), a satellite link's pass geometry (pass-geometry.ts) and cloud cover
 * (cloud-cover.ts). Each link draws from its own streams (`drift:<id>`, `pass:<id>`, `cloud:<id>`), so one
 * link's draws never shift another's. Application demand varies too (Poisson, sim-serve.ts). Event-level
 * links carry their own randomness (sampled detections) and take no variation model here.
 */
import type { Rng } from '../common/index.ts';
import { FiberDrift, driftClassOf } from './fiber-drift.ts';
import { clearPass } from './cloud-cover.ts';
import { drawPassFactor } from './pass-geometry.ts';
import { CASCADE_F } from './link-rate.ts';
import type { ScenarioLink } from './scenario.ts';
import { BASELINE_QBER } from './runtime.ts';

/** The seeded variation of one link. */
export class LinkVariation {
  readonly drift: FiberDrift | undefined;
  readonly #passRng: Rng | undefined;
  readonly #cloudRng: Rng | undefined;
  readonly #clearSky: number;
  /** Factor of pass k (geometry × clear sky), drawn in order of k. */
  readonly #passes: number[] = [];
  readonly #cloudy: boolean[] = [];

  constructor(link: ScenarioLink, rng: (name: string) => Rng) {
    this.#clearSky = link.clearSky;
    if (link.passes) {
      this.#passRng = rng(`pass:${link.id}`);
      this.#cloudRng = rng(`cloud:${link.id}`);
      this.drift = undefined;
    } else {
      this.drift = new FiberDrift(
        rng(`drift:${link.id}`),
        driftClassOf(link.lengthKm),
        link.qber ?? BASELINE_QBER,
        CASCADE_F,
      );
    }
  }

  /** Key factor of satellite pass `k` (0 when cloudy; geometry factor of mean 1 otherwise). */
  passFactor(k: number): number {
    while (this.#passes.length <= k) {
      const geometry = drawPassFactor(this.#passRng!);
      const clear = clearPass(this.#cloudRng!, this.#clearSky);
      this.#passes.push(clear ? geometry : 0);
      this.#cloudy.push(!clear);
    }
    return this.#passes[k]!;
  }

  /** True if pass `k` was lost to cloud. */
  cloudy(k: number): boolean {
    this.passFactor(k);
    return this.#cloudy[k]!;
  }
}

/** One LinkVariation per link of the scenario that takes one (undefined: none). */
export function linkVariation(link: ScenarioLink, rng: (name: string) => Rng): LinkVariation | undefined {
  if (!link.variation || link.source === 'event-level') return undefined;
  return new LinkVariation(link, rng);
}
