/**
 * Satellite pass geometry: passes differ in their highest elevation, so in length and in loss. For a
 * station and a low orbit, the offset of the station from the satellite's ground track at closest approach
 * is uniform across the visible swath (the orbit's node drifts relative to the station from day to day),
 * i.e. the Earth-central angle ψ_min at closest approach is uniform on [0, ψ_edge], where ψ_edge is the
 * central angle at the lowest elevation that gives key. This is geometry, not a fit: the Earth turns
 * ≈ 24° (≈ 2,500 km at the equator) under a 95-min orbit, so successive passes cross the swath at offsets
 * that are, to first order, evenly spread; an assumption, stated (a real schedule comes from the orbit's
 * two-line elements).
 *
 * A pass's key is taken proportional to ∫ η(t) dt over the pass, η = 10^(−loss/10) from `leoPass` (Micius
 * optics, src/physics leo-pass.ts): decoy-state BB84 far from its cut-off distils key linearly in the
 * channel transmittance (Lo, Ma & Chen, PRL 94, 230504 (2005)). The factor is normalised to mean 1 over the
 * uniform ψ_min, so a scenario's per-pass rate (e.g. Micius's published ≈ 300 kbit per pass) stays the
 * average pass and the geometry adds only the spread: grazing passes give almost nothing, overhead passes
 * more than the average. Key window: above the elevation of the 2017 pass's 1,200 km slant range (19.8° at
 * 500 km; MICIUS_2017_PASS).
 */
import { centralAngleRad, leoPass, lookAngles, MICIUS_2017_PASS } from '../physics/index.ts';
import type { Rng } from '../common/index.ts';

const ALT_KM = MICIUS_2017_PASS.altitudeKm;
const EDGE_DEG = MICIUS_2017_PASS.minElevationDeg;
const PSI_EDGE = centralAngleRad(EDGE_DEG, ALT_KM);

/** ∫ η dt (s) of a pass whose closest approach is at central angle ψ_min. */
export function passTransmittanceS(psiMinRad: number): number {
  const maxElevationDeg = lookAngles(psiMinRad, ALT_KM).elevationDeg;
  if (maxElevationDeg <= EDGE_DEG) return 0;
  const samples = leoPass({
    altitudeKm: ALT_KM,
    maxElevationDeg: Math.min(90, maxElevationDeg),
    minElevationDeg: EDGE_DEG,
    timeStepS: 2,
  });
  let s = 0;
  for (const x of samples) s += 10 ** (-x.lossDb / 10) * 2;
  return s;
}

let meanCache: number | undefined;

/** Mean of `passTransmittanceS` over ψ_min uniform on [0, ψ_edge] (midpoint rule, 64 points). */
export function meanPassTransmittanceS(): number {
  if (meanCache === undefined) {
    const n = 64;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += passTransmittanceS(((i + 0.5) / n) * PSI_EDGE);
    meanCache = sum / n;
  }
  return meanCache;
}

/** The key factor of one pass (mean 1): its ∫η dt over the average pass's. */
export function drawPassFactor(rng: Rng): number {
  return passTransmittanceS(rng.nextFloat() * PSI_EDGE) / meanPassTransmittanceS();
}
